"""The command palette, dismissed once: clicks that arrive together close it once.

Textual's palette closes on a click outside its box by dismissing itself, and `Screen.dismiss`
pops whatever screen is on top. Two clicks read at once (a double click over a slow link, or
one read of a served tutor's input) both reach the palette before it is gone: the first
closes it, the second popped the tutor's own screen, and a served tutor ended with
ScreenStackError.
"""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.events import Click


class PaletteOnce(CommandPalette):
    """A CommandPalette that acts on a click, or is dismissed, only while it is the screen shown."""

    def _on_click(self, event: Click) -> None:  # type: ignore[override]
        if self.is_current:
            super()._on_click(event)

    def dismiss(self, result=None) -> AwaitComplete:
        if not self.is_current:
            return AwaitComplete(_nothing())  # dismissed already: nothing beneath it is popped
        return super().dismiss(result)


async def _nothing() -> None:
    return None
