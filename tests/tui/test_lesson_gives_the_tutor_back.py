"""A lesson borrows the tutor: it gives back the learner's own sentence, switches and place when
it is left or finished; a right answer stands; nothing exports a hidden answer; no widget takes
the keys by itself."""

from tui_attention.lessons import load_lessons
from tui_attention.steps.conceal import NOTHING
from tui_attention.tui.app import AttentionApp

LESSONS = load_lessons()


def first_question(kind: str) -> tuple[int, int]:
    for li, lesson in enumerate(LESSONS):
        for pi, page in enumerate(lesson.pages):
            if page.question is not None and page.question.kind == kind:
                return li, pi
    raise AssertionError(kind)


async def own_sentence(pilot, app) -> None:
    await pilot.press("e")
    app.screen.query_one("#form-sentence").value = "el gato negro duerme"
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("down", "right", "right", "s")
    await pilot.pause()


async def test_leaving_a_lesson_gives_back_the_learners_sentence_switches_and_place():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await own_sentence(pilot, app)
        before = (app.state.config.tokens, app.state.config.scale, app.state.word, app.state.step)
        assert before == (("el", "gato", "negro", "duerme"), "sqrt_dk", 1, 2)
        app.tutor.open_lesson(9, 0)  # lesson 10: two heads of the notebook's sentence
        await pilot.pause()
        assert app.state.config.tokens[0] == "me"
        await pilot.press("escape")
        await pilot.pause()
        assert (app.state.config.tokens, app.state.config.scale, app.state.word, app.state.step) == before
        assert app.state.config.heads == 1


async def test_finishing_a_lesson_gives_back_the_learners_numbers_and_edits():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.state.edit_cell("E", 0, 0, 2.5)
        app.tutor.refresh_view()
        li = next(i for i, lesson in enumerate(LESSONS) if all(p.question is None for p in lesson.pages[-1:]))
        app.tutor.open_lesson(li, len(LESSONS[li].pages) - 1)
        await pilot.pause()
        await pilot.press("]")
        await pilot.pause()
        assert not app.lesson.active
        assert app.state.trace.E[0, 0] == 2.5 and app.state.source() == "edited"


async def test_a_right_answer_stands():
    li, pi = first_question("choice")
    right = next(k for k, c in enumerate(LESSONS[li].pages[pi].question.choices, start=1) if c.correct)
    wrong = 1 if right != 1 else 2
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        await pilot.press(str(right))
        await pilot.pause()
        assert app.lesson.feedback[-1][1].startswith("Right")
        await pilot.press(str(wrong))
        await pilot.pause()
        assert app.lesson.feedback[-1][1].startswith("Right")
        assert app.lesson.session.attempts == 1


def last_question(kind: str) -> tuple[int, int]:
    """A question of `kind` that is the last of its lesson: past it nothing is left to hide."""
    for li, lesson in enumerate(LESSONS):
        asked = [pi for pi, page in enumerate(lesson.pages) if page.question is not None]
        if asked and lesson.pages[asked[-1]].question.kind == kind:
            return li, asked[-1]
    raise AssertionError(kind)


async def test_export_waits_until_the_lessons_questions_are_answered(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # no question answered before
    monkeypatch.chdir(tmp_path)
    li, pi = last_question("numeric")
    app = AttentionApp()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.lesson.ensure_loaded()
        for page in LESSONS[li].pages[:pi]:  # the earlier questions seen through: only this one is open
            if page.question is not None:
                app.lesson.progress.record_reveal(page.question.id)
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        screen = app.screen
        await pilot.press("x")
        await pilot.pause()
        assert app.screen is screen  # no prompt: refused with a notice
        assert any("give them away" in str(n.message) for n in app._notifications)
        for _ in range(len(app.lesson.session.question.hints) + 1):  # every hint, then the worked answer
            app.tutor.action_hint()
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert app.screen is not screen  # now the export prompt opens
        await pilot.press("ctrl+g")
        await pilot.pause()
        if pi > 0:  # back a page: every question is answered now, and nothing is hidden there
            await pilot.press("left_square_bracket")
            await pilot.pause()
            assert app.state.concealed == NOTHING and not app.lesson.holds_answers


async def test_export_waits_for_an_open_question_whose_choices_are_words_not_cells(tmp_path, monkeypatch):
    # Found by an audit: a choice question with plain-text choices (a shape) hides no cell, so
    # the export opened while it was open, and the file held the shape.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    li, pi = next((li, pi) for li, lesson in enumerate(LESSONS) for pi, page in enumerate(lesson.pages)
                  if page.question is not None and page.question.kind == "choice" and not page.question.answer)
    app = AttentionApp()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        assert app.lesson.question_open and app.state.concealed == NOTHING
        screen = app.screen
        await pilot.press("x")
        await pilot.pause()
        assert app.screen is screen and any("give them away" in str(n.message) for n in app._notifications)


async def test_each_page_shows_its_own_head_not_every_heads_A():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.tutor.open_lesson(9, 1)  # lesson 10, which invites g
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        assert app.state.all_heads
        await pilot.press("]")
        await pilot.pause()
        assert not app.state.all_heads


async def test_the_last_lesson_does_not_promise_a_next_one():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.lesson.ensure_loaded()
        last = LESSONS[-1]
        for page in last.pages:
            if page.question is not None:
                app.lesson.progress.record_answer(page.question.id, True)
        app.tutor.open_lesson(len(LESSONS) - 1, len(last.pages) - 1)
        await pilot.pause()
        await pilot.press("]")
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("That was the last lesson" in m for m in messages), messages
        assert not any("next one" in m for m in messages)


async def test_coming_back_from_a_prompt_leaves_no_grid_holding_the_keys():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        assert app.focused is None
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is None
