"""The panes' small builders agree with what Rich itself does."""

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from tui_attention.tui.widgets.render import wrapped_height

CONSOLE = Console(width=120)
PIECES = st.sampled_from(["q₁·k₂", "=", "+0.1234", "-12.5000", " ", "  ", "\n", "\t", "exp(s₁ⱼ - max)",
                          "inteligencia", "漢字", "x" * 30, "α₁ⱼ", "(lines 1-3 of 4)", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join), st.integers(1, 130))
def test_wrapped_height_counts_the_lines_rich_wraps_to(text, width):
    assert wrapped_height(text, width, CONSOLE) == len(Text(text).wrap(CONSOLE, width))


def test_wrapped_height_by_hand():
    assert wrapped_height("aaa bbb", 3, CONSOLE) == 2
    assert wrapped_height("aaa\nbbb ccc", 20, CONSOLE) == 2
    assert wrapped_height("x" * 25, 10, CONSOLE) == 3  # a word longer than the width is folded
