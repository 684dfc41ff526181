"""The Tokens pane: the sentence with positions; the query word and the words the step uses stand out."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui_attention.i18n import _
from tui_attention.tui.layout import token_line
from .render import RichLines, plain
from .one_frame import OneFrame


class TokensPane(OneFrame, Static):
    DEFAULT_CSS = """
    TokensPane { height: auto; border: round $primary; border-title-color: $text; padding: 0 1;
                 text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def show(self, tokens: tuple[str, ...], query: int | None, used: frozenset[int], width: int) -> None:
        """One line: the words around the query word that fit `width` cells."""
        if self.unchanged(tokens, query, used, width):
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        shown = token_line(tokens, query or 0, width)
        if shown.start > 0:
            text.append("… ")
        for i in shown:
            piece = f"{i + 1} {tokens[i]}"
            if i == query:
                text.append(f"[{piece}]", style="bold reverse")
            elif i in used:
                text.append(f"<{piece}>", style="bold underline")
            else:
                text.append(f" {piece} ", style="dim")
            if i + 1 < shown.stop:
                text.append("  ")
        if shown.stop < len(tokens):
            text.append("…")
        self.border_title = plain(_("Tokens") if len(shown) == len(tokens)
                                  else _("Tokens: {count} words").format(count=len(tokens)))
        self.border_subtitle = plain(_("[query]  <used>") if query is not None else "")
        self.update(RichLines(text))
