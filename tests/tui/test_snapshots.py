"""What a person sees, where a picture carries what an assertion cannot: the layout of each
screen, in a fixed theme; two sizes only where the layout differs (below 120 columns the
step-through narrows). Look at each SVG before accepting it. What the panes say is
asserted in test_tui_pilot.py and test_tui_lessons.py."""

import pytest

from tui_attention.tui.app import AttentionApp

SIZES = [(80, 24), (120, 40)]
SCREENS = {
    "first_screen": [],
    "similarity_step": ["right"] * 4,
    "softmax_step": ["right"] * 7,
    "last_step_word_1": ["end"],
    "help": ["question_mark"],
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_walkthrough(snap_compare, name, size):
    assert snap_compare(AttentionApp(), press=SCREENS[name], terminal_size=size)


@pytest.mark.parametrize("size", [(59, 20), (40, 12)], ids=["59x20", "40x12"])
def test_enlarge_message(snap_compare, size):
    assert snap_compare(AttentionApp(), terminal_size=size)


def test_matrix_view(snap_compare):
    assert snap_compare(AttentionApp(), press=["m"], terminal_size=(120, 40))


def _lesson_app(lesson: int, page: int):
    app = AttentionApp()

    async def open_page(pilot):
        await pilot.pause()
        app.tutor.open_lesson(lesson, page)
        await pilot.pause()

    return app, open_page


def test_lesson_browser(snap_compare):
    assert snap_compare(AttentionApp(), press=["L"], terminal_size=(80, 24))


def test_lesson_page_beside_the_panes(snap_compare):
    app, open_page = _lesson_app(0, 0)
    assert snap_compare(app, run_before=open_page, terminal_size=(120, 40))


def test_question_before_answering(snap_compare):
    app, open_page = _lesson_app(4, 2)  # softmax: which of these sums to 1?
    assert snap_compare(app, run_before=open_page, terminal_size=(120, 40))


def test_edit_form_with_an_error(snap_compare):
    app = AttentionApp()

    async def bad_value(pilot):
        await pilot.press("e")
        app.screen.query_one("#form-d_k").value = "0"
        await pilot.pause()

    assert snap_compare(app, run_before=bad_value, terminal_size=(80, 24))
