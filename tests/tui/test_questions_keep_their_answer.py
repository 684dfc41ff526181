"""Predict, then reveal: while a question is open, nothing on screen gives its answer away;
what the learner computes from is on screen; once answered, the answer shows.

The screen is read pane by pane: every pane and visible grid line, and the lesson page's own
text (not its question, whose choices are meant to be there)."""

import re

import pytest

from tui_attention.lessons import load_lessons, render_page
from tui_attention.lessons.giveaways import concealed
from tui_attention.steps.conceal import Concealed
from tui_attention.steps.notation import factor_decimals
from tui_attention.tui.app import AttentionApp

from tui_helpers import on_screen_text, text_of

LESSONS = load_lessons()
QUESTIONS = [(li, p.number - 1) for li, lesson in enumerate(LESSONS) for p in lesson.pages if p.question]
NUMBER = re.compile(r"[+-]?\d+\.\d+")


def screen_text(app) -> str:
    """What the learner reads, outside the question: panes, visible grids, the page's text."""
    out = on_screen_text(app)
    lm = app.lesson
    page = lm.current_page
    rendered = render_page(page, lm.trace, app.state.decimals)
    out += [rendered.title, rendered.text]
    return "\n".join(out)


def giveaways(app) -> list[str]:
    """The strings that would answer the open question."""
    lm = app.lesson
    q, trace = lm.current_page.question, lm.trace
    hidden = concealed(q, trace, app.state.head)
    if q.kind == "numeric":
        return [f"value {v}" for v in hidden.values]
    shown = render_page(lm.current_page, trace, app.state.decimals).question
    if q.token_choices:
        return [f"value {v}" for v in hidden.values]
    right = next(c for c, choice in zip(shown.choices, q.choices) if choice.correct)
    wrong = " ".join(c for c, choice in zip(shown.choices, q.choices) if not choice.correct)
    return [n for n in NUMBER.findall(right) if n not in wrong]


def leaks(app) -> list[str]:
    text = screen_text(app)
    found = []
    for g in giveaways(app):
        if g.startswith("value "):
            value = float(g.split()[1])
            if Concealed(values=(value,)).text(text) != text:
                found.append(g)
        elif g in text:
            found.append(g)
    q = app.lesson.current_page.question
    if q.token_choices:
        word = app.lesson.trace.tokens[int(__import__("tui_attention.lessons", fromlist=["evaluate"]).evaluate(
            q.answer, app.lesson.trace)) - 1]
        for pattern in (f"most to '{word}'", f"highest here is with '{word}'", f"saturated: '{word}'"):
            if pattern in text:
                found.append(pattern)
    return found


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_no_open_question_shows_its_answer(size):
    app = AttentionApp()
    problems = []
    async with app.run_test(size=size) as pilot:
        for li, pi in QUESTIONS:
            app.tutor.open_lesson(li, pi)
            await pilot.pause()
            await pilot.pause()
            assert app.lesson.session is not None and not app.lesson.session.solved
            found = leaks(app)
            if found:
                problems.append(f"lesson {li + 1} page {pi + 1}: {found}")
    assert not problems, "\n".join(problems)


async def test_a_numeric_question_shows_what_to_compute_from_and_reveals_when_answered():
    app = AttentionApp()
    li = next(i for i, lesson in enumerate(LESSONS) if lesson.id == "03-queries-keys-values")
    async with app.run_test(size=(80, 24)) as pilot:
        app.tutor.open_lesson(li, 0)  # q₁[1] from x₁ and W_q
        await pilot.pause()
        assert app.state.current.kind == "query"
        trace = app.state.trace
        text = screen_text(app)
        # what q₁[1] is computed from: x₁ and W_q's first column, term by term (as factors: d + 1 decimals)
        places = factor_decimals(app.state.decimals)
        for value in (*trace.X[0], *trace.heads[0].W_q[:, 0]):
            assert f"({value:+.{places}f})" in text
        assert "W_q" in text_of(app.query_one("#weights"))
        formula = text_of(app.query_one("#narration-text"))
        assert "q₁[1] =" in formula and "?" in formula
        answer = trace.heads[0].Q[0, 0]
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = f"{answer:.4f}"
        await pilot.press("enter")
        await pilot.pause()
        assert app.lesson.session.solved
        assert f"{answer:+.4f}" in text_of(app.query_one("#narration-text"))


async def test_a_hidden_weight_hides_its_row_its_sum_and_its_bars():
    """α₁₁ is 1 - Σ of the others: with one weight hidden, the row, Σ_j α₁ⱼ and the bars are too,
    while the scores the learner computes from stay."""
    app = AttentionApp()
    li, pi = next((li, pi) for li, pi in QUESTIONS
                  if LESSONS[li].pages[pi].question.answer == "A[1,1]")
    async with app.run_test(size=(120, 40)) as pilot:
        app.tutor.open_lesson(li, pi)
        await pilot.pause()
        assert app.state.current.kind == "softmax" and app.state.word == 0
        results = text_of(app.query_one("#results"))
        h = app.state.trace.heads[app.state.head]
        assert "Σ_j α₁ⱼ = ?" in results and "1.0000" not in results
        assert not any(glyph in results for glyph in "▏▎▍▌▋▊▉█")
        for j in range(app.state.n):
            assert f"{h.weights[0, j]:+.4f}" not in results
            assert f"{h.scores[0, j]:+.4f}" in results  # what α₁₁ is computed from
        await pilot.press("right")  # the output step: α₁ⱼ·vⱼ would give each α₁ⱼ back
        await pilot.pause()
        formula = text_of(app.query_one("#narration-text"))
        assert "α₁₂·v₂ = ?" in formula and f"{h.weights[0, 1] * h.V[1, 0]:+.4f}" not in formula
