"""The Tokens pane: the sentence with positions; the query word and the words the step uses stand out."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui_attention.i18n import _, ngettext
from tui_attention.steps.step import rows_around


class TokensPane(Static):
    DEFAULT_CSS = """
    TokensPane { height: auto; border: round $primary; border-title-color: $text; padding: 0 1; }
    """

    def show(self, tokens: tuple[str, ...], query: int | None, used: frozenset[int], max_shown: int = 40) -> None:
        text = Text(no_wrap=False, overflow="fold")
        shown = rows_around(len(tokens), query or 0, max_shown // 2)
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
            text.append("  ")
        if shown.stop < len(tokens):
            # Only a sentence longer than the window (max_shown) gets here, so never one token.
            text.append(ngettext("… ({count} token)", "… ({count} tokens)", len(tokens)).format(count=len(tokens)))
        self.border_title = _("Tokens")
        # "\\[" keeps Textual's markup from reading [query] as a tag.
        self.border_subtitle = _("\\[query]  <used>") if query is not None else ""
        self.update(text)
