"""Lessons in the app: the browser (L), the panel beside the live panes, and the reset confirmation.

The lesson content and its checking live in `tui_attention.lessons`; progress in
`tui_attention.lessons.progress`. This module only shows them and reports choices.
"""

from __future__ import annotations

from rich.console import Group
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_attention.i18n import _, ngettext
from tui_attention.lessons import Lesson, QuestionSession, RenderedPage
from tui_attention.lessons.progress import Progress
from tui_attention.tui.dismissed_once import DismissedOnce
from tui_attention.tui.layout import LESSON_PANEL_WIDTH
from tui_attention.tui.widgets.render import plain

CHECK = "✓"


class ConfirmScreen(DismissedOnce, ModalScreen[bool]):
    """A yes/no question: y or enter on Yes confirms; n, escape or ctrl+g cancels."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Static { width: 50; max-width: 95%; height: auto; border: round $error; background: $surface;
        padding: 1 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", _("Yes"), id="confirm.yes"),
        Binding("n,escape,ctrl+g", "answer(False)", _("No"), id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        # The keys stay y and n in every language.
        yield Static(Text.assemble(self.question, "\n\n", ("y", "bold"), " " + _("yes") + "    ", ("n", "bold"),
                                   " " + _("no")))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class QuitQuestion(ConfirmScreen):
    """Quit, losing edited cells? (A quit key pressed on this question quits.)"""

    BINDINGS = [Binding("q,ctrl+q", "answer(True)", _("Quit"), show=False, id="confirm.quit")]


class LessonBrowser(DismissedOnce, ModalScreen["tuple[int, int] | None"]):
    """Lists the lessons with a check mark for completed ones; returns (lesson index, page index)."""

    DEFAULT_CSS = """
    LessonBrowser { align: center middle; }
    LessonBrowser > Vertical { width: 76; max-width: 98%; height: auto; max-height: 96%; border: round $accent;
        background: $surface; padding: 0 1; }
    LessonBrowser #lesson-progress { height: auto; margin: 0 0 1 0; }
    /* min-width: Textual's OptionList wraps each option to measure it, and Rich's line breaker
       raises at a width of 0, which a terminal a few cells wide leaves it. */
    LessonBrowser OptionList { height: auto; max-height: 14; border: none; padding: 0; min-width: 8; }
    LessonBrowser #lesson-keys { height: auto; color: $text-muted; margin: 1 0 0 0; }
    """
    BINDINGS = [
        Binding("c", "resume", _("Continue where you left off"), id="lessons.resume"),
        Binding("r", "reset", _("Reset progress"), id="lessons.reset"),
        Binding("escape,L,q,ctrl+g", "close", _("Close"), id="lessons.close"),
    ]

    def __init__(self, lessons: list[Lesson], progress: Progress) -> None:
        super().__init__()
        self.lessons, self.progress = lessons, progress

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = plain(_("Lessons"))
            yield Static(id="lesson-progress")
            yield OptionList(id="lesson-list")
            yield Static(_("enter open · c continue where you left off · r reset progress · escape/L close"),
                         id="lesson-keys")

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one(OptionList).focus()

    def refresh_list(self) -> None:
        p = self.progress
        ids = [lesson.id for lesson in self.lessons]
        done = p.count_completed(ids)
        text = Text.assemble((_("Progress: {done} / {total} lessons completed").format(
            done=done, total=len(self.lessons)), "bold"))
        where = self._resume_position()
        if where is not None:
            lesson = self.lessons[where[0]]
            # Where c goes: the page last seen, or after a finished lesson the next one's first
            # page, which the learner has not seen ("you left off" there would be untrue).
            text.append("\n" + _("c continues at lesson {number}, page {page} of {pages}.").format(
                number=lesson.number, page=where[1] + 1, pages=len(lesson.pages)))
        if p.notice:
            text.append(f"\n{p.notice}", style="bold yellow")
        self.query_one("#lesson-progress", Static).update(text)
        options = self.query_one(OptionList)
        options.clear_options()
        for lesson in self.lessons:
            mark = CHECK if p.is_completed(lesson.id) else " "
            # "pages" in both forms keeps the English as it was; a catalogue gives each form its own.
            pages = ngettext("{count} pages", "{count} pages", len(lesson.pages)).format(count=len(lesson.pages))
            options.add_option(Option(f"{mark} {lesson.number:>2}. {lesson.title}  ({pages})", id=lesson.id))
        options.highlighted = where[0] if where is not None else 0

    def _resume_position(self) -> tuple[int, int] | None:
        for k, lesson in enumerate(self.lessons):
            if lesson.id == self.progress.last_lesson:
                return k, min(self.progress.last_page, len(lesson.pages) - 1)
        return None

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        k = event.option_index
        where = self._resume_position()
        page = where[1] if where is not None and where[0] == k else 0
        self.dismiss((k, page))

    def action_resume(self) -> None:
        where = self._resume_position()
        if where is None:
            self.notify(_("No lesson started yet: pick one with enter."), timeout=4, markup=False)
            return
        self.dismiss(where)

    def action_reset(self) -> None:
        def done(yes: bool | None) -> None:
            if yes:
                from tui_attention.lessons.progress import reset_progress

                fresh = reset_progress(self.progress.path)
                self.progress.completed[:] = fresh.completed
                self.progress.questions.clear()
                self.progress.last_lesson, self.progress.last_page = None, 0
                self.progress.notice = None
                self.refresh_list()
                self.notify(_("Progress reset."), timeout=4, markup=False)

        self.app.push_screen(ConfirmScreen(_("Reset all lesson progress and scores?")), done)

    def action_close(self) -> None:
        self.dismiss(None)


class LessonPanel(VerticalScroll, can_focus=False):
    """The lesson page beside the live panes, with its question, hints and feedback."""

    DEFAULT_CSS = f"""
    LessonPanel {{ width: {LESSON_PANEL_WIDTH}; border: round $success; padding: 0 1; scrollbar-size-vertical: 1; }}
    LessonPanel > Static {{ width: 1fr; }}
    """

    _page_shown: tuple[int, int] | None = None  # (lesson number, page index) last shown

    def compose(self) -> ComposeResult:
        yield Static(id="lesson-text")

    def show(self, lesson: Lesson, page_index: int, rendered: RenderedPage, session: QuestionSession | None,
             feedback: list[tuple[str, str]], led: bool = False) -> None:
        """led: a workshop's instructor turns the pages (the page keys are held)."""
        self.border_title = plain(_("Lesson {number}: {title}").format(number=lesson.number, title=lesson.title))
        where = _("page {page}/{pages}").format(page=page_index + 1, pages=len(lesson.pages))
        q = rendered.question
        if q is not None and session is not None and not (session.solved or session.revealed):
            # The question's keys, on the border: at 80x24 its "press a" line is often below the fold.
            how = _("1-{last}: choose").format(last=len(q.choices)) if q.choices else _("a: answer")
            # Once the hints are used up, i still shows the worked answer (the text says so too).
            how = (_("{how} · i: hint") if session.hints_left else _("{how} · i: worked answer")).format(how=how)
            where = _("{how} · {page}/{pages}").format(how=how, page=page_index + 1, pages=len(lesson.pages))
        self.border_subtitle = plain(where)
        parts: list = []
        if rendered.title:
            parts.append(Text(rendered.title, style="bold"))
        parts.append(Markdown(rendered.text))
        if q is not None and session is not None:
            parts.append(Text("\n" + _("Question"), style="bold underline"))
            parts.append(Markdown(q.prompt))
            if q.choices:
                # A hanging indent: a choice that wraps goes on under its own text, not its number.
                options = Table.grid()
                options.add_column(no_wrap=True)
                options.add_column()
                for k, choice in enumerate(q.choices, start=1):
                    options.add_row(f"  {k}  ", Text(choice))
                parts.append(options)
            # Only a numeric question has a tolerance, and only a choice question has choices.
            if q.choices:
                how = _("press 1-{last} to answer").format(last=len(q.choices))
            elif q.tolerance is not None:
                how = _("press a to type your answer (within ±{tolerance:g})").format(tolerance=q.tolerance)
            else:
                how = _("press a to type your answer")
            if not (session.solved or session.revealed):
                hint = (_("i: hint ({count} left)").format(count=session.hints_left) if session.hints_left
                        else _("i: show the worked answer"))
                parts.append(Text(f"{how} · {hint}", style="dim"))
            for k, text in enumerate(session.hints_shown(), start=1):
                label = Text(_("Hint {number}:").format(number=k) + " ", style="bold")
                parts.append(label.append(Text(text, style="")))
        for style, text in feedback:
            parts.append(Text(text, style=style))
        nav = _("] next page · [ previous · { } scroll · L lessons")
        if page_index == len(lesson.pages) - 1:
            nav = _("] finish the lesson · [ previous · { } scroll · L lessons")
        if led:
            nav = _("The instructor turns the pages · { } scroll")
        parts.append(Text(nav, style="dim"))
        self.query_one("#lesson-text", Static).update(Group(*parts))
        # A new page opens at its top; the same page drawn again (a refused ], new decimals)
        # stays where the learner was reading, the feedback just shown included.
        if (lesson.number, page_index) != self._page_shown:
            self._page_shown = (lesson.number, page_index)
            self.scroll_home(animate=False)
