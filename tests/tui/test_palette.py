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


async def test_page_keys_in_a_palette_too_short_to_draw_its_list_do_nothing():
    # Key-fuzz audit: ctrl+p, the terminal resized to 4 rows, pageup: Textual's OptionList paged
    # from lines it had not drawn (KeyError) and the tutor ended. Plain Textual 8.2.8 does too.
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.resize_terminal(80, 4)
        await pilot.pause()
        for key in ("pageup", "pagedown"):
            await pilot.press(key)
            await pilot.pause()
        assert app.return_code is None and app.is_running
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("pagedown")  # drawn again, the page keys work
        await pilot.pause()
        assert app.is_running and type(app.screen).__name__ == "PaletteOnce"
