"""Lessons driven from the keyboard: right and wrong answers, hints, resume, a corrupt progress file."""

import json

from tui_attention.lessons import load_lessons
from tui_attention.lessons.progress import load_progress, progress_path
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.screens.lessons import LessonBrowser

from tui_helpers import text_of

LESSONS = load_lessons()


def lesson_text(app) -> str:
    return text_of(app.query_one("#lesson-text"), width=34)


def find_choice_page():
    """The first page with a choice question whose answer is not choice 1."""
    for li, lesson in enumerate(LESSONS):
        for pi, page in enumerate(lesson.pages):
            q = page.question
            if q is not None and q.kind == "choice" and not q.token_choices:
                right = [k for k, c in enumerate(q.choices, start=1) if c.correct]
                if right and right[0] != 1:
                    return li, pi, right[0]
    raise AssertionError("no choice question found")


def find_numeric_page():
    for li, lesson in enumerate(LESSONS):
        for pi, page in enumerate(lesson.pages):
            if page.question is not None and page.question.kind == "numeric":
                return li, pi
    raise AssertionError("no numeric question found")


async def test_browser_lists_every_lesson_and_opens_one():
    app = AttentionApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("L")
        assert isinstance(app.screen, LessonBrowser)
        listed = app.screen.query_one("#lesson-list")
        assert listed.option_count == len(LESSONS) >= 11
        assert f"0 / {len(LESSONS)}" in text_of(app.screen.query_one("#lesson-progress"))
        await pilot.press("down", "enter")
        assert app.lesson.index == 1 and app.lesson.page == 0
        page = LESSONS[1].pages[0]
        assert app.state.view == page.view
        assert app.screen.has_class("-lesson")
        assert f"Lesson {LESSONS[1].number}" in app.query_one("#lesson-panel").border_title


async def test_pages_drive_the_views_to_their_step():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.tutor.open_lesson(6, 0)  # all at once with matrices
        await pilot.pause()
        lesson = LESSONS[6]
        for k, page in enumerate(lesson.pages):
            assert app.lesson.page == k
            assert app.state.view == page.view
            steps = app.state.steps if page.view == "walkthrough" else app.state.matrix_steps
            kinds = [s.kind for s in steps]
            kind = app.state.current.kind if page.view == "walkthrough" else app.state.current_matrix.kind
            if page.question is None:
                assert kind == page.step
            else:  # predict, then reveal: an earlier step that computes something, until answered
                off = {"scale": app.state.config.scale == "none", "mask": app.state.config.mask == "none"}
                expected = max(0, kinds.index(page.step) - 1)
                while expected > 0 and off.get(kinds[expected], False):
                    expected -= 1
                assert kinds.index(kind) == expected
                await pilot.press("i", "i", "i", "i")
                kind = app.state.current.kind if page.view == "walkthrough" else app.state.current_matrix.kind
                assert kind == page.step
            await pilot.press("right_square_bracket")
        assert not app.lesson.active  # finished
        assert load_progress().is_completed(lesson.id)


async def test_wrong_then_right_answer_with_misconception():
    li, pi, right = find_choice_page()
    q = LESSONS[li].pages[pi].question
    wrong = 1
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        await pilot.press(str(wrong))
        text = lesson_text(app)
        assert "Not quite" in text
        assert q.choices[wrong - 1].why.split()[0] in text  # the misconception, not just "wrong"
        await pilot.press(str(right))
        assert "Right" in lesson_text(app)
    score = load_progress().score(q.id)
    assert (score.attempts, score.correct) == (2, True)


async def test_numeric_answer_typed_in():
    li, pi = find_numeric_page()
    page = LESSONS[li].pages[pi]
    trace = page.trace()
    from tui_attention.lessons import evaluate

    answer = float(evaluate(page.question.answer, trace))
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        await pilot.press("a")
        app.screen.query_one("#prompt-input").value = f"{answer + 10:.4f}"
        await pilot.press("enter")
        await pilot.pause()
        assert "Not quite" in lesson_text(app)
        await pilot.press("a")
        app.screen.query_one("#prompt-input").value = f"{answer:.4f}"
        await pilot.press("enter")
        await pilot.pause()
        assert "Right" in lesson_text(app)


async def test_hints_then_worked_answer():
    li, pi, _ = find_choice_page()
    q = LESSONS[li].pages[pi].question
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        for k in range(len(q.hints)):
            await pilot.press("i")
            assert f"Hint {k + 1}:" in lesson_text(app)
        await pilot.press("i")
        assert "Worked answer:" in lesson_text(app)
    score = load_progress().score(q.id)
    assert score.hints == len(q.hints) and score.revealed


async def test_number_keys_do_nothing_outside_a_question():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1", "a", "i", "right_square_bracket")
        assert not app.lesson.active and app.state.step == 0


async def test_quit_in_the_middle_and_resume_at_the_same_page():
    app = AttentionApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.tutor.open_lesson(2, 0)
        await pilot.pause()
        for _ in range(2):
            if app.lesson.question_open:  # ] waits for it: its worked answer lets the learner on
                for _ in range(len(app.lesson.session.question.hints) + 1):
                    await pilot.press("i")
            await pilot.press("right_square_bracket")
        assert app.lesson.page == 2
        await pilot.press("q")
    saved = json.loads(progress_path().read_text())
    assert saved["last"] == {"lesson": LESSONS[2].id, "page": 2}
    again = AttentionApp()
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.press("L")
        assert "c continues at lesson 3, page 3" in text_of(again.screen.query_one("#lesson-progress"))
        await pilot.press("c")
        assert (again.lesson.index, again.lesson.page) == (2, 2)
        page = LESSONS[2].pages[2]
        assert again.state.view == page.view


async def test_start_with_lesson_option_resumes_that_lesson():
    from tui_attention.lessons.progress import Progress, save_progress

    progress = Progress()
    progress.set_position(LESSONS[3].id, 1)
    save_progress(progress)
    app = AttentionApp()
    app.start_lesson = 4
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert (app.lesson.index, app.lesson.page) == (3, 1)


async def test_corrupt_progress_file_is_moved_aside_with_a_notice():
    path = progress_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    app = AttentionApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("L")
        assert isinstance(app.screen, LessonBrowser)
        shown = text_of(app.screen.query_one("#lesson-progress"))
        assert f"0 / {len(LESSONS)}" in shown and ".bak" in shown
        await pilot.press("enter")
        assert app.lesson.active
    assert path.with_name("progress.json.bak").read_text() == "{not json"
    assert json.loads(path.read_text())["last"]["lesson"] == LESSONS[0].id


async def test_reset_asks_first():
    from tui_attention.lessons.progress import Progress, save_progress

    progress = Progress()
    progress.mark_completed(LESSONS[0].id)
    save_progress(progress)
    app = AttentionApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("L", "r", "n")
        assert load_progress().is_completed(LESSONS[0].id)
        await pilot.press("r", "y")
        assert not load_progress().is_completed(LESSONS[0].id)
        assert f"0 / {len(LESSONS)}" in text_of(app.screen.query_one("#lesson-progress"))


async def test_a_refused_next_page_leaves_the_lesson_text_where_it_was_read():
    # A wrong answer's feedback is at the end of the page; ] refused (the question is open)
    # used to scroll the panel back to the page's top, out of sight of that feedback.
    li, pi, right = find_choice_page()
    wrong = 1 if right != 1 else 2
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        await pilot.pause()
        await pilot.press(str(wrong))
        await pilot.pause()
        panel = app.query_one("#lesson-panel")
        at = panel.scroll_y
        assert at > 0  # scrolled to the feedback
        await pilot.press("right_square_bracket")  # refused: the question is still open
        await pilot.pause()
        assert app.lesson.page == pi and panel.scroll_y == at
        await pilot.press("left_square_bracket")  # another page opens at its top
        await pilot.pause()
        assert panel.scroll_y == 0


async def test_the_answer_prompt_is_a_bar_at_the_bottom_that_leaves_the_numbers_in_view():
    from textual.widgets import Input

    from tui_attention.tui.screens.forms import PromptScreen

    li, pi = find_numeric_page()
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        await pilot.pause()
        panes = [app.query_one(f"#{name}").region for name in ("vectors", "narration") if app.query_one(f"#{name}").display]
        await pilot.press("a")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, PromptScreen) and prompt.has_class("-low")
        box = prompt.query_one("Vertical").region
        assert box.bottom == 24 and box.height <= 4, box  # along the bottom: border, field, error line
        assert "Enter checks it" in prompt.query_one(Input).placeholder
        for region in panes:
            assert region.bottom <= box.y, (region, box)  # the panes' numbers stay in view
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)


async def test_after_a_finished_lesson_the_browser_does_not_say_you_left_off_in_the_next():
    # New-user audit: after lesson 1, "You left off in lesson 2, page 1" of a lesson never opened.
    from tui_attention.lessons.progress import load_progress, save_progress

    progress = load_progress()
    progress.mark_completed(LESSONS[0].id)
    progress.set_position(LESSONS[1].id, 0)
    save_progress(progress)
    app = AttentionApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("L")
        shown = text_of(app.screen.query_one("#lesson-progress"))
        assert "c continues at lesson 2, page 1" in shown and "left off" not in shown
