"""Leaving a lesson gives the step-through its whole width at once (issue 10, audit #23): the
plan is made for the room the view will have, not for the squeezed room it had beside the
lesson, so no pane stays cut until the next key."""

import pytest

from tui_attention.steps.state import TutorState
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.layout import views_size

from test_layout import screen_lines


def test_views_size_is_the_screen_less_the_chrome_and_the_lesson_panel():
    assert views_size(80, 24, False) == (80, 22)
    assert views_size(80, 24, True) == (44, 22)
    assert views_size(120, 40, True) == (84, 38)


@pytest.mark.parametrize("keys", [("escape",), ("bracketright", "escape")], ids=["page 1", "page 2"])
async def test_leaving_a_lesson_lays_the_step_through_out_for_the_whole_width(keys):
    app = AttentionApp(TutorState(), start_lesson=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause()
        assert not app.lesson.active
        view = app.query_one("WalkthroughView")
        assert tuple(view.size) == (80, 22)
        lines = screen_lines(app)
        tokens = next(line for line in lines if "[1 me]" in line)
        assert "5 artificial" in tokens, tokens  # one line of all five words, not three and "…"
        assert app.query_one("#vectors").display and app.query_one("#weights").display
        # Nothing blank between the narration's bottom border and the footer.
        bottom = max(k for k, line in enumerate(lines) if line.startswith("╰"))
        assert bottom == len(lines) - 2, lines
