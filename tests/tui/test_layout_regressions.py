"""Boxes that stayed cut after something else had been on screen: the matrix view's text box
after the scenario form."""

import pytest

from tui_attention.steps import matrix_step_kinds
from tui_attention.tui.app import AttentionApp

from tests.support.tui_helpers import quiet
from test_layout import grid_problems, screen_lines, walkthrough_problems


def box_problems(app, selector: str) -> list[str]:
    """`selector`'s box not whole on screen: past the right edge or the footer, or a corner missing."""
    lines = screen_lines(app)
    r = app.query_one(selector).region
    if r.right > app.size.width or r.bottom > app.size.height - 1:
        return [f"{selector} past the screen: {r}"]
    corners = (lines[r.y][r.x], lines[r.y][r.right - 1], lines[r.bottom - 1][r.x], lines[r.bottom - 1][r.right - 1])
    return [] if corners == ("╭", "╮", "╰", "╯") else [f"{selector} corners {corners} at {r}"]


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
async def test_the_matrix_text_box_stays_whole_after_the_scenario_form(size):
    """Opening the scenario form loads Textual's Label CSS (`width: auto`), which matched the
    matrix view's text box too: it took its longest line's width and ran off the right edge
    for the rest of the session."""
    app = AttentionApp()
    async with app.run_test(size=size) as pilot:
        await pilot.press("e")
        await quiet(app, pilot)
        await pilot.press("escape")
        await quiet(app, pilot)
        await pilot.press("m")
        await quiet(app, pilot)
        assert app.state.view == "matrix"
        for k, kind in enumerate(matrix_step_kinds(app.state.config.heads)):
            app.state.matrix_step = k
            app.tutor.refresh_view()
            await quiet(app, pilot)
            problems = box_problems(app, "#matrix-narration") + grid_problems(app)
            assert not problems, (kind, problems)
        await pilot.press("m")
        await quiet(app, pilot)
        for k in range(9):
            app.state.step = k
            app.tutor.refresh_view()
            await quiet(app, pilot)
            problems = box_problems(app, "#narration") + walkthrough_problems(app)
            assert not problems, (k + 1, problems)

