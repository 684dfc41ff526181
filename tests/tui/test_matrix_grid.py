"""Pilot tests for MatrixGrid (tui_attention.tui.widgets.matrix_grid)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from textual import on
from textual.app import App, ComposeResult

from tui_attention.steps.notation import fmt
from tui_attention.tui.widgets.matrix_grid import MatrixGrid

WORDS = ["the", "cat", "sat", "on", "mat"]


class GridApp(App[None]):
    """Mounts the given grids (id -> kwargs for MatrixGrid) and records their messages."""

    def __init__(self, *grids: MatrixGrid, theme: str = "textual-dark") -> None:
        super().__init__()
        self.theme = theme
        self._grids = grids
        self.selected: list[tuple[str | None, int, int, float]] = []

    def compose(self) -> ComposeResult:
        yield from self._grids

    @on(MatrixGrid.CellSelected)
    def record_selected(self, event: MatrixGrid.CellSelected) -> None:
        self.selected.append((event.grid.id, event.row, event.col, event.value))



def labels(n: int, words: list[str] | None = None) -> list[str]:
    return [f"{i + 1} {words[i]}" if words else str(i + 1) for i in range(n)]


def visible_lines(grid: MatrixGrid) -> list[str]:
    return [grid.render_line(y).text for y in range(grid.scrollable_content_region.height)]


def cells_of(line: str, grid: MatrixGrid) -> list[str]:
    """Number texts of one rendered line (right of the row-label bar)."""
    data = line.split("│", 1)[1]
    pitch = grid.column_width
    lead = 1 if grid.heat else 0  # heat cells start with a glyph; every cell ends with a space or '*'
    return [data[i : i + pitch][lead:-1].strip() for i in range(0, len(data) - pitch + 1, pitch)]


async def with_app(app: GridApp, body: Callable, size: tuple[int, int] = (80, 24)) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await body(pilot)


def small_scores() -> np.ndarray:
    s = np.array(
        [
            [0.5, -1.25, 3.0],
            [-0.03125, 12.5, -7.0],
            [1.0, 0.0, -0.000049],
        ]
    )
    return s


# --------------------------------------------------------------------------- numbers


async def test_numbers_formatted_signed_and_aligned() -> None:
    values = small_scores()
    grid = MatrixGrid(values, labels(3, WORDS), WORDS[:3], label="S", id="s")

    async def body(pilot) -> None:
        lines = visible_lines(grid)
        assert len(lines) == 4  # header + 3 rows
        assert "the" in lines[0] and "cat" in lines[0] and "sat" in lines[0]
        for i in range(3):
            assert lines[i + 1].startswith(f" {i + 1} {WORDS[i]}")
            assert cells_of(lines[i + 1], grid) == [fmt(v, 4) for v in values[i]]
        # Signs always printed; -0.000049 rounds to -0.0000 but keeps its sign.
        assert "+0.5000" in lines[1] and "-1.2500" in lines[1] and "+12.5000" in lines[2]
        assert "-0.0000" in lines[3]
        # Decimal points line up column by column.
        dots = [[i for i, ch in enumerate(line) if ch == "."] for line in lines[1:]]
        assert dots[0] == dots[1] == dots[2]
        assert grid.border_title == "S  3x3"

    await with_app(GridApp(grid), body)


@pytest.mark.parametrize(("decimals", "shown"), [(1, "+0.12"), (2, "+0.12"), (6, "+0.123457"), (9, "+0.12345679")])
async def test_decimals_are_clamped_to_2_8(decimals: int, shown: str) -> None:
    grid = MatrixGrid(np.array([[0.123456789, -2.0]]), ["x"], ["a", "b"], decimals=decimals)

    async def body(pilot) -> None:
        lines = visible_lines(grid)
        assert cells_of(lines[1], grid)[0] == shown
        assert grid.decimals == min(8, max(2, decimals))

    await with_app(GridApp(grid), body)


async def test_minus_inf_and_mask_shown() -> None:
    s = np.array([[0.25, -np.inf], [0.5, 0.75]])
    mask = np.array([[False, True], [False, False]])
    grid = MatrixGrid(s, ["1 a", "2 b"], ["a", "b"], masked=mask, label="S")

    async def body(pilot) -> None:
        lines = visible_lines(grid)
        assert cells_of(lines[1], grid) == ["+0.2500", "-inf"]
        # -inf is right-aligned with the numbers.
        assert lines[1].rstrip().endswith("-inf")
        row = grid.render_line(1)
        masked_style = [seg.style for seg in row if "-inf" in seg.text][0]
        plain_style = [seg.style for seg in row if "+0.2500" in seg.text][0]
        assert masked_style != plain_style

    await with_app(GridApp(grid), body)


# --------------------------------------------------------------------------- headers / scrolling


async def test_headers_stay_visible_when_scrolling_down_and_right() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(100, 40))
    cols = [f"c{j + 1}" for j in range(40)]
    grid = MatrixGrid(values, labels(100), cols, label="X", id="x")

    async def body(pilot) -> None:
        grid.scroll_to(x=grid.column_width * 10, y=50, animate=False)
        await pilot.pause()
        assert grid.scroll_offset.y == 50
        lines = visible_lines(grid)
        # Header line is still the first line and shows the columns now in view.
        header = lines[0]
        assert "c11" in header and "c1 " not in header
        # Row labels are still on the left, for the rows now in view.
        for y, line in enumerate(lines[1:]):
            row = 50 + y
            assert line.split("│")[0].strip() == str(row + 1)
            shown = cells_of(line, grid)
            assert shown[0] == fmt(values[row, 10], 4)
        # Scroll right by one column with shift+right, down by one row with shift+down.
        grid.focus()
        await pilot.press("shift+right", "shift+down")
        lines = visible_lines(grid)
        assert "c12" in lines[0]
        assert lines[1].split("│")[0].strip() == "52"
        assert cells_of(lines[1], grid)[0] == fmt(values[51, 11], 4)

    await with_app(GridApp(grid), body)


async def test_scroll_to_row_keeps_row_in_view() -> None:
    values = np.arange(200 * 3, dtype=float).reshape(200, 3)
    grid = MatrixGrid(values, labels(200), ["a", "b", "c"])

    async def body(pilot) -> None:
        grid.scroll_to_row(150)
        await pilot.pause()
        rows_shown = [line.split("│")[0].strip() for line in visible_lines(grid)[1:]]
        assert "151" in rows_shown
        grid.scroll_to_row(3)
        await pilot.pause()
        rows_shown = [line.split("│")[0].strip() for line in visible_lines(grid)[1:]]
        assert "4" in rows_shown

    await with_app(GridApp(grid), body)


async def test_small_grid_is_compact() -> None:
    grid = MatrixGrid(np.eye(5), labels(5, WORDS), WORDS, label="A = softmax(S)", heat=True)

    async def body(pilot) -> None:
        # 1 header line + 5 rows + top and bottom border.
        assert grid.outer_size.height == 8
        assert grid.outer_size.width < 80
        assert grid.border_title == "A = softmax(S)  5x5"
        assert not grid.show_vertical_scrollbar and not grid.show_horizontal_scrollbar

    await with_app(GridApp(grid), body)


# --------------------------------------------------------------------------- highlight / cache


async def test_highlight_row_invalidates_only_two_rows() -> None:
    rng = np.random.default_rng(5)
    grid = MatrixGrid(rng.random((12, 6)), labels(12), [str(j + 1) for j in range(6)], heat=True)

    async def body(pilot) -> None:
        grid.highlight_row = 2
        visible_lines(grid)
        before = grid.lines_rendered
        lines_again = visible_lines(grid)
        assert grid.lines_rendered == before, "all lines should come from the cache"

        grid.highlight_row = 3
        lines = visible_lines(grid)
        assert grid.lines_rendered - before == 2, "only the old and new highlighted rows are rebuilt"
        assert lines[3 + 1].startswith(">") and not lines[2 + 1].startswith(">")
        assert lines_again[2 + 1].startswith(">")
        bold = [seg.style.bold for seg in grid.render_line(3 + 1) if seg.style and "+" in seg.text]
        assert bold and all(bold)

        # Marks also only touch their own rows.
        before = grid.lines_rendered
        grid.marked = {(5, 1), (7, 2), (7, 3)}
        visible_lines(grid)
        assert grid.lines_rendered - before == 2

        # Clearing the highlight redraws the old row (no stale line from the cache).
        grid.highlight_row = None
        assert not visible_lines(grid)[3 + 1].startswith(">")

    await with_app(GridApp(grid), body)


async def test_set_data_again_draws_again_unless_nothing_can_have_changed() -> None:
    """The same read-only array with the same labels and marks keeps the lines drawn (a scale
    switch gives a grid the array it shows); a writable array given again may have been changed
    in place and is drawn again, and so is a read-only one with other decimals or other masked
    cells."""
    values = np.array([[1.0, -0.5], [3.0, 4.0]])
    frozen = values.copy()
    frozen.setflags(write=False)
    grid = MatrixGrid(frozen, ["a", "b"], ["x", "y"])

    async def body(pilot) -> None:
        visible_lines(grid)
        before = grid.lines_rendered
        grid.set_data(frozen, ["a", "b"], ["x", "y"])
        assert cells_of(visible_lines(grid)[2], grid) == ["+3.0000", "+4.0000"]
        assert grid.lines_rendered == before
        grid.set_data(frozen, ["a", "b"], ["x", "y"], decimals=2)
        assert cells_of(visible_lines(grid)[2], grid) == ["+3.00", "+4.00"]
        grid.set_data(frozen, ["a", "b"], ["x", "y"], decimals=2, masked=np.array([[False, False], [False, True]]))
        before = grid.lines_rendered
        grid.set_data(frozen, ["a", "b"], ["x", "y"], decimals=2, masked=np.array([[False, False], [True, False]]))
        visible_lines(grid)
        assert grid.lines_rendered > before
        grid.set_data(values, ["a", "b"], ["x", "y"])
        visible_lines(grid)
        values[1, 1] = -7.25  # changed in place, then given again
        grid.set_data(values, ["a", "b"], ["x", "y"])
        assert cells_of(visible_lines(grid)[2], grid) == ["+3.0000", "-7.2500"]

    await with_app(GridApp(grid), body)


async def test_heat_mode_shades_by_value_and_keeps_numbers() -> None:
    a = np.array([[0.0, 0.25, 0.75, 1.0]])
    grid = MatrixGrid(a, ["1 me"], ["a", "b", "c", "d"], heat=True)

    async def body(pilot) -> None:
        row = grid.render_line(1)
        assert cells_of(row.text, grid) == [fmt(v, 4) for v in a[0]]
        by_text = {}
        for seg in row:
            for v in a[0]:
                if fmt(v, 4) in seg.text:
                    by_text[v] = seg.style
        backgrounds = [by_text[v].bgcolor for v in a[0]]
        assert len(set(backgrounds)) == 4, "each level gets its own shade"
        # Non-colour cue: a block glyph whose height follows the value.
        assert "█+1.0000" in row.text and "▂+0.2500" in row.text and " +0.0000" in row.text

    await with_app(GridApp(grid), body)


async def test_marked_cells_show_a_star() -> None:
    grid = MatrixGrid(np.array([[1.0, 2.0], [3.0, 4.0]]), ["a", "b"], ["x", "y"])

    async def body(pilot) -> None:
        grid.marked = {(1, 0)}
        lines = visible_lines(grid)
        assert "+3.0000*" in lines[2] and "+4.0000*" not in lines[2]
        grid.set_data(np.array([[1.0, -0.5], [3.0, 4.0]]), ["a", "b"], ["x", "y"])
        grid.marked = {(1, 0), (0, 1)}
        lines = visible_lines(grid)
        assert "-0.5000*" in lines[1]
        grid.marked = {(0, 1)}
        assert "*" not in visible_lines(grid)[2]
        # A wider value widens every column, so the points still line up.
        grid.set_data(np.array([[1.0, -0.5], [3.0, -123.25]]), ["a", "b"], ["x", "y"])
        await pilot.pause()  # the grid grows (width: auto)
        lines = visible_lines(grid)
        assert cells_of(lines[1], grid) == ["+1.0000", "-0.5000"]
        assert cells_of(lines[2], grid) == ["+3.0000", "-123.2500"]
        assert [line.index(".") for line in lines[1:]] == [lines[1].index(".")] * 2

    await with_app(GridApp(grid), body)


async def test_theme_change_restyles() -> None:
    grid = MatrixGrid(np.array([[0.9]]), ["a"], ["x"], heat=True)
    app = GridApp(grid)

    async def body(pilot) -> None:
        before = grid.render_line(1)
        app.theme = "textual-light"
        await pilot.pause()
        after = grid.render_line(1)
        assert before.text == after.text
        assert [s.style for s in before] != [s.style for s in after]

    await with_app(app, body)


@pytest.mark.parametrize("theme", ["ansi-dark", "ansi-light", "textual-light", "gruvbox"])
async def test_other_themes_and_no_color_render(theme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    a = np.array([[0.1, 0.9], [0.6, 0.4]])
    grid = MatrixGrid(a, ["1 me", "2 you"], ["me", "you"], heat=True, show_cursor=True)
    grid.highlight_row = 1
    app = GridApp(grid, theme=theme)

    async def body(pilot) -> None:
        grid.focus()
        await pilot.pause()
        screen = app.export_screenshot()
        assert "+0.9000" in screen and "+0.6000" in screen
        lines = visible_lines(grid)
        assert lines[2].startswith(">2 you")

    await with_app(app, body)


# --------------------------------------------------------------------------- cursor / keys


async def test_cursor_moves_and_enter_posts_cell_selected() -> None:
    values = np.arange(12, dtype=float).reshape(3, 4) / 10
    grid = MatrixGrid(values, labels(3), list("abcd"), show_cursor=True, id="x")
    other = MatrixGrid(values, labels(3), list("abcd"), id="w")  # no cursor: enter falls through
    app = GridApp(grid, other)

    async def body(pilot) -> None:
        grid.focus()
        await pilot.press("down", "right", "right")
        assert grid.cursor == (1, 2)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [("x", 1, 2, pytest.approx(0.6))]
        # The cursor cell is drawn differently from its neighbours.
        row = list(grid.render_line(2))
        cursor_seg = [seg for seg in row if "+0.6000" in seg.text]
        assert len(cursor_seg) == 1 and cursor_seg[0].text.strip() == "+0.6000"
        # Clamped at the edges.
        await pilot.press("up", "up", "up", "left", "left", "left", "left")
        assert grid.cursor == (0, 0)
        await pilot.press("end", "enter")
        await pilot.pause()
        assert app.selected[-1] == ("x", 2, 0, pytest.approx(0.8))
        # Without a cursor, enter posts nothing.
        other.focus()
        await pilot.press("enter", "down", "right")
        await pilot.pause()
        assert [s[0] for s in app.selected] == ["x", "x"]

    await with_app(app, body)


async def test_click_moves_cursor_and_double_click_selects() -> None:
    values = np.arange(6, dtype=float).reshape(2, 3)
    grid = MatrixGrid(values, ["a", "b"], ["x", "y", "z"], show_cursor=True, id="g")
    app = GridApp(grid)

    async def body(pilot) -> None:
        # Widget offset: border (1) + label area + column 2, row 2 (below the header line).
        x = 1 + grid.label_width + 2 * grid.column_width + 2
        y = 1 + 1 + 1
        await pilot.click(grid, offset=(x, y))
        assert grid.cursor == (1, 2)
        await pilot.click(grid, offset=(x, y), times=2)
        await pilot.pause()
        assert app.selected[-1] == ("g", 1, 2, 5.0)
        await pilot.click(grid, offset=(1, 1))  # the header corner: no cell, no change
        assert grid.cursor == (1, 2)

    await with_app(app, body)


async def test_cursor_is_kept_visible() -> None:
    rng = np.random.default_rng(11)
    values = rng.normal(size=(300, 50))
    grid = MatrixGrid(values, labels(300), [str(j) for j in range(50)], show_cursor=True)

    async def body(pilot) -> None:
        grid.focus()
        await pilot.press("pagedown", "pagedown")
        row, col = grid.cursor
        assert row > 10
        await pilot.press(*(["right"] * 20))
        row, col = grid.cursor
        assert col == 20
        await pilot.pause()
        lines = visible_lines(grid)
        shown_rows = [int(line.split("│")[0]) for line in lines[1:]]
        assert row + 1 in shown_rows
        line = lines[1 + shown_rows.index(row + 1)]
        assert fmt(values[row, col], 4) in line
        await pilot.press("end")
        assert grid.cursor[0] == 299
        assert visible_lines(grid)[-1].split("│")[0].strip() == "300"
        await pilot.press("home")
        assert grid.cursor[0] == 0 and grid.scroll_offset.y == 0

    await with_app(GridApp(grid), body)


def test_bindings_have_ids_and_descriptions() -> None:
    keys = set()
    for binding in MatrixGrid.BINDINGS:
        assert binding.id and binding.id.startswith("matrix_grid."), binding
        assert binding.description, binding
        keys.update(k.strip() for k in binding.key.split(","))
    assert "tab" not in keys
    for key in ("pageup", "pagedown", "shift+up", "shift+down", "shift+left", "shift+right", "home", "end", "enter"):
        assert key in keys
    # Only our own bindings (all with ids) are active.
    for key_bindings in MatrixGrid._merged_bindings.key_to_bindings.values():
        assert all(b.id for b in key_bindings)


KEYS = [
    "up", "down", "left", "right", "enter", "pageup", "pagedown", "home", "end",
    "shift+up", "shift+down", "shift+left", "shift+right", "ctrl+pageup", "ctrl+pagedown",
    "escape", "space", "x", "0", "minus", "ctrl+home", "ctrl+end", "backspace", "delete",
]  # fmt: skip


@pytest.mark.parametrize("show_cursor", [False, True])
async def test_no_crash_on_any_key_tiny_data_or_resize(show_cursor: bool) -> None:
    one = MatrixGrid(np.array([[-np.inf]]), ["only"], ["x"], show_cursor=show_cursor, id="one")
    big = MatrixGrid(np.ones((40, 40)), labels(40), [str(j) for j in range(40)], show_cursor=show_cursor, id="big")
    app = GridApp(one, big)

    async def body(pilot) -> None:
        for grid in (one, big):
            grid.focus()
            await pilot.press(*KEYS)
            await pilot.pause()
            visible_lines(grid)
        for size in [(20, 6), (8, 4), (1, 1), (120, 40)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            for grid in (one, big):
                visible_lines(grid)
        assert "-inf" in visible_lines(one)[1]
        # Replacing the data with a smaller shape clamps the reactive state.
        big.highlight_row = 30
        big.cursor = (35, 35)
        big.set_data(np.zeros((2, 2)), ["a", "b"], ["a", "b"])
        await pilot.pause()
        assert big.highlight_row is None
        assert big.cursor == (1, 1)
        assert len(visible_lines(big)) >= 3

    await with_app(app, body)


# --------------------------------------------------------------------------- large matrices


async def test_512_by_1024_mounts_and_scrolls_to_middle_and_bottom() -> None:
    rng = np.random.default_rng(42)
    values = rng.normal(size=(512, 1024))
    grid = MatrixGrid(values, labels(512), [str(j + 1) for j in range(1024)], label="X", id="big")

    async def body(pilot) -> None:
        assert grid.virtual_size.height == 513
        grid.scroll_to(x=512 * grid.column_width, y=256, animate=False)
        await pilot.pause()
        lines = visible_lines(grid)
        assert lines[0].split("│")[1].split()[0] == "513"
        for y, line in enumerate(lines[1:]):
            row = 256 + y
            assert line.split("│")[0].strip() == str(row + 1)
            shown = [c for c in cells_of(line, grid)]
            expected = [fmt(v, 4) for v in values[row, 512 : 512 + len(shown)]]
            assert shown == expected
        grid.focus()
        await pilot.press("end")
        await pilot.pause()
        lines = visible_lines(grid)
        assert lines[-1].split("│")[0].strip() == "512"
        assert cells_of(lines[-1], grid)[0] == fmt(values[511, 512], 4)
        grid.scroll_to(x=grid.max_scroll_x, animate=False)
        await pilot.pause()
        lines = visible_lines(grid)
        assert lines[-1].rstrip().endswith(fmt(values[511, 1023], 4))
        assert lines[0].rstrip().endswith("1024")

    await with_app(GridApp(grid), body)


# --------------------------------------------------------------------------- snapshot


class SnapshotApp(App[None]):
    CSS = "Screen { align: center top; }"

    def __init__(self) -> None:
        super().__init__()
        self.theme = "textual-dark"

    def compose(self) -> ComposeResult:
        logits = np.array(
            [
                [2.0, 0.5, 0.1, -1.0, 0.3],
                [0.2, 1.5, 0.9, 0.0, -0.5],
                [1.0, 1.1, 2.2, 0.4, 0.1],
                [-0.3, 0.0, 0.6, 1.9, 1.2],
                [0.1, -0.2, 0.3, 0.8, 2.5],
            ]
        )
        a = np.exp(logits - logits.max(axis=1, keepdims=True))
        a /= a.sum(axis=1, keepdims=True)
        grid = MatrixGrid(a, labels(5, WORDS), WORDS, label="A = softmax(S)", heat=True, id="a")
        grid.highlight_row = 2
        grid.marked = {(0, 0)}
        yield grid


def test_snapshot_small_heat_grid(snap_compare) -> None:
    assert snap_compare(SnapshotApp(), terminal_size=(80, 24))
