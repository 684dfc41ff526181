"""What a person sees, at fixed sizes, in a fixed theme. Look at each SVG before accepting it."""

import pytest

from tui_attention.core import Overrides
from tui_attention.tui.app import AttentionApp
from tui_attention.steps.state import TutorState

SIZES = [(80, 24), (120, 40)]
SCREENS = {
    "first_screen": [],
    "similarity_step": ["right"] * 4,
    "softmax_step": ["right"] * 7,
    "last_step_word_1": ["end"],
    "word_3": ["down", "down"],
    "help": ["question_mark"],
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_walkthrough(snap_compare, name, size):
    assert snap_compare(AttentionApp(), press=SCREENS[name], terminal_size=size)


@pytest.mark.parametrize("size", [(59, 20), (40, 12)], ids=["59x20", "40x12"])
def test_enlarge_message(snap_compare, size):
    assert snap_compare(AttentionApp(), terminal_size=size)


MATRIX = {
    "default": (Overrides(), []),
    "scaled_causal": (Overrides(scale="sqrt_dk", mask="causal"), []),
    "two_heads": (Overrides(heads=2), []),
}


@pytest.mark.parametrize("name", list(MATRIX))
def test_matrix_view(snap_compare, name):
    overrides, keys = MATRIX[name]
    app = AttentionApp(TutorState(overrides=overrides))
    assert snap_compare(app, press=["m", *keys], terminal_size=(120, 40))


def test_matrix_view_scrolled_to_the_middle_of_128_tokens(snap_compare):
    sentence = " ".join(f"w{i}" for i in range(128))
    app = AttentionApp(TutorState(overrides=Overrides(sentence=sentence)))

    async def to_middle(pilot):
        await pilot.pause()
        app.state.word = 63
        app.tutor.refresh_view()
        await pilot.pause()

    assert snap_compare(app, press=["m"], run_before=to_middle, terminal_size=(120, 40))


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


def test_question_after_a_wrong_answer(snap_compare):
    app, open_page = _lesson_app(4, 2)
    assert snap_compare(app, run_before=open_page, press=["1"], terminal_size=(120, 40))


def test_edit_form_with_an_error(snap_compare):
    app = AttentionApp()

    async def bad_value(pilot):
        await pilot.press("e")
        app.screen.query_one("#form-d_k").value = "0"
        await pilot.pause()

    assert snap_compare(app, run_before=bad_value, terminal_size=(80, 24))
