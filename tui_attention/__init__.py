"""tui-attention: a terminal tutor that steps through every number of self-attention."""

__version__ = "0.1.0"
