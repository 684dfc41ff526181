"""The page before a question does not show its answer on screen.

A learner reads a page, answers its question (or asks for the worked answer), presses `]`
and meets the next question: whatever the previous page showed is still in mind. So the
previous page, in the state the learner leaves it (question answered, its step revealed),
must not show the next question's answer in any pane, grid, title or text, at 80x24 or
120x40. (The lesson texts alone are checked for every earlier page in test_lesson_content.)
"""

import re

import pytest

from tui_attention.core.tensors import tensor
from tui_attention.lessons import evaluate, load_lessons, render_page
from tui_attention.lessons.giveaways import concealed
from tui_attention.steps.conceal import Concealed
from tui_attention.tui.app import AttentionApp

from tui_helpers import on_screen_text

LESSONS = load_lessons()
NEXT_QUESTIONS = [(li, p.number - 1) for li, lesson in enumerate(LESSONS) for p in lesson.pages
                  if p.question and p.number > 1]
DECIMAL_NUMBER = re.compile(r"[+-]?\d+\.\d+")
SHAPE = re.compile(r"^(\d+) × (\d+)")


def screen_text(app) -> str:
    """What the learner reads: status line, panes, visible grid lines and the page's text."""
    out = on_screen_text(app)
    rendered = render_page(app.lesson.current_page, app.lesson.trace, app.state.decimals)
    out += [rendered.title, rendered.text]
    return "\n".join(out)


def giveaways(page) -> tuple[Concealed, list[str]]:
    """Numbers that answer `page`'s question (a numeric answer; for a word, the right word's
    hidden scores and weights) and texts (a literal right choice, its own numbers, its shape as
    the panes write it, "5x6")."""
    q, trace = page.question, page.trace()
    if q.kind == "numeric":
        return Concealed(values=(float(evaluate(q.answer, trace)),)), []
    if q.token_choices:
        right = int(evaluate(q.answer, trace)) - 1
        cells = concealed(q, trace, page.head_index).cells
        values = tuple(float(tensor(key).of(trace, h)[r, c]) for key, h, r, c in cells
                       if c == right and tensor(key).cols == "token")  # a column that is a word
        return Concealed(values=values), []
    shown = render_page(page, trace).question
    right = next(c for c, choice in zip(shown.choices, q.choices) if choice.correct)
    wrong = " ".join(c for c, choice in zip(shown.choices, q.choices) if not choice.correct)
    texts = [right] + [n for n in DECIMAL_NUMBER.findall(right) if n not in wrong]
    shape = SHAPE.match(right)
    if shape and not any(SHAPE.match(c) and SHAPE.match(c).groups() == shape.groups()
                         for c, choice in zip(shown.choices, q.choices) if not choice.correct):
        texts.append(f"{shape.group(1)}x{shape.group(2)}")
    return Concealed(), texts


def found(text: str, page) -> list[str]:
    """What of `page`'s answer `text` shows: "a hidden number", and each answer text in it."""
    numbers, texts = giveaways(page)
    return (["a hidden number"] if numbers.text(text) != text else []) + \
        [repr(t) for t in texts if t.lower() in text.lower()]


async def worked_answer(app, pilot) -> None:
    """The open question seen through, as a learner who gives up does: every hint, then the worked answer."""
    for _ in range(len(app.lesson.session.question.hints) + 1):
        app.tutor.action_hint()
    assert app.lesson.session.revealed
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_page_before_a_question_does_not_show_its_answer(size):
    app = AttentionApp()
    problems = []
    async with app.run_test(size=size) as pilot:
        for li, pi in NEXT_QUESTIONS:
            app.tutor.open_lesson(li, pi - 1)
            await pilot.pause()
            if app.lesson.session is not None:  # done with, as the learner leaves it: worked answer shown, step revealed
                await worked_answer(app, pilot)
            await pilot.pause()
            await pilot.pause()
            problems += [f"lesson {li + 1} page {pi}: shows {what}, the answer of page {pi + 1}"
                         for what in found(screen_text(app), LESSONS[li].pages[pi])]
    assert not problems, "\n".join(problems)


def test_the_giveaways_read_the_next_question():
    """The strings looked for are the answers: lesson 4's s₁₂, lesson 7's S shape."""
    dot = next(l for l in LESSONS if "dot product" in l.title.lower())
    page = next(p for p in dot.pages if p.question and p.question.kind == "numeric")
    numbers, _ = giveaways(page)
    s12 = page.trace().heads[0].scores[0, 1]
    assert numbers.text(f"q₁·k₂ = {s12:+.4f}") != f"q₁·k₂ = {s12:+.4f}"
    matrices = next(l for l in LESSONS if "matri" in l.title.lower())
    page = next(p for p in matrices.pages if p.question and "shape of S" in p.question.prompt)
    n = page.trace().n
    assert f"{n}x{n}" in giveaways(page)[1]


CHOICE_QUESTIONS = [(li, p.number - 1) for li, lesson in enumerate(LESSONS) for p in lesson.pages
                    if p.question and p.question.kind == "choice"]
# The keys that move the panes: a step, the last step, the view, a word and a step from it.
MOVES = ["right", "end", "m", "down", "right"]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_an_open_choice_question_holds_the_panes_against_every_move(size):
    # A choice question holds the panes one step before the step it asks about: stepping on,
    # jumping to the end or switching views would show the answer (lesson 7's "5x5" in a title).
    app = AttentionApp()
    problems = []
    async with app.run_test(size=size) as pilot:
        for li, pi in CHOICE_QUESTIONS:
            app.tutor.open_lesson(li, pi)
            await pilot.pause()
            view = app.state.view
            # No key here moves back, so a move that got through is still on screen after the last.
            await pilot.press(*MOVES)
            await pilot.pause()
            shown = found("\n".join(on_screen_text(app)), LESSONS[li].pages[pi])
            if shown or app.state.view != view or app.lesson.gives_away(app.state):
                problems.append(f"lesson {li + 1} page {pi + 1}: {' '.join(MOVES)} shows {shown or 'a later step'}")
            assert app.lesson.question_open
            # Answered (here: its worked answer), the panes go on to the step it asked about.
            await worked_answer(app, pilot)
            assert not app.lesson.gives_away(app.state)
    assert not problems, "\n".join(problems)


async def test_a_refused_move_says_what_it_would_have_shown():
    # New-user audit: m on a held page said "The next step shows the answer", about a view.
    app = AttentionApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        for li, pi in CHOICE_QUESTIONS[:3]:  # the step-through, the matrix view, the step-through
            app.tutor.open_lesson(li, pi)
            await pilot.pause()
            view = app.state.view
            for key, said in (("m", "The matrix view shows" if view == "walkthrough" else "The step-through shows"),
                              ("end", "The next step shows")):
                app._notifications.clear()
                await pilot.press(key)
                await pilot.pause()
                messages = [n.message for n in app._notifications]
                assert any(m.startswith(said + " the answer") for m in messages), (li, pi, key, messages)


async def test_one_head_in_a_lesson_does_not_offer_the_refused_H():
    # New-user audit: t on a one-head lesson page said "Press H for 2 or 4 heads", and H is refused there.
    app = AttentionApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.tutor.open_lesson(0, 0)
        await pilot.pause()
        for key in ("t", "g"):
            app._notifications.clear()
            await pilot.press(key)
            await pilot.pause()
            messages = [n.message for n in app._notifications]
            assert any(m.startswith("This lesson page has one head") for m in messages), (key, messages)
            assert not any("Press H" in m for m in messages), (key, messages)


async def test_the_next_page_waits_for_the_open_question():
    # The page after a question may show its answer (lesson 4's page 3 states q₁·k₂), so ] does
    # not go on past an open question; a wrong answer leaves it open; the worked answer lets on.
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        li, pi = next((li, p.number - 1) for li, lesson in enumerate(LESSONS) for p in lesson.pages
                      if p.question and p.question.kind == "numeric" and p.number < len(lesson.pages))
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.lesson.page == pi and app.lesson.question_open
        assert any("Answer the question on this page first" in n.message for n in app._notifications)
        await pilot.press("left_square_bracket")  # back is always open
        await pilot.pause()
        assert app.lesson.page == pi - 1 if pi else app.lesson.page == 0
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        await worked_answer(app, pilot)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.lesson.page == pi + 1
