"""The command palette, closed once (clicks that arrive together close it once), and by ctrl+g.

Textual's palette closes on a click outside its box (`_on_click`, which also tells the app it
closed) by dismissing itself; a second click read at once reaches it after it is gone
(`dismissed_once`).
"""

from __future__ import annotations

from textual.binding import Binding
from textual.command import CommandInput, CommandPalette
from textual.events import Click

from .dismissed_once import DismissedOnce


class PaletteOnce(DismissedOnce, CommandPalette):
    """A CommandPalette that acts on a click, or is dismissed, only while it is the screen shown.
    It closes with ctrl+g as every dialog does: over a slow link escape arrives late."""

    BINDINGS = [Binding("ctrl+g", "escape", "Exit the command palette", show=False)]

    def on_mount(self) -> None:
        # A steady cursor, as in the tutor's prompts: the palette's blinking one sent about 1 KB a
        # second to the terminal while it waited.
        self.query_one(CommandInput).cursor_blink = False

    def _on_click(self, event: Click) -> None:  # type: ignore[override]
        if self.is_current:
            super()._on_click(event)
