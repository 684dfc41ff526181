"""The command palette, closed once (clicks that arrive together close it once), and by ctrl+g.

Textual's palette closes on a click outside its box (`_on_click`, which also tells the app it
closed) by dismissing itself; a second click read at once reaches it after it is gone
(`dismissed_once`).
"""

from __future__ import annotations

from textual.binding import Binding
from textual.command import CommandInput, CommandList, CommandPalette
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

    def _action_command_list(self, action: str) -> None:
        """CommandPalette's, but a page key on a list not drawn yet does nothing. Textual 8.2.8's
        OptionList pages from the lines it drew, and a palette in a terminal 4 rows high has drawn
        none: pageup raised KeyError and ended the tutor (key-fuzz audit; plain Textual too)."""
        if action in ("page_up", "page_down"):
            lists = self.query(CommandList)
            if lists and (lists.first().highlighted or 0) not in lists.first()._index_to_line:
                return
        super()._action_command_list(action)
