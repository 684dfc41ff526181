"""The lesson controller: which lesson page is open, what the panes show for it, the open
question and the learner's progress. No Textual: the screen calls these methods, shows
the notices they return, and redraws.

Predict, then reveal: while a page's question is open, its answer is hidden on screen
(`giveaways`: the cells drawn as "?", the number printed nowhere). A numeric question
shows the step it asks about, with what to compute from; a choice question holds the
panes one step before it. Once answered (or its worked answer shown) all is revealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from tui_attention.core.config import ConfigError
from tui_attention.core.trace import Trace
from tui_attention.i18n import N_, _, ngettext
from tui_attention.steps.conceal import NOTHING, Concealed
from tui_attention.steps.state import TutorState
from tui_attention.steps.step import WORD_STEP_KINDS, matrix_step_kinds

if TYPE_CHECKING:
    from .answers import QuestionSession, RenderedPage
    from .model import Lesson, Page
    from .progress import Progress

WORKED_STYLE = "bold"  # the feedback style of a worked answer, and of nothing else
# Lesson texts are English and may open with a verdict of their own; the app's verdicts are translated.
VERDICT_OPENINGS = ("right", "not quite", "wrong")
TRANSLATED_OPENINGS = (N_("Right"), N_("Not quite"), N_("Wrong"))


@dataclass(frozen=True)
class Notice:
    """A one-line message for the learner; severity "information", "warning" or "error"."""

    text: str
    severity: str = "information"
    timeout: float = 6.0


@dataclass
class LessonController:
    """The open lesson (index into `lessons`, 0-based page), its question session and feedback."""

    lessons: list[Lesson] | None = None
    progress: Progress | None = None
    index: int | None = None
    page: int = 0
    session: QuestionSession | None = None
    trace: Trace | None = None
    feedback: list[tuple[str, str]] = field(default_factory=list)  # (style, text)
    before: dict | None = None  # the learner's own scenario and place, given back when the lesson ends
    # Told of every answer judged: on_answer(controller, given, correct) (a served tutor reports it).
    on_answer: Callable[[LessonController, object, bool], None] | None = None
    # The open question's answers so far, as typed -> their verdict: the same answer again (a key
    # held down) is judged as before and neither counted, reported nor written again.
    given: dict = field(default_factory=dict)
    # Pages (0-based) of the open lesson whose question the learner has met open: back on an
    # earlier page ([), the step that shows a met choice question's answer stays out of reach.
    met: set = field(default_factory=set)

    @property
    def active(self) -> bool:
        return self.index is not None

    @property
    def lesson(self) -> Lesson:
        assert self.lessons is not None and self.index is not None
        return self.lessons[self.index]

    @property
    def current_page(self) -> Page:
        return self.lesson.pages[self.page]

    def ensure_loaded(self) -> list[Notice]:
        """Load the lessons and the progress file on first use; a damaged file is a notice."""
        if self.lessons is None:
            # Imported here, on the first lesson: the tutor's first screen needs no lesson
            # module, and start-up does not pay for them (docs/performance.md, "Fourth round").
            from .parser import load_lessons
            from .progress import load_progress

            self.lessons = load_lessons(validate=False)
            self.progress = load_progress()
            if self.progress.notice:
                return [Notice(self.progress.notice, "warning", 10)]
        return []

    def save(self) -> list[Notice]:
        """Write the progress file if it changed (a page turn or an answer that changes nothing
        writes nothing)."""
        from .progress import save_changed

        try:
            save_changed(self.progress)
        except OSError as exc:
            return [Notice(_("Could not save progress: {why}").format(why=exc.strerror or exc), "warning")]
        return []

    # --- moving between pages ------------------------------------------------------------
    def open(self, index: int, page: int | None, state: TutorState) -> list[Notice]:
        """Open lesson `index` (0-based) at `page`, or where the learner left off in it."""
        notices = self.ensure_loaded()
        if not 0 <= index < len(self.lessons):
            return notices + [Notice(_("There is no lesson {number}.").format(number=index + 1), "warning")]
        lesson = self.lessons[index]
        if page is None:
            page = self.progress.last_page if self.progress.last_lesson == lesson.id else 0
        if not self.active:
            self.before = _place(state)
        if self.index != index:
            self.met = set()
        self.index, self.page = index, max(0, min(page, len(lesson.pages) - 1))
        return notices + self.show_page(state)

    def show_page(self, state: TutorState) -> list[Notice]:
        """Put the tutor's state where the current page says, holding the answer back one step."""
        from .answers import QuestionSession  # before the state changes: a page is shown whole or not at all

        lesson, page = self.lesson, self.current_page
        try:
            config = page.config()
        except ConfigError as exc:
            return [Notice(str(exc), "error")]
        state.scenario = lesson.scenario.file
        state.overrides = lesson.scenario.overrides.merged(**dict(page.switches))
        state.set_config(config)
        state.view = page.view
        state.all_heads = False  # a page shows the head it names, not every head's A
        state.head = min(page.head_index, config.heads - 1)
        if page.word_index is not None:
            state.word = min(page.word_index, state.n - 1)
        answered = page.question is not None and self._answered(page.question)  # on an earlier visit
        index = page.step_index(config.heads)
        if page.question is not None and page.question.kind == "choice" and not answered:
            index = self._held(state, page.view, index)
        self._set_step(state, page.view, index)
        self.trace = state.trace
        self.session = QuestionSession(page.question, state.trace) if page.question else None
        self.given = {}
        self.feedback = []
        if answered:
            # A question answered before stays answered: its numbers show and ] goes on.
            self.session.solved = self.progress.score(page.question.id).correct
            worked = _("Worked answer: {answer}").format(answer=self.session.reveal())
            said = _("You answered this question right before.") if self.session.solved else \
                _("You saw this question's worked answer before.")
            self.feedback = [(WORKED_STYLE, f"{said} {worked}")]
        elif page.question is not None:
            self.met.add(self.page)
        state.concealed = self._hidden(state, own=page.question is not None and not answered)
        self.progress.set_position(lesson.id, self.page)
        return self.save()

    def turn(self, delta: int, state: TutorState) -> list[Notice]:
        """The next (delta 1) or previous (-1) page; past the last page the lesson is complete.
        Not on past an open question: the pages after it may show its answer (predict, then reveal).
        Its hints end in the worked answer, which lets the learner on."""
        if not self.active:
            return [Notice(_("No lesson open: press L to choose one."), timeout=4)]
        if delta > 0 and self.question_open:
            return [Notice(_("Answer the question on this page first; the next pages may show its answer. "
                             "Stuck? Press i for a hint: the last hint is the worked answer."), "warning")]
        lesson = self.lesson
        if self.page + delta >= len(lesson.pages):
            return self._finish(lesson, state)
        self.page = max(0, self.page + delta)
        return self.show_page(state)

    @property
    def holds_answers(self) -> bool:
        """Whether the open lesson has a question not yet answered (nor its worked answer shown):
        an export would hold its answer, a shape or a -inf as much as a number."""
        return self.active and (self.question_open or bool(self.open_questions(self.lesson)))

    def open_questions(self, lesson: Lesson) -> list[int]:
        """Pages (1-based) whose question was neither answered right nor given up on."""
        return [p.number for p in lesson.pages if p.question is not None and not self._answered(p.question)]

    def _answered(self, question) -> bool:
        """Whether progress holds `question` answered right or its worked answer shown."""
        score = self.progress.score(question.id)
        return score.correct or score.revealed

    def _finish(self, lesson: Lesson, state: TutorState) -> list[Notice]:
        """Past the last page: complete if every question was answered; either way the next
        place to resume is the next lesson (or nowhere after the last)."""
        self.index, self.session = None, None
        state.concealed = NOTHING
        self._give_back(state)
        unanswered = self.open_questions(lesson)
        following = next((x for x in self.lessons if x.number == lesson.number + 1), None)
        if unanswered:
            self.progress.set_position(lesson.id, unanswered[0] - 1)
        elif following is not None:
            self.progress.set_position(following.id, 0)
        else:
            self.progress.clear_position()
        if not unanswered:
            self.progress.mark_completed(lesson.id)
        notices = self.save()
        if unanswered:
            pages = ", ".join(str(p) for p in unanswered)
            text = ngettext("Lesson {number} is not complete yet: the question on page {pages} is still open. "
                            "Press L, then c, to go back to it.",
                            "Lesson {number} is not complete yet: the questions on pages {pages} are still open. "
                            "Press L, then c, to go back to them.", len(unanswered))
            return notices + [Notice(text.format(number=lesson.number, pages=pages), "warning", 10)]
        done = self.progress.count_completed([x.id for x in self.lessons])
        if following is None:
            text = _("Lesson {number} complete ({done} / {total}). That was the last lesson.")
        else:
            text = _("Lesson {number} complete ({done} / {total}). Press L for the next one.")
        return notices + [Notice(text.format(number=lesson.number, done=done, total=len(self.lessons)), timeout=8)]

    def leave(self, state: TutorState) -> None:
        """Close the lesson part-way; the progress file keeps this page as the place to resume.
        The learner's own scenario (their sentence, switches and edits) and place come back."""
        self.index, self.session = None, None
        state.concealed = NOTHING
        self.feedback = []
        self._give_back(state)

    def _give_back(self, state: TutorState) -> None:
        if self.before is not None:
            _restore(state, self.before)
            self.before = None

    def rendered(self, decimals: int) -> RenderedPage:
        """The current page with its numbers filled in from the page's trace."""
        from .answers import render_page

        return render_page(self.current_page, self.trace, decimals)

    def choice_count(self, decimals: int) -> int:
        """How many choices the open question offers (0 without a choice question)."""
        if self.session is None or self.session.question.kind != "choice":
            return 0
        question = self.rendered(decimals).question
        return len(question.choices) if question else 0

    # --- answering -----------------------------------------------------------------------
    def attempt(self, given, state: TutorState) -> list[Notice]:
        """Check an answer (a choice number or typed text) and record it."""
        session = self.session
        if session.solved:
            # A right answer stands: a later key press must not turn it into "Not quite".
            return [Notice(_("Already answered right. Press ] for the next page."), timeout=4)]
        typed = str(given).strip()
        repeated = typed in self.given
        verdict = self.given[typed] if repeated else session.attempt(given)
        if not verdict.valid:
            self.feedback.append(("yellow", verdict.explanation))
            return []
        notices: list[Notice] = []
        if not repeated:
            self.given[typed] = verdict
            self.progress.record_answer(session.question.id, verdict.correct)
            if self.on_answer is not None:
                self.on_answer(self, given, verdict.correct)
            notices = self.save()
        style = "bold green" if verdict.correct else "bold red"
        text = verdict.explanation
        openings = VERDICT_OPENINGS + tuple(_(word).lower() for word in TRANSLATED_OPENINGS)
        if not text.lower().startswith(openings):
            text = (_("Right. {explanation}") if verdict.correct else _("Not quite. {explanation}")).format(
                explanation=text)
        # A worked answer, once revealed, stays on the page.
        self.feedback = [f for f in self.feedback if f[0] == WORKED_STYLE] + [(style, text)]
        if verdict.correct or session.revealed:
            self._reveal_step(state)
        return notices

    def hint(self, state: TutorState) -> list[Notice]:
        """The next hint; after the last one, the worked answer (and the panes move on)."""
        session = self.session
        if session.hint() is not None:
            self.progress.record_hints(session.question.id, session.hints_used)
            return self.save()
        return self.reveal(state)

    def reveal(self, state: TutorState) -> list[Notice]:
        """The open question's worked answer, at once (after the last hint, or when the
        instructor reveals it to the room); nothing if it was already shown."""
        session = self.session
        if session is None or session.revealed:
            return []
        self.feedback.append((WORKED_STYLE, _("Worked answer: {answer}").format(answer=session.reveal())))
        self.progress.record_reveal(session.question.id)
        self._reveal_step(state)
        return self.save()

    @property
    def question_open(self) -> bool:
        """A question on the open page that was neither answered right nor given its worked answer."""
        return self.active and self.session is not None and not (self.session.solved or self.session.revealed)

    def gives_away(self, state: TutorState) -> bool:
        """Whether `state` shows more than an open choice question allows: the panes are held one
        step before its step, since that step (or a later one, or the same step in the other
        view) shows the answer: a shape in a title, a formula in the text. A numeric question
        conceals its numbers instead, on every step."""
        return self.holding_page(state) is not None

    def holding_page(self, state: TutorState) -> int | None:
        """The page (0-based) whose open choice question `state` would answer: this page's, or
        a later one the learner has met and come back from ([), which holds this page the same
        way in its own view; None if none does."""
        if not self.active:
            return None
        current = self.current_page
        asked = [self.page] if self.question_open and self.session.question.kind == "choice" else []
        asked += [index for index in sorted(self.met) if index > self.page
                  and self.lesson.pages[index].question.kind == "choice"
                  and not self._answered(self.lesson.pages[index].question)]
        for index in asked:
            page = self.lesson.pages[index]
            if state.view != page.view:
                if index == self.page or state.view != current.view:
                    return index
                continue  # this page's own view, which the later question is not asked in
            step = state.step if page.view == "walkthrough" else state.matrix_step
            if step > self._held(state, page.view, page.step_index(state.config.heads)):
                return index
        return None

    @staticmethod
    def _held(state: TutorState, view: str, index: int) -> int:
        """The step before `index` that computes something: a scale or mask step that is
        switched off only passes the scores on, and its switch is refused inside a lesson."""
        kinds = list(WORD_STEP_KINDS if view == "walkthrough" else matrix_step_kinds(state.config.heads))
        off = {"scale": state.config.scale == "none", "mask": state.config.mask == "none"}
        held = max(0, index - 1)
        while held > 0 and off.get(kinds[held], False):
            held -= 1
        return held

    def _hidden(self, state: TutorState, own: bool) -> Concealed:
        """What the page hides: its own question's answer (`own`: until answered), and the answer
        of every later question of the lesson not yet answered (in progress). A learner who met a
        question and went back a page ([) must not read its answer there, nor one who moves about
        the pages before it. A later page's question is read on this page's trace: its cells, at
        their places, and its facts (a later page with more weight on W asks the same argmax)."""
        from .giveaways import concealed

        page = self.current_page
        parts = [concealed(page.question, state.trace, state.head)] if own else []
        for later in self.lesson.pages[self.page + 1:]:
            q = later.question
            if q is None or self._answered(q):
                continue
            if q.kind == "numeric" and not self._same_answer(q, later, state):
                continue  # another scenario's number (lesson 8: W ten times larger): not on this page
            try:
                parts.append(concealed(q, state.trace, later.head_index, before=True))
            except (IndexError, ValueError, KeyError):  # a head or a tensor this page's scenario lacks
                continue
        return Concealed.union(parts)

    @staticmethod
    def _same_answer(question, page, state: TutorState) -> bool:
        """Whether `question`'s numeric answer on its own `page` is the number it names on the
        tutor's trace now, to the question's tolerance (or the screen's precision)."""
        from .refs import RefError, evaluate

        try:
            there, here = float(evaluate(question.answer, page.trace())), float(evaluate(question.answer, state.trace))
        except (RefError, ConfigError, IndexError, ValueError):
            return True  # cannot tell: hide it
        return abs(there - here) <= max(question.tolerance or 0.0, 0.5e-4)

    def _reveal_step(self, state: TutorState) -> None:
        state.concealed = self._hidden(state, own=False)
        page = self.current_page
        self._set_step(state, page.view, page.step_index(state.config.heads))

    @staticmethod
    def _set_step(state: TutorState, view: str, index: int) -> None:
        if view == "walkthrough":
            state.step = index
        else:
            state.matrix_step = index


def _place(state: TutorState) -> dict:
    """What a lesson replaces in the tutor's state: scenario, switches, edits and position."""
    return {"scenario": state.scenario, "overrides": state.overrides, "config": state.config,
            "edited": state.edited, "view": state.view, "word": state.word, "step": state.step,
            "matrix_step": state.matrix_step, "head": state.head, "all_heads": state.all_heads}


def _restore(state: TutorState, place: dict) -> None:
    state.scenario, state.overrides = place["scenario"], place["overrides"]
    state.set_config(place["config"])
    state.edited = place["edited"]
    state.view, state.all_heads = place["view"], place["all_heads"]
    state.word = min(place["word"], state.n - 1)
    state.head = min(place["head"], state.config.heads - 1)
    state.step, state.matrix_step = place["step"], min(place["matrix_step"], len(state.matrix_steps) - 1)
