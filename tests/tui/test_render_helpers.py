"""The panes' small builders agree with what Rich itself does."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Span, Text

from rich.cells import cell_len

from tui_attention.tui.widgets.render import fits, wrapped_height

CONSOLE = Console(width=120)
PIECES = st.sampled_from(["q₁·k₂", "=", "+0.1234", "-12.5000", " ", "  ", "\n", "\t", "exp(s₁ⱼ - max)",
                          "inteligencia", "漢字", "x" * 30, "α₁ⱼ", "(lines 1-3 of 4)", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join), st.integers(1, 130))
def test_wrapped_height_counts_the_lines_rich_wraps_to(text, width):
    assert wrapped_height(text, width, CONSOLE) == len(Text(text).wrap(CONSOLE, width))


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES | st.sampled_from(["\u0301", "\x1b", "🙂", "ｗｉｄｅ"]), max_size=40).map("".join),
       st.integers(0, 130))
def test_fits_is_cell_len_within(text, cells):
    assert fits(text, cells) == (cell_len(text) <= cells)


def test_fits_by_hand():
    assert fits("漢字", 4) and not fits("漢字", 3)  # two wide characters: 4 cells, not 2
    assert fits("abc", 3) and not fits("abcd", 3)


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
    assert_draws_like_a_group(texts, width)


@pytest.mark.parametrize("text, width", [
    ("漢字漢字", 5), ("漢字漢字", 8), ("漢字漢字", 7), ("abcde", 5), ("abcde", 4), ("abc \nde", 4),
    ("abc  ", 4), ("q₁·k₂ = +0.1234", 15), ("q₁·k₂ = +0.1234", 14), ("a\n\nb\n", 1)])
def test_rich_lines_split_only_what_fits(text, width):
    """Lines that fit are only split, not broken (RichLines' short cut): at the width, one cell
    under it, wide characters whose characters fit but whose cells do not, trailing spaces."""
    for style in ("", "bold"):
        assert_draws_like_a_group([Text(text, style=style)], width)
        assert_draws_like_a_group([Text(text, style=style, no_wrap=True, overflow="ellipsis")], width)


def assert_draws_like_a_group(texts, width) -> None:
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


def text_table_by_text_pieces(columns, rows, show_header=True) -> Text:
    """`text_table` as it was built before, one Text per cell joined with Rich's own Text.append
    and stylize: the reference the string-and-span build must equal, span for span."""
    from rich.cells import cell_len

    from tui_attention.tui.widgets.render import fit_cells

    def width_of(cell):
        return cell.cell_len if isinstance(cell, Text) else cell_len(cell)

    widths = []
    for c, col in enumerate(columns):
        w = max([col.min_width, cell_len(col.header) if show_header else 0, *(width_of(r[0][c]) for r in rows)])
        widths.append(min(w, col.max_width) if col.max_width is not None else w)

    def line(cells, style, header):
        out = Text(no_wrap=True, overflow="crop", style=style, end="")
        for c, (cell, col, w) in enumerate(zip(cells, columns, widths)):
            piece = cell.copy() if isinstance(cell, Text) else Text(cell)
            if piece.cell_len > w:
                piece = Text(fit_cells(piece.plain, w), style=piece.style)
            pad = " " * (w - piece.cell_len)
            if col.justify == "right":
                piece = Text(pad) + piece
            else:
                piece.append(pad)
            if c + 1 < len(columns):
                piece.append(" ")
            if not header and col.style:
                piece.stylize(col.style)
            out.append_text(piece)
        return out

    lines = [line([Text(col.header) for col in columns], "bold", True)] if show_header else []
    lines += [line(cells, style or "", False) for cells, style in rows]
    return Text("\n", no_wrap=True, overflow="crop").join(lines)


CELL_TEXT = st.sampled_from(["", "1", "12", "-0.1234", "+12.5000", "inteligencia artificial", "漢字", "w\x07x", "?", "·"])
CELL_STYLE = st.sampled_from(["", "bold", "dim", "italic red"])


@st.composite
def table_cells(draw):
    text = draw(CELL_TEXT)
    if not draw(st.booleans()):
        return text
    cell = Text(text, style=draw(CELL_STYLE))
    if text and draw(st.booleans()):
        a = draw(st.integers(0, len(text) - 1))
        cell.stylize(draw(CELL_STYLE.filter(bool)), a, draw(st.integers(a + 1, len(text))))
    if draw(st.booleans()):  # spans as given, even past the end of the text, or on no text
        a = draw(st.integers(0, 6))
        cell.spans.append(Span(a, draw(st.integers(a, 9)), draw(CELL_STYLE.filter(bool))))
    return cell


@settings(max_examples=300, deadline=None)  # 1000 took 17 s of a suite near its 10 minutes
@given(st.data())
def test_text_table_builds_what_text_pieces_build(data):
    """The same text, spans in the same order, line style and settings as the Text-per-cell
    build: right and left columns, column styles, cut cells, cells with their own style and
    spans, wide characters and a control code."""
    from tui_attention.tui.widgets.render import Column, text_table

    ncols = data.draw(st.integers(1, 5))
    columns = [Column(data.draw(CELL_TEXT.filter(lambda t: "\x07" not in t)), data.draw(st.sampled_from(["left", "right"])),
                      data.draw(CELL_STYLE), data.draw(st.integers(0, 8)), data.draw(st.none() | st.integers(0, 12)))
               for _ in range(ncols)]
    rows = [([data.draw(table_cells()) for _ in range(ncols)], data.draw(st.sampled_from(["", "bold", None])))
            for _ in range(data.draw(st.integers(0, 4)))]
    show_header = data.draw(st.booleans())
    got = text_table(columns, rows, show_header=show_header)
    want = text_table_by_text_pieces(columns, rows, show_header=show_header)
    assert got.plain == want.plain
    assert got.spans == want.spans
    assert (got.style, got.no_wrap, got.overflow, got.end) == (want.style, want.no_wrap, want.overflow, want.end)
