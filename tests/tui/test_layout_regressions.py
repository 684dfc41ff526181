"""Boxes that stayed cut after something else had been on screen: the matrix view's text box
after the scenario form, the formula box a page on (pgdn) beside a lesson."""

import pytest
from rich.text import Text

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


def narration_box(app) -> str:
    r = app.query_one("#narration").region
    return "\n".join(line[r.x:r.right] for line in screen_lines(app)[r.y:r.bottom])


# (lesson, page, word, step), 0-based: the query step's q[c] lines, four terms each, wrap to four
# lines beside the lesson panel at 80x24 (lesson 3's first page; lesson 2's second, moved on)
LESSON_PLACES = {"lesson 3 page 1": (2, 0, None, None), "lesson 2 page 2, word 3 step 2": (1, 1, 2, 1)}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("place", list(LESSON_PLACES))
async def test_pgdn_beside_a_lesson_keeps_the_formula_box_whole_to_its_last_line(size, place):
    """The box was planned for the query word's formula window; pgdn showed another window of
    as many lines, whose lines wrapped to more rows, and the box ran under the footer with its
    last line out of reach."""
    lesson, page, word, step = LESSON_PLACES[place]
    app = AttentionApp()
    async with app.run_test(size=size) as pilot:
        app.tutor.open_lesson(lesson, page)
        await quiet(app, pilot)
        if word is not None:
            app.state.word, app.state.step = word, step
            app.tutor.refresh_view()
            await quiet(app, pilot)
        assert app.lesson.active and app.state.view != "matrix"
        formula = app.state.concealed.lines(app.state.current.formula)
        width = app.query_one("#narration-text").content_region.width
        last = Text(formula[-1]).wrap(app.console, width)[-1].plain.strip()
        for presses in range(len(formula) + 1):
            problems = box_problems(app, "#narration") + walkthrough_problems(app)
            assert not problems, (presses, problems)
            if last in narration_box(app):
                break
            await pilot.press("pagedown")
            await quiet(app, pilot)
        assert last in narration_box(app), narration_box(app)


@pytest.mark.parametrize("decimals", [2, 3], ids=["2dp", "3dp"])
async def test_the_weights_box_stays_whole_at_few_decimals_beside_a_lesson(decimals):
    # Lesson 3, page 1 at 80x24: at 2 or 3 decimals W_q's grid was narrower than its title
    # "W_q  4x3  (multiplying)", which wrapped to a second line the layout had not planned,
    # and the next box was drawn over the Weights box's bottom border.
    app = AttentionApp(start_lesson=3)
    async with app.run_test(size=(80, 24)) as pilot:
        await quiet(app, pilot)
        for _ in range(4 - decimals):
            await pilot.press("minus")
        await quiet(app, pilot)
        assert app.state.decimals == decimals and app.state.current.multiplies
        assert box_problems(app, "#weights") == []
        assert any("W_q  4x3  (multiplying)" in line for line in screen_lines(app))
