"""The lesson controller without Textual: pages drive the tutor's state, questions hold the
answer back until answered, progress is recorded."""

import pytest

from tui_attention.lessons import load_lessons
from tui_attention.lessons.controller import LessonController
from tui_attention.lessons.progress import load_progress
from tui_attention.steps.state import TutorState


@pytest.fixture
def open_softmax_question():
    lc, state = LessonController(), TutorState()
    lc.ensure_loaded()
    index = next(i for i, lesson in enumerate(lc.lessons) if lesson.id == "05-softmax")
    page = next(k for k, p in enumerate(lc.lessons[index].pages) if p.question and p.question.kind == "choice")
    assert lc.open(index, page, state) == []
    return lc, state


def test_a_choice_question_holds_the_panes_at_an_earlier_step_that_computes(open_softmax_question):
    lc, state = open_softmax_question
    page = lc.current_page
    steps = state.steps if page.view == "walkthrough" else state.matrix_steps
    step = state.step if page.view == "walkthrough" else state.matrix_step
    assert step < page.step_index(state.config.heads)
    # the notebook neither scales nor masks: those steps only pass the scores on, so they are skipped
    assert steps[step].kind not in ("scale", "mask")
    assert all(s.kind in ("scale", "mask") for s in steps[step + 1: page.step_index(state.config.heads)])
    assert lc.session is not None and not lc.session.solved


def test_a_right_answer_reveals_the_step_and_is_recorded(open_softmax_question):
    lc, state = open_softmax_question
    q = lc.current_page.question
    right = next(k for k, c in enumerate(q.choices, start=1) if c.correct) if q.choices else None
    wrong = 1 if right != 1 else 2
    lc.attempt(wrong, state)
    assert lc.feedback[-1][0] == "bold red" and not lc.session.solved
    lc.attempt(right, state)
    page = lc.current_page
    step = state.step if page.view == "walkthrough" else state.matrix_step
    assert step == page.step_index(state.config.heads) and lc.session.solved
    score = load_progress().score(q.id)
    assert score.attempts == 2 and score.correct


def test_hints_then_the_worked_answer(open_softmax_question):
    lc, state = open_softmax_question
    n = len(lc.current_page.question.hints)
    for _ in range(n):
        lc.hint(state)
    assert lc.session.hints_used == n and not lc.session.revealed
    lc.hint(state)
    assert lc.session.revealed and lc.feedback[-1][1].startswith("Worked answer: ")


def test_a_lesson_left_with_a_question_open_is_incomplete_and_resumes_at_it():
    lc, state = LessonController(), TutorState()
    lc.open(0, None, state)
    lesson = lc.lesson
    first_question = next(p for p in lesson.pages if p.question)
    for _ in range(len(lesson.pages)):
        notices = lc.turn(1, state)
    # ] does not go on past an open question (the next pages may show its answer) ...
    assert lc.active and lc.page == first_question.number - 1 and lc.question_open
    assert "Answer the question on this page first" in notices[-1].text
    # ... but the pages further on can be opened (the instructor's lead), their own questions
    # seen through to their worked answers, and the lesson left past its last page.
    for page in lesson.pages[first_question.number:]:
        lc.open(0, page.number - 1, state)
        while lc.question_open:
            lc.hint(state)
    notices = lc.turn(1, state)
    assert not lc.active and "not complete" in notices[-1].text
    progress = load_progress()
    assert not progress.is_completed(lesson.id)
    assert (progress.last_lesson, progress.last_page) == (lesson.id, first_question.number - 1)


def test_answering_every_question_completes_the_lesson_and_resume_moves_on():
    lc, state = LessonController(), TutorState()
    lc.open(0, 0, state)
    lesson = lc.lesson
    for _ in range(len(lesson.pages)):
        if lc.session is not None:
            while not lc.session.revealed:
                lc.hint(state)  # the worked answer counts: the learner saw it through
        notices = lc.turn(1, state)
    assert f"complete (1 / {len(load_lessons())})" in notices[-1].text
    progress = load_progress()
    assert progress.is_completed(lesson.id)
    assert (progress.last_lesson, progress.last_page) == (lc.lessons[1].id, 0)


def test_finishing_the_last_lesson_leaves_nothing_to_resume():
    lc, state = LessonController(), TutorState()
    lc.ensure_loaded()
    last = len(lc.lessons) - 1
    lc.open(last, 0, state)
    for _ in range(len(lc.lessons[last].pages)):
        if lc.session is not None:
            while not lc.session.revealed:
                lc.hint(state)
        lc.turn(1, state)
    progress = load_progress()
    assert progress.is_completed(lc.lessons[last].id) and progress.last_lesson is None


def test_no_lesson_open_is_a_notice_not_an_error():
    lc = LessonController()
    assert "No lesson open" in lc.turn(1, TutorState())[0].text
    lc.ensure_loaded()
    assert "There is no lesson" in lc.open(99, 0, TutorState())[0].text
