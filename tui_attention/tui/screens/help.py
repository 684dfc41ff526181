"""The help screen: every key, generated from the app's bindings, plus help.md."""

from __future__ import annotations

from importlib import resources
from typing import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from tui_attention.i18n import _
from tui_attention.tui.bindings import LEARN_KEYS, Key, every_key
from tui_attention.tui.dismissed_once import DismissedOnce
from tui_attention.tui.widgets.render import plain


def key_table(keys: Iterable[Key], app) -> Table:
    """keys | action | id, one row per binding of the table (`app`: the AttentionApp, for the keys in force)."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column(_("keys"), no_wrap=True, style="bold")
    table.add_column(_("action"))
    table.add_column("id", style="dim", no_wrap=True)
    for key in keys:
        table.add_row(app.keys_shown(key), key.description, key.id)
    return table


class HelpScreen(DismissedOnce, ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $accent;
        background: $surface; padding: 0 1; }
    HelpScreen Markdown { margin: 0; padding: 0; }
    """
    BINDINGS = [
        Binding("escape,question_mark,q,ctrl+g", "close", _("Close help"), id="help.close"),
        Binding("down,j", "scroll(1)", _("Scroll down"), show=False, id="help.down"),
        Binding("up,k", "scroll(-1)", _("Scroll up"), show=False, id="help.up"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = plain(_("Help: every key (escape, ?, q or ctrl+g closes)"))
            yield Static(key_table(every_key(), self.app), id="help-keys")
            # The learn view (T) is a screen of its own: its keys are not the tutor's, so listed apart.
            yield Static(Text(_("In the learn view (T):"), style="bold"), id="help-learn-title")
            yield Static(key_table(LEARN_KEYS, self.app), id="help-learn-keys")
            text = (resources.files("tui_attention.tui") / "help.md").read_text(encoding="utf-8")
            yield Markdown(text, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, lines: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=lines, animate=False)
