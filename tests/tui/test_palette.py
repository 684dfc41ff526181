"""A modal closes once, however many clicks arrive together: a second click that reached it after
it closed popped the tutor's own screen (ScreenStackError; a served tutor ended). The command
palette's background and a lesson in the lesson list both did (`DismissedOnce`)."""

import pytest
from textual import events

from tui_attention.tui.app import AttentionApp
from tui_attention.tui.screens.tutor import TutorScreen


def clicks_together(app, count: int = 2, x: int = 0, y: int = 0) -> None:
    """`count` clicks at (x, y), posted at once as one read of a terminal's input gives them."""
    for _ in range(count):
        for event in (events.MouseDown, events.MouseUp, events.Click):
            app.post_message(event(None, x, y, 0, 0, 1, False, False, False, screen_x=x, screen_y=y))


async def open_palette(app, pilot, opening: str) -> None:
    """The command palette (ctrl+p) or its theme list, open."""
    if opening == "palette":
        await pilot.press("ctrl+p")
    else:
        app.search_themes()
    await pilot.pause()


@pytest.mark.parametrize("opening", ["palette", "themes"])
async def test_clicks_together_outside_the_palette_close_it_once(opening):
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_palette(app, pilot, opening)
        assert len(app.screen_stack) == 2
        clicks_together(app, 3)
        for _ in range(3):
            await pilot.pause()
        assert app.is_running and app.return_code is None
        assert [type(s) for s in app.screen_stack] == [TutorScreen]
        await pilot.press("right")  # the tutor still answers
        await pilot.pause()
        assert app.state.step == 1


async def test_clicks_together_on_a_lesson_open_it_once():
    from textual.widgets import OptionList

    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("L")
        await pilot.pause()
        options = app.screen.query_one(OptionList).region
        clicks_together(app, 2, options.x + 3, options.y + 1)
        for _ in range(4):
            await pilot.pause()
        assert app.is_running and app.return_code is None
        assert [type(s) for s in app.screen_stack] == [TutorScreen] and app.lesson.active


@pytest.mark.parametrize("opening", ["palette", "themes"])
async def test_ctrl_g_closes_the_palette_as_every_dialog(opening):
    # New-user audit: "every dialog also closes with ctrl+g" (escape arrives late over a slow link).
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_palette(app, pilot, opening)
        await pilot.press(*"mask")  # with text typed, too
        await pilot.pause()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert [type(s) for s in app.screen_stack] == [TutorScreen]
