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


# Drawn as a widget draws it: the app's console, its base style (the theme's colours).
APP = None


def drawn_by_rich(renderable, width: int, style) -> list[list]:
    from textual.visual import RichVisual
    from textual.widgets import Static

    return seen(RichVisual(Static(), renderable).render_strips(width, None, style, None))


def seen(strips) -> list[list]:
    """What each strip draws: its runs of one style (Rich splits a run where a tab was expanded,
    and ends some lines with an empty segment)."""
    from rich.segment import Segment

    return [list(Segment.simplify(segment for segment in strip if segment.text)) for strip in strips]


STYLES = st.sampled_from(["", "bold", "dim", "dim italic", "bold reverse", "bold underline", "reverse"])


@st.composite
def rich_texts(draw):
    """A Text as the panes build them: a style of its own or none, pieces appended with styles
    (spans), wrapped or not, cropped or cut with an ellipsis, justified, its own tab size."""
    text = Text(style=draw(STYLES), no_wrap=draw(st.sampled_from([None, True])),
                overflow=draw(st.sampled_from([None, "crop", "ellipsis", "fold"])),
                justify=draw(st.sampled_from([None, "left", "right", "center", "full"])),
                tab_size=draw(st.sampled_from([None, 4, 0])))
    for piece, style in draw(st.lists(st.tuples(st.lists(PIECES, max_size=8).map("".join), STYLES), max_size=6)):
        text.append(piece, style=style)
    return text


@settings(max_examples=300, deadline=None)
@given(st.lists(rich_texts(), min_size=1, max_size=3), st.integers(1, 130))
def test_rich_lines_draw_what_a_rich_group_of_their_texts_draws(texts, width):
    """Strip for strip, run for run, style for style: RichLines draws the Group of its Texts as
    a widget draws it (on the widget's base style), at any width (words longer than the width
    folded, tabs, wide characters, blank lines, trailing spaces, no_wrap and its ellipsis, a
    Text's own style under its spans); its height is the Group's lines."""
    from rich.console import Group
    from textual._context import active_app
    from textual.app import App
    from textual.style import Style

    from tui_attention.tui.widgets.render import RichLines

    global APP
    if APP is None:
        APP = App()
    token = active_app.set(APP)
    try:
        # A widget's base style: its colours (a null one draws an empty Group as no line at all).
        for base in (Style.parse("#e0e0e0 on #121212"), Style.parse("bold #000000 on #ffffff")):
            visual = RichLines(*texts)
            want = drawn_by_rich(Group(*texts), width, base)
            assert seen(visual.render_strips(width, None, base, None)) == want
            assert visual.get_height(None, width) == len(want)
    finally:
        active_app.reset(token)


def test_rich_lines_refuse_a_text_that_runs_on_into_the_next():
    """In a Group a Text with end="" continues on the next one's first line; RichLines draws a
    Text's lines on their own, so it refuses one rather than draw it differently."""
    import pytest

    from tui_attention.tui.widgets.render import RichLines

    with pytest.raises(ValueError):
        RichLines(Text("abc", end=""), Text("def"))
