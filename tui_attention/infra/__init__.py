"""Small infrastructure shared by the layers above the core: atomic files and the user's folders.

Standard library and platformdirs only; nothing here knows about attention.
"""
