"""A lesson page made concrete: its text and question rendered from a trace, answers judged,
and the predict-then-reveal state of one question (`QuestionSession`). Pure Python.

The verdicts written here are translated (`_`); a lesson's own texts are shown as its author wrote them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tui_attention.core.trace import Trace
from tui_attention.i18n import _
from tui_attention.infra.channel import MAX_NUMBER
from tui_attention.steps.notation import fmt, parse_number

from .model import Page, Question
from .refs import evaluate, render_text


@dataclass(frozen=True)
class RenderedQuestion:
    kind: str
    prompt: str
    choices: tuple[str, ...]  # numbered 1..len in the UI; empty for numeric
    hints: tuple[str, ...]
    worked: str
    tolerance: float | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class RenderedPage:
    title: str
    text: str
    question: RenderedQuestion | None


def _choice_labels(question: Question, trace: Trace, decimals: int) -> tuple[str, ...]:
    if question.token_choices:
        tokens = trace.tokens
        return tuple(t if tokens.count(t) == 1 else _("{token} (word {number})").format(token=t, number=i + 1)
                     for i, t in enumerate(tokens))
    return tuple(render_text(c.text, trace, decimals) for c in question.choices)


def render_page(page: Page, trace: Trace, decimals: int = 4) -> RenderedPage:
    """The page's title, text and question with every {{...}} filled from `trace`.

    Raises RefError (a ValueError) if a reference does not resolve against this trace
    (validate_lesson checks that for the lesson's own traces).
    """
    q = page.question
    rq = None
    if q is not None:
        r = lambda s: render_text(s, trace, decimals)  # noqa: E731
        rq = RenderedQuestion(
            q.kind, r(q.prompt), _choice_labels(q, trace, decimals), tuple(r(h) for h in q.hints), r(q.worked),
            q.tolerance if q.kind == "numeric" else None, q.decimals if q.kind == "numeric" else None)
    return RenderedPage(render_text(page.title, trace, decimals), render_text(page.text, trace, decimals), rq)


@dataclass(frozen=True)
class Verdict:
    correct: bool
    explanation: str
    answer: str = ""  # the right answer as shown to the learner ("" if not to be revealed yet)
    valid: bool = True  # False when the input was not an answer at all (not counted as an attempt)


def check_answer(question: Question, trace: Trace, given: Any, decimals: int = 4) -> Verdict:
    """Judge an answer against the page's trace.

    choice: `given` is the chosen number 1..len(choices) (int or str). A wrong
    choice's explanation is its misconception (`why`), not just "wrong".
    numeric: `given` is the typed text (or a number); right when within
    `tolerance` of the answer. A wrong number that matches a listed mistake (or
    the answer with the sign flipped) gets that explanation.
    Input that is not an answer at all gives Verdict(valid=False).
    """
    r = lambda s, **env: render_text(s, trace, decimals, **env)  # noqa: E731
    right_text = r(question.explain or question.worked)
    if question.kind == "choice":
        labels = _choice_labels(question, trace, decimals)
        try:
            pick = int(str(given).strip())
        except ValueError:
            pick = 0
        if not 1 <= pick <= len(labels):
            return Verdict(False, _("Press a number from 1 to {last}.").format(last=len(labels)), valid=False)
        if question.token_choices:
            right = int(evaluate(question.answer, trace))
            if pick == right:
                return Verdict(True, right_text, labels[right - 1])
            return Verdict(False, r(question.why, choice=pick))
        choice = question.choices[pick - 1]
        if choice.correct:
            return Verdict(True, right_text, labels[pick - 1])
        return Verdict(False, r(choice.why))
    try:
        value = float(given) if isinstance(given, (int, float)) and not isinstance(given, bool) else parse_number(given)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        return Verdict(False, _("Type a number, such as {example}.").format(example=fmt(-0.0123, question.decimals)),
                       valid=False)
    if abs(value) > MAX_NUMBER:  # a served tutor's report could not carry it to the room's answers
        return Verdict(False, _("Type a number between -10^12 and 10^12, such as {example}.").format(
            example=fmt(-0.0123, question.decimals)), valid=False)
    expected = float(evaluate(question.answer, trace))
    shown = fmt(expected, max(question.decimals, 0))
    tol = question.tolerance
    if abs(value - expected) <= tol + 1e-12:
        return Verdict(True, _("Right: {answer} (within ±{tolerance:g}). {explanation}").format(
            answer=shown, tolerance=tol, explanation=right_text), shown)
    for m in question.mistakes:
        wrong = float(evaluate(m.answer, trace))
        if abs(value - wrong) <= tol + 1e-12 and abs(wrong - expected) > tol:
            return Verdict(False, r(m.why))
    if expected != 0 and abs(value + expected) <= tol:
        # Said of every kind of question (sums, products, weights, variances): no rule of one kind.
        return Verdict(False, _("The size is right but the sign is not. Check the sign of each number "
                                "you used, and of each result along the way."))
    return Verdict(False, _("Not within ±{tolerance:g} of the answer. Recompute step by step, or ask for a "
                            "hint.").format(tolerance=tol))


@dataclass
class QuestionSession:
    """Predict, then reveal: the state of one question on screen (pure, for the UI).

    attempt() checks an answer and counts it; hint() gives the next hint (at most
    len(hints)); reveal() gives the worked answer. `solved` is True once right.
    """

    question: Question
    trace: Trace
    decimals: int = 4
    attempts: int = 0
    hints_used: int = 0
    solved: bool = False
    revealed: bool = False
    verdicts: list[Verdict] = field(default_factory=list)

    def attempt(self, given: Any) -> Verdict:
        verdict = check_answer(self.question, self.trace, given, self.decimals)
        if verdict.valid:
            self.attempts += 1
            self.solved = self.solved or verdict.correct
            self.verdicts.append(verdict)
        return verdict

    @property
    def hints_left(self) -> int:
        return len(self.question.hints) - self.hints_used

    def hint(self) -> str | None:
        """The next hint, or None when there are no more (then offer reveal())."""
        if self.hints_used >= len(self.question.hints):
            return None
        text = render_text(self.question.hints[self.hints_used], self.trace, self.decimals)
        self.hints_used += 1
        return text

    def hints_shown(self) -> list[str]:
        return [render_text(h, self.trace, self.decimals) for h in self.question.hints[: self.hints_used]]

    def reveal(self) -> str:
        """The worked answer."""
        self.revealed = True
        return render_text(self.question.worked, self.trace, self.decimals)
