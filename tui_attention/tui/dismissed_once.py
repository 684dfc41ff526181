"""Screens dismissed once: a second dismissal, of a screen no longer shown, pops nothing.

`Screen.dismiss` pops whatever screen is on top. Keys reach the screen shown when they are
handled, but mouse events are queued to the screen they were read for: two clicks read at once
(a double click, or one read of a served tutor's input over a slow link) both reach a modal
before it is gone. The first closes it; the second popped the tutor's own screen, and the
tutor ended with ScreenStackError (the command palette's background, a lesson in the list).
"""

from __future__ import annotations

from textual.await_complete import AwaitComplete


class DismissedOnce:
    """Mixin for a Screen: `dismiss` acts only while the screen is the one shown."""

    def dismiss(self, result=None) -> AwaitComplete:
        if not self.is_current:  # type: ignore[attr-defined]
            return AwaitComplete(_nothing())  # dismissed already: nothing beneath it is popped
        return super().dismiss(result)  # type: ignore[misc]


async def _nothing() -> None:
    return None
