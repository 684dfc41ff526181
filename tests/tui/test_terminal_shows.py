"""What the terminal shows after each key is what the screen drawn whole shows: no cell keeps
what an earlier frame drew there (`tests/support/terminal.Terminal` applies the app's partial
frames as a terminal does)."""

import pytest

from tests.support.terminal import Terminal
from tests.support.tui_helpers import quiet
from tests.tui.test_tui_random_keys import storm
from tui_attention.tui.app import AttentionApp

LESSON_12_TO_THE_LAST_PAGE = ["right_square_bracket", "4"] + ["right_square_bracket", "1"] * 4 + ["right_square_bracket"]


async def keys_leave_no_stale_cell(app: AttentionApp, size: tuple[int, int], keys: list[str]) -> None:
    terminal = Terminal(app)
    async with app.run_test(size=size, notifications=True) as pilot:
        await quiet(app, pilot)
        for n, key in enumerate(keys):
            await pilot.press(key)
            await quiet(app, pilot)
            stale = terminal.stale_rows()
            assert not stale, f"after {keys[:n + 1]}: row {stale[0][0]} shows\n{stale[0][1]!r}\nnot\n{stale[0][2]!r}"


async def test_lesson_12_last_page_draws_its_grown_text_box_whole():
    # Page 7's text box is two rows taller than page 6's; the grid of page 6 drawn in those two
    # rows stayed on screen (the map was rebuilt lazily when a pane's display was set).
    await keys_leave_no_stale_cell(AttentionApp(start_lesson=12), (80, 24), LESSON_12_TO_THE_LAST_PAGE)


@pytest.mark.parametrize("seed, size", [(11, (80, 24)), (12, (120, 40))], ids=["11-80x24", "12-120x40"])
async def test_random_keys_leave_no_stale_cell(seed, size, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # saves and exports typed by chance land here
    await keys_leave_no_stale_cell(AttentionApp(), size, storm(seed, length=80))


async def test_random_keys_in_a_lesson_leave_no_stale_cell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pages = ["right_square_bracket", "left_square_bracket", "1", "2", "3", "4", "a", "h", "w"] * 4
    keys = [k for pair in zip(storm(13, length=len(pages)), pages) for k in pair]
    await keys_leave_no_stale_cell(AttentionApp(start_lesson=12), (80, 24), keys)
