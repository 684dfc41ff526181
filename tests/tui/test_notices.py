"""Issue 10 (B): a notice never covers the step's text, in either view."""

import pytest

from textual.widgets._toast import Toast

from tui_attention.tui.app import AttentionApp


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["walkthrough", "matrix"])
async def test_a_switch_notice_leaves_the_step_text_uncovered(size, view):
    app = AttentionApp()
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.pause()
        if view == "matrix":
            await pilot.press("m")
            for _ in range(4):
                await pilot.pause()
        await pilot.press("s")
        for _ in range(4):
            await pilot.pause()
        toasts = list(app.screen.query(Toast))
        assert toasts, "the switch shows a notice"
        text = app.screen.query_one("#narration" if view == "walkthrough" else "#matrix-narration")
        assert text.region.height > 0
        for toast in toasts:
            assert not toast.region.overlaps(text.region), (toast.region, text.region)


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_keys_that_cannot_act_say_why():
    from tests.tui.test_tui_lessons import find_choice_page
    from tui_attention.steps.state import TutorState
    from tui_attention.core.scenario import Overrides

    app = AttentionApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("g")  # one head: nothing to lay side by side
        await pilot.pause()
        assert app.state.view == "walkthrough" and not app.state.all_heads
        assert any("There is one head" in n for n in notices(app))
        li, pi, _right = find_choice_page()
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        await pilot.pause()
        count = app.lesson.choice_count(app.state.decimals)
        assert count < 9
        await pilot.press("9")  # past the choices: said, and nothing is answered
        await pilot.pause()
        assert app.lesson.question_open
        assert any(f"has {count} choices: press 1 to {count}" in n for n in notices(app))
    app = AttentionApp(TutorState(overrides=Overrides(heads=2)))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("g")  # from the step-through: the matrix view, and it says so
        await pilot.pause()
        assert app.state.view == "matrix" and app.state.all_heads
        assert any("side by side, in the matrix view" in n for n in notices(app))


async def test_a_dialog_opens_without_the_notices_shown_before_it():
    # New-user audit: after escape left a lesson, `L` drew the lesson browser under the 4-s notice
    # "Left the lesson; ...", which covered its first lines.
    app = AttentionApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert notices(app), "the switch shows a notice"
        await pilot.press("L")
        for _ in range(3):
            await pilot.pause()
        assert type(app.screen).__name__ == "LessonBrowser"
        assert notices(app) == [] and not list(app.screen.query(Toast))
