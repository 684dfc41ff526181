"""The tutor's screen: the status line, the step-through and matrix views, the lesson panel,
and every tutor key (the table in `tui_attention.tui.bindings`).

Each key changes the tutor's state (`app.state`, a `TutorState`) or the lesson
controller (`app.lesson`), then `refresh_view` asks the visible view to show
it. The matrix view and the lesson panel are mounted on first use, so start-up
builds only what the first screen needs. Below MIN_WIDTH x MIN_HEIGHT only the
"please enlarge" message shows.
"""

from __future__ import annotations

import weakref

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Key, Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Static

from tui_attention.core.config import ConfigError
from tui_attention.core.editing import EDITABLE
from tui_attention.core.scenario import Overrides, build_config
from tui_attention.i18n import _, ngettext
from tui_attention.lessons.controller import Notice
from tui_attention.steps.labels import mask_word, scale_word, weights_word, step_counter, word_counter
from tui_attention.steps.notation import fmt
from tui_attention.steps.conceal import NOTHING
from tui_attention.steps.state import TutorState
from tui_attention.steps.step import WORD_STEP_KINDS
from tui_attention.tui import files
from tui_attention.tui.bindings import TUTOR_KEYS, bindings
from tui_attention.tui.compositor import RepaintsMoves
from tui_attention.tui.files import Ask
from tui_attention.tui.screens.walkthrough import WalkthroughView

MIN_WIDTH, MIN_HEIGHT = 60, 20


def status_line(state: TutorState, width: int = 200) -> str:
    """word · step · source · scale · mask · heads · weights · decimals, shortened to `width`:
    first "2 heads, #1" becomes "2h #1", then the decimals go, then a trained scenario's
    source becomes "reverse @400", then the tail is cut."""
    c = state.config
    if state.view == "walkthrough":
        step = step_counter(state.current)
    else:
        matrix = state.current_matrix
        step = _("matrix {step}/{steps}").format(step=matrix.index + 1, steps=matrix.total)
    if c.heads > 1:
        heads = ngettext("{heads} head, #{head}", "{heads} heads, #{head}", c.heads).format(
            heads=c.heads, head=state.head + 1)
        short_heads = f"{c.heads}h #{state.head + 1}"
    else:
        heads = short_heads = _("1 head")
    decimals = _("{decimals}dp").format(decimals=state.decimals)
    parts = [word_counter(state.word, state.n), step, state.source(), scale_word(c), mask_word(c), heads,
             weights_word(c), decimals]
    line = " " + " · ".join(parts)
    if len(line) > width:
        parts[5] = short_heads
        line = " " + " · ".join(parts)
    if len(line) > width:
        line = " " + " · ".join(parts[:-1])
    if len(line) > width:
        parts[2] = state.source(short=True)
        line = " " + " · ".join(parts[:-1])
    return line if len(line) <= width else line[: width - 1] + "…"


def _shown(state: TutorState) -> tuple:
    """What the views draw from: equal before and after a key means the key changed nothing."""
    return (state.view, state.word, state.step, state.matrix_step, state.head, state.all_heads, state.decimals,
            weakref.ref(state.trace), state.concealed, state.edited)  # the same trace, not an equal one


class TutorScreen(RepaintsMoves, Screen):
    """The main screen."""

    BINDINGS = bindings(TUTOR_KEYS)
    # Nothing takes the keys by itself: a grid is focused only when the learner asks (tab),
    # or coming back from a prompt would leave a grid holding escape, pgdn and ?.
    AUTO_FOCUS = ""

    class StateChanged(Message):
        """Posted after every change of word, step, view or switch (for tests and lessons)."""

        def __init__(self, snapshot: dict) -> None:
            super().__init__()
            self.snapshot = snapshot

    @property
    def state(self) -> TutorState:
        return self.app.state

    @property
    def lesson(self):
        return self.app.lesson

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal(id="body"):
            with ContentSwitcher(initial="walkthrough", id="views"):
                yield WalkthroughView(id="walkthrough")
        if self.app.is_web:  # in a browser tab there is no terminal to enlarge
            enlarge = _("Please make the window larger, or zoom out (ctrl and -), to at least {w}x{h} characters.\n"
                        "(q quits)")
        else:
            enlarge = _("Please enlarge the terminal to at least {w}x{h}.\n(q quits)")
        yield Static(enlarge.format(w=MIN_WIDTH, h=MIN_HEIGHT), id="enlarge")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        if self.app.start_lesson:
            self.open_lesson(self.app.start_lesson - 1, None)
        elif getattr(self.app, "start_learn", None):
            self.action_learn(self.app.start_learn)

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT, "-too-small")
        self.set_class(event.size.width < 120, "-narrow")
        self._fit_footer()
        # Panes fit their columns to their width: redraw them once the new layout is known.
        self.call_after_refresh(self.refresh_view)

    def _fit_footer(self) -> None:
        """The footer's "^p palette" shows where it leaves room for every key: below 80 columns
        it would be cut mid-word, and below 100 with a grid focused its "⏎ Edit cell" pushed
        "? Help" and "q Quit" past the edge (new-user audit). ctrl+p still works."""
        width = self.size.width or self.app.size.width
        # A focused widget that shows a key in the footer (a grid's "⏎ Edit cell"); by its
        # bindings, so that the matrix grid's module is not imported before the first screen.
        editing = self.focused is not None and any(b.show for b in self.focused._bindings.key_to_bindings
                                                   .get("enter", ()))
        self.query_one(Footer).show_command_palette = width >= (100 if editing else 80)

    def on_descendant_focus(self) -> None:
        self._fit_footer()

    def on_descendant_blur(self) -> None:
        self._fit_footer()

    # --- rendering -----------------------------------------------------------------------
    def refresh_view(self) -> None:
        width = self.size.width or self.app.size.width
        width -= len(lead := self.app.reporting.status_label())  # "" unless the instructor is leading
        status = Text(status_line(self.state, width))
        if self.app.served is not None and self.app.served.unconfined:
            # The instructor chose --unconfined: every attendee should know the tutor is not sandboxed.
            warning = _(" UNCONFINED server ·")
            status = Text.assemble((warning, "bold reverse"), status_line(self.state, width - len(warning)))
        # One line high (app.tcss): a new status never changes the layout.
        self.query_one("#status", Static).update(Text.assemble((lead, "bold reverse"), status), layout=False)
        switcher = self.query_one(ContentSwitcher)
        self.set_class(self.state.view == "matrix", "-matrix-view")  # where notices go (app.tcss)
        if self.state.view == "matrix":
            view = self._matrix_view()
            if not view.is_mounted:
                # First visit: the grids are composed after this mount; show once they exist.
                # (The app's after-refresh waits for the mount; the screen's would run at once, again.)
                # The lesson's page is shown now: its text must not wait for the grids.
                if self.lesson.active:
                    self._show_lesson_panel()
                self.app.call_after_refresh(self.refresh_view)
                return
            switcher.current = "matrix"
            view.show(self.state)
        else:
            switcher.current = "walkthrough"
            self.query_one(WalkthroughView).show(self.state)
        if self.lesson.active:
            self._show_lesson_panel()
        self.post_message(self.StateChanged(self.state.snapshot()))

    _matrix = None  # the matrix view, once mounted on first use

    def _matrix_view(self):
        # Held, not queried: a query walks every grid of the screen at each key.
        if self._matrix is None:
            from tui_attention.tui.screens.matrix import MatrixView

            self._matrix = MatrixView(id="matrix")
            self.query_one(ContentSwitcher).mount(self._matrix)
        return self._matrix

    def show_notices(self, notices: list[Notice]) -> None:
        for n in notices:
            self.notify(n.text, severity=n.severity, timeout=n.timeout, markup=False)

    def _announce(self, text: str) -> None:
        self.app.clear_notifications()  # one switch's notice at a time
        self.notify(text, timeout=2.5, markup=False)

    # --- navigation and switches -----------------------------------------------------------
    def _change(self, change, *args) -> None:
        state = self.state
        before, place = _shown(state), (state.view, state.step, state.matrix_step)
        try:
            change(*args)
        except ConfigError as exc:
            self.notify(str(exc), title=_("Not possible here"), severity="warning", timeout=8, markup=False)
            return
        holding = self.lesson.holding_page(state)  # the step (or view) an open choice question asks about
        if holding is not None:
            other_view = state.view != place[0]  # m or g would open the other view, not a later step
            state.view, state.step, state.matrix_step = place
            if holding == self.lesson.page and other_view:
                text = (_("The matrix view shows the answer: choose one first (its number), or press i for a hint.")
                        if place[0] == "walkthrough" else
                        _("The step-through shows the answer: choose one first (its number), or press i for a hint."))
            elif holding == self.lesson.page:
                text = _("The next step shows the answer: choose one first (its number), or press i for a hint.")
            else:
                text = _("That step shows the answer to the question on page {page}: answer it there first "
                         "(] goes back to it).").format(page=holding + 1)
            self.notify(text, title=_("Answer first"), severity="warning", timeout=6, markup=False)
            return
        if _shown(self.state) != before:  # an arrow held past the last step draws nothing
            self.refresh_view()

    def action_state(self, method: str, *args) -> None:
        """A key that only moves the tutor's state (the table names the TutorState method)."""
        self._change(getattr(self.state, method), *args)

    def action_toggle_view(self) -> None:
        self._change(self.state.toggle_view)
        if self.state.view == "walkthrough":
            self.set_focus(None)  # a hidden grid must not keep the keys (home, end, page keys)

    def _lesson_holds_the_numbers(self) -> bool:
        """A switch or an edit inside a lesson would contradict the page: refuse, say how to leave."""
        if not self.lesson.active:
            return False
        if self.app.reporting.holds("back", ()):  # escape is held too: the instructor leads the lesson
            how = _("This lesson page sets its own numbers, and the instructor is leading the lesson.")
        else:
            how = _("This lesson page sets its own numbers. Press escape to leave the lesson, then change them.")
        self.notify(how, title=_("The lesson sets the numbers"), severity="warning", timeout=6, markup=False)
        return True

    def action_cycle_head_shown(self) -> None:
        if self.state.config.heads == 1:
            # Inside a lesson H is refused (the page sets the numbers): not offered there.
            self._announce(_("This lesson page has one head.") if self.lesson.active else
                           _("There is one head. Press H for 2 or 4 heads, then t shows the next one."))
            return
        self._change(self.state.cycle_head_shown)

    def action_toggle_all_heads(self) -> None:
        if self.state.config.heads == 1:
            self._announce(_("This lesson page has one head: nothing to lay side by side.") if self.lesson.active
                           else _("There is one head: nothing to lay side by side. Press H for 2 or 4 heads."))
            return
        was = self.state.view
        self._change(self.state.toggle_all_heads)
        if self.state.all_heads:
            self._announce(_("Every head's A side by side, in the matrix view (g again: one head)")
                           if was != "matrix" else _("Every head's A side by side (g again: one head)"))

    def action_toggle_scale(self) -> None:
        if self._lesson_holds_the_numbers():
            return
        self._change(self.state.toggle_scale)
        self._announce(_("Scores: {scale}").format(scale=scale_word(self.state.config)))

    def action_toggle_mask(self) -> None:
        if self._lesson_holds_the_numbers():
            return
        self._change(self.state.toggle_mask)
        self._announce(_("Mask: {mask}").format(mask=mask_word(self.state.config)))

    def action_cycle_weight_scale(self) -> None:
        if self._lesson_holds_the_numbers():
            return
        self._change(self.state.cycle_weight_scale)
        s = self.state
        largest = s.trace.heads[s.head].weights[s.word].max()
        self._announce(_("W_q, W_k, W_v: {weights}. Largest attention weight of word {word}: {weight}").format(
            weights=weights_word(s.config), word=s.word + 1, weight=fmt(largest, s.decimals)))

    def action_cycle_heads(self) -> None:
        if self._lesson_holds_the_numbers():
            return
        before = self.state.config.heads
        self._change(self.state.cycle_heads)
        heads = self.state.config.heads
        if heads != before and heads > 1 and before == 1:
            others = _("head 2 has its own") if heads == 2 else _("heads 2-{heads} have their own").format(heads=heads)
            self._announce(_("{heads} heads, the same inputs X: head 1 is the head you had; {others} seeded "
                             "W_q, W_k, W_v. t shows the next head.").format(heads=heads, others=others))

    def action_scroll_page(self, direction: int) -> None:
        if self.state.view == "walkthrough":
            from tui_attention.tui.widgets.narration import NarrationPane

            self.query_one(NarrationPane).page(direction)
        else:
            self._matrix_view().page(direction)

    def action_default_scenario(self) -> None:
        if self._lesson_holds_the_numbers():
            return
        def back() -> None:
            self.state.scenario = None
            self.state.overrides = Overrides()
            self.state.set_config(build_config(None))

        def go() -> None:
            self._change(back)
            self._announce(_("Back to the notebook's scenario."))

        count = len(self.state.edited)
        self._unless_edits_are_kept(go, ngettext(
            "Go back to the notebook's scenario? Your {count} edited cell will be lost (ctrl+s saves it).",
            "Go back to the notebook's scenario? Your {count} edited cells will be lost (ctrl+s saves them).",
            count).format(count=count))

    def _unless_edits_are_kept(self, go, question: str) -> None:
        """go() now when no cell is edited; else after a yes to `question`: edited cells exist
        nowhere else until saved (ctrl+s), and a new scenario replaces them."""
        if not self.state.edited:
            go()
            return
        from tui_attention.tui.screens.lessons import ConfirmScreen

        self.app.push_screen(ConfirmScreen(question), lambda yes: go() if yes else None)

    def action_back(self) -> None:
        """escape: a focused matrix grid lets go of the keys; else an open lesson is left
        (progress keeps its page, so L and c come back to it)."""
        if self.focused is not None:
            self.set_focus(None)
        elif self.lesson.active:
            self.lesson.leave(self.state)
            self.remove_class("-lesson")
            self.notify(_("Left the lesson; your own numbers are back. L and then c come back to this page."),
                        timeout=4, markup=False)
            self.refresh_view()

    # --- editing, saving, exporting ---------------------------------------------------------
    def action_edit_scenario(self) -> None:
        if self._lesson_holds_the_numbers():
            return
        from tui_attention.tui.screens.forms import ScenarioForm

        def done(overrides) -> None:
            if overrides is not None:
                def apply() -> None:
                    self.state.scenario = None
                    self.state.overrides = overrides
                    self.state.set_config(build_config(None, overrides))

                count = len(self.state.edited)
                self._unless_edits_are_kept(lambda: self._change(apply), ngettext(
                    "Make this sentence's scenario? Your {count} edited cell will be lost (ctrl+s saves it).",
                    "Make this sentence's scenario? Your {count} edited cells will be lost (ctrl+s saves them).",
                    count).format(count=count))

        c = self.state.config
        self.app.push_screen(ScenarioForm(c, c.scale, c.mask), done)

    def ask(self, ask: Ask) -> None:
        """Show a typed-input flow; on OK, run it, show its notices and redraw."""
        from tui_attention.tui.screens.forms import PromptScreen

        from tui_attention.tui.screens.lessons import ConfirmScreen

        def run(text: str) -> None:
            notices = ask.submit(text)
            failed = next((n for n in notices if n.severity == "error"), None)
            if failed is not None:
                # Back with the name typed and why under it: the keys typed next (a corrected
                # name) must reach the field, not the tutor, where n, s, e or enter act.
                self.app.push_screen(PromptScreen(ask.title, text, ask.validate, ask.explain, failed.text,
                                                  low=ask.low), done)
                return
            self.show_notices(notices)
            self.refresh_view()

        def done(text: str | None) -> None:
            if text is None:
                return
            question = ask.confirm(text)
            if question is None:
                run(text)
            else:
                self.app.push_screen(ConfirmScreen(question), lambda yes: run(text) if yes else None)

        self.app.push_screen(PromptScreen(ask.title, ask.value, ask.validate, ask.explain, low=ask.low), done)

    def prompt_cell_edit(self, matrix: str, row: int, col: int, value: float) -> None:
        """Ask for a new value of one input cell (from the matrix view's enter)."""
        if matrix in EDITABLE and not self._lesson_holds_the_numbers():
            self.ask(files.edit_cell(self.state, matrix, row, col, value))

    def action_save(self) -> None:
        self.ask(files.save(self.state, self.app.destination))

    def action_export(self) -> None:
        if self.state.concealed != NOTHING or self.lesson.holds_answers:
            # The file would hold what the lesson's open questions ask (a choice's shape too).
            self.notify(_("Answer this lesson's open questions (or show their worked answers) first: the export "
                          "would give them away."),
                        title=_("Not yet"), severity="warning", timeout=6, markup=False)
            return
        self.ask(files.export(self.state, self.app.destination))

    _learned = None  # the learn view's last run (a LearnSession), taken up again on the same scenario

    def action_learn(self, task: str | None = None) -> None:
        """T: the learn view on this scenario, where its last run on it left off (or on `task`
        from step 0, when it names another); "use these weights" comes back with the trained
        scenario's file, loaded like --scenario FILE, at word 1's softmax."""
        if self._lesson_holds_the_numbers():
            return
        from tui_attention.tui.screens.learn import LearnScreen

        kept = self._learned
        if kept is None or not kept.config.same_as(self.state.config) or task not in (None, kept.task):
            kept = None

        def use(path) -> None:
            self._learned = screen.session
            if path is None:
                return
            self.state.scenario, self.state.overrides = path, Overrides()
            self.state.set_config(build_config(path))
            self.state.view, self.state.word, self.state.step = "walkthrough", 0, WORD_STEP_KINDS.index("softmax")
            self.refresh_view()
            self._announce(_("Now using the trained weights ({source}). Every step works as before; ctrl+s "
                             "saves them.").format(source=self.state.source()))

        try:
            screen = LearnScreen(self.state.config, task or "reverse", session=kept)
            self.app.push_screen(screen, use)
        except ConfigError as exc:
            self.notify(str(exc), title=_("Not possible here"), severity="warning", timeout=8, markup=False)

    # --- lessons ----------------------------------------------------------------------------
    def action_lessons(self) -> None:
        from tui_attention.tui.screens.lessons import LessonBrowser

        self.show_notices(self.lesson.ensure_loaded())

        def done(where) -> None:
            if where is not None:
                self.open_lesson(*where)

        self.app.push_screen(LessonBrowser(self.lesson.lessons, self.lesson.progress), done)

    def open_lesson(self, index: int, page: int | None) -> None:
        """Open lesson `index` (0-based) at `page`, or where the learner left off in it."""
        notices = self.lesson.open(index, page, self.state)
        self.show_notices(notices)
        if not self.lesson.active:
            return
        self.add_class("-lesson")
        if self._lesson_panel is None:
            # Mounted on first use: start-up does not pay for Markdown rendering.
            from tui_attention.tui.screens.lessons import LessonPanel

            self._lesson_panel = LessonPanel(id="lesson-panel")
            self.query_one("#body").mount(self._lesson_panel, before=0)
            self.app.call_after_refresh(self.refresh_view)
            return
        self._lesson_panel._page_shown = None  # opened again: at the top of its page
        self.refresh_view()

    _lesson_panel = None  # the lesson panel, once mounted on first use (held: a query walks every grid)

    def _show_lesson_panel(self) -> None:
        lm, panel = self.lesson, self._lesson_panel
        if lm.trace is None or panel is None or not lm.active:
            return
        if not panel.query("#lesson-text"):
            # Its text is composed after the panel mounts, later on a loaded machine: try again
            # after the next refresh rather than leave the page blank until a key.
            self.app.call_after_refresh(self._show_lesson_panel)
            return
        panel.show(lm.lesson, lm.page, lm.rendered(self.state.decimals), lm.session, lm.feedback,
                   led=self.app.reporting.holds("page", ()))

    def action_page(self, delta: int) -> None:
        self.app.clear_notifications()  # a notice about the last page must not cover the next one
        self.show_notices(self.lesson.turn(delta, self.state))
        if not self.lesson.active:
            self.remove_class("-lesson")
        self.refresh_view()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.has_class("-too-small") and action != "quit":
            return False  # only the enlarge message shows: a key must not change what nobody sees
        if self.app.reporting.holds(action, parameters):
            return False  # the instructor is leading; the status line says how to leave
        if action in ("choose", "answer", "hint"):
            session = self.lesson.session if self.lesson.active else None
            if session is None:
                return False
            if action == "choose":
                return int(parameters[0]) <= self.lesson.choice_count(self.state.decimals)
            if action == "answer":
                return session.question.kind == "numeric"
        return True

    def on_key(self, event: Key) -> None:
        """A digit past the open question's choices reaches here (its binding is off): say so,
        rather than nothing."""
        count = self.lesson.choice_count(self.state.decimals) if self.lesson.active else 0
        if count and event.character is not None and event.character in "123456789" and int(event.character) > count:
            event.stop()
            self.notify(_("This question has {count} choices: press 1 to {count}.").format(count=count),
                        timeout=3, markup=False)

    def action_choose(self, k: int) -> None:
        self._attempt(k)

    def action_answer(self) -> None:
        self.ask(files.answer(self._typed_answer))

    def _typed_answer(self, text: str) -> list[Notice]:
        notices = self.lesson.attempt(text, self.state)
        self._scroll_lesson_to_end()
        return notices

    def _attempt(self, given) -> None:
        self.show_notices(self.lesson.attempt(given, self.state))
        self.refresh_view()
        self._scroll_lesson_to_end()

    def action_hint(self) -> None:
        self.show_notices(self.lesson.hint(self.state))
        self.refresh_view()
        self._scroll_lesson_to_end()

    def _scroll_lesson_to_end(self) -> None:
        if (panel := self._lesson_panel) is not None:
            self.call_after_refresh(lambda: panel.scroll_end(animate=False))

    def action_scroll_lesson(self, direction: int) -> None:
        if (panel := self._lesson_panel) is not None and self.lesson.active:
            panel.scroll_relative(y=direction * max(1, panel.size.height - 2), animate=False)
