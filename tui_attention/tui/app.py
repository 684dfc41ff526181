"""The Textual App: global bindings, the command palette, and the tutor state.

Views render `TutorState`; every key changes the state and then asks the
visible view to show it. The matrix view is mounted the first time `m` is
pressed, so start-up builds only what the first screen needs.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterable

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Static

from tui_attention.core import ConfigError, Overrides, build_config
from tui_attention.core.editing import EDITABLE
from tui_attention.core.numbers import fmt
from tui_attention.tui.state import TutorState

MIN_WIDTH, MIN_HEIGHT = 60, 20
DEFAULT_THEME = "textual-dark"


def B(keys: str, action: str, description: str, id: str, show: bool = True, tooltip: str = "") -> Binding:
    return Binding(keys, action, description, show=show, id=id, tooltip=tooltip or description)


def _writable_file(text: str) -> str | None:
    path = Path(text.strip()).expanduser()
    if not text.strip():
        return "give a file name"
    if path.is_dir():
        return f"{text} is a folder"
    if not path.parent.exists():
        return f"folder {path.parent} does not exist"
    return None


def _writable_export(text: str) -> str | None:
    path = Path(text.strip()).expanduser()
    if not text.strip():
        return "give a file or folder name"
    if path.suffix in (".npz", ".md", ".py"):
        return _writable_file(text)
    if path.exists() and not path.is_dir():
        return f"{text} exists and is not a folder (CSV export writes a folder)"
    return None if path.parent.exists() else f"folder {path.parent} does not exist"


class LessonMode:
    """Which lesson page is open, its question session, and the learner's progress (loaded on first use)."""

    def __init__(self) -> None:
        self.lessons: list | None = None
        self.progress = None
        self.index: int | None = None
        self.page = 0
        self.session = None
        self.trace = None
        self.feedback: list[tuple[str, str]] = []

    @property
    def active(self) -> bool:
        return self.index is not None

    def ensure_loaded(self) -> None:
        if self.lessons is None:
            from tui_attention.lessons import load_lessons
            from tui_attention.progress import load_progress

            self.lessons = load_lessons(validate=False)
            self.progress = load_progress()

    def rendered_choices(self, decimals: int) -> tuple[str, ...]:
        from tui_attention.lessons import render_page

        page = self.lessons[self.index].pages[self.page]
        rendered = render_page(page, self.trace, decimals)
        return rendered.question.choices if rendered.question else ()

    def save(self, app) -> None:
        from tui_attention.progress import save_progress

        try:
            save_progress(self.progress)
        except OSError as exc:
            app.notify(f"Could not save progress: {exc.strerror or exc}", severity="warning", timeout=6)


class TutorScreen(Screen):
    """The main screen; below MIN_WIDTH x MIN_HEIGHT it shows only the "please enlarge" message."""

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT, "-too-small")
        self.set_class(event.size.width < 120, "-narrow")
        # Panes fit their columns to their width: redraw them once the new layout is known.
        self.call_after_refresh(self.app.refresh_view)


class AttentionApp(App[int]):
    """tui-attention: step through self-attention, one number at a time."""

    CSS_PATH = "app.tcss"
    TITLE = "tui-attention"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        B("n,right,l", "next_step", "Next", "tutor.next_step"),
        B("p,left,h", "prev_step", "Prev", "tutor.prev_step"),
        B("home", "first_step", "First step", "tutor.first_step", show=False),
        B("end", "last_step", "Last step", "tutor.last_step", show=False),
        B("j,down", "next_word", "Next word", "tutor.next_word"),
        B("k,up", "prev_word", "Prev word", "tutor.prev_word", show=False),
        B("m", "toggle_view", "Matrix", "tutor.toggle_view"),
        B("s", "toggle_scale", "Scale", "tutor.toggle_scale", show=False),
        B("c", "toggle_mask", "Mask", "tutor.toggle_mask", show=False),
        B("w", "cycle_weight_scale", "Weights x", "tutor.cycle_weight_scale", show=False),
        B("H", "cycle_heads", "Heads 1/2/4", "tutor.cycle_heads", show=False),
        B("t", "cycle_head_shown", "Next head shown", "tutor.cycle_head_shown", show=False),
        B("g", "toggle_all_heads", "All heads' A side by side", "tutor.toggle_all_heads", show=False),
        B("plus,equals_sign", "decimals(1)", "More decimals", "tutor.more_decimals", show=False),
        B("minus", "decimals(-1)", "Fewer decimals", "tutor.fewer_decimals", show=False),
        B("pagedown", "scroll_page(1)", "Scroll down", "tutor.page_down", show=False),
        B("pageup", "scroll_page(-1)", "Scroll up", "tutor.page_up", show=False),
        B("e", "edit_scenario", "Your sentence", "tutor.edit_scenario", show=False),
        B("0", "default_scenario", "Back to the notebook scenario", "tutor.default_scenario", show=False),
        B("ctrl+s", "save", "Save scenario", "tutor.save", show=False),
        B("x", "export", "Export", "tutor.export", show=False),
        B("L", "lessons", "Lessons", "tutor.lessons"),
        B("right_square_bracket", "page(1)", "Next lesson page", "lesson.next_page", show=False),
        B("right_curly_bracket", "scroll_lesson(1)", "Scroll the lesson down", "lesson.scroll_down", show=False),
        B("left_curly_bracket", "scroll_lesson(-1)", "Scroll the lesson up", "lesson.scroll_up", show=False),
        B("left_square_bracket", "page(-1)", "Previous lesson page", "lesson.prev_page", show=False),
        *[B(str(k), f"choose({k})", f"Answer choice {k}", f"lesson.choose_{k}", show=False) for k in range(1, 10)],
        B("a", "answer", "Type an answer", "lesson.answer", show=False),
        B("i", "hint", "Hint, then the worked answer", "lesson.hint", show=False),
        B("escape,period", "unfocus", "Leave the matrix", "tutor.unfocus", show=False),
        B("question_mark,f1", "help", "Help", "tutor.help"),
        B("q", "quit", "Quit", "tutor.quit"),
    ]

    class StateChanged(Message):
        """Posted after every change of word, step, view or switch (for tests and lessons)."""

        def __init__(self, snapshot: dict) -> None:
            super().__init__()
            self.snapshot = snapshot

    def __init__(self, state: TutorState | None = None, theme: str | None = None, *, scenario: Path | None = None) -> None:
        super().__init__()
        # Set explicitly so that TEXTUAL_THEME cannot change what a learner (or a snapshot) sees.
        self.theme = theme or DEFAULT_THEME
        self.state = state or TutorState(scenario=scenario)
        self.all_heads = False
        self.start_lesson: int | None = None  # 1-based, from --lesson
        self.lesson = LessonMode()

    @property
    def BINDINGS_FOR_HELP(self) -> list[Binding]:
        palette = Binding("ctrl+p", "command_palette", "Command palette (every action)", id="app.command_palette")
        return [b for b in self.BINDINGS if isinstance(b, Binding)] + [palette]

    # --- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        from tui_attention.tui.screens.walkthrough import WalkthroughView

        yield Static(id="status")
        with Horizontal(id="body"):
            with ContentSwitcher(initial="walkthrough", id="views"):
                yield WalkthroughView(id="walkthrough")
        yield Static(
            f"Please enlarge the terminal to at least {MIN_WIDTH}x{MIN_HEIGHT}.\n(q quits)", id="enlarge"
        )
        yield Footer()

    def on_mount(self) -> None:
        from tui_attention.tui.keymap import load_keymap

        keymap, notice = load_keymap({b.id for b in self.BINDINGS})
        if keymap:
            self.set_keymap(keymap)
        if notice:
            self.notify(notice, severity="warning", timeout=10)
        self.refresh_view()
        if self.start_lesson:
            self.open_lesson(self.start_lesson - 1, None)

    def get_default_screen(self) -> Screen:
        return TutorScreen(id="_default")

    # --- rendering -----------------------------------------------------------------------
    def status_line(self) -> str:
        s, c = self.state, self.state.config
        word = f"word {s.word + 1}/{s.n}"
        step = s.current.counter if s.view == "walkthrough" else s.current_matrix.counter.replace("step", "matrix")
        heads = f"{c.heads} head" + (f"s, #{s.head + 1}" if c.heads > 1 else "")
        scale = "÷√d_k" if c.scale == "sqrt_dk" else "unscaled"
        mask = "causal" if c.mask == "causal" else "no mask"
        return (f" {word} · {step} · {s.source()} · {scale} · {mask} · {heads} · "
                f"Wx{c.weight_scale:g} · {s.decimals}dp")

    def refresh_view(self) -> None:
        self.query_one("#status", Static).update(self.status_line())
        switcher = self.query_one(ContentSwitcher)
        if self.state.view == "matrix":
            view = self._matrix_view()
            if not view.is_mounted:
                # First visit: the grids are composed after this mount; show once they exist.
                self.call_after_refresh(self.refresh_view)
                return
            switcher.current = "matrix"
            view.show(self.state, self.all_heads)
        else:
            switcher.current = "walkthrough"
            from tui_attention.tui.screens.walkthrough import WalkthroughView

            self.query_one(WalkthroughView).show(self.state)
        if self.lesson.active:
            self._show_lesson_panel()
        self.post_message(self.StateChanged(self.state.snapshot()))

    def _matrix_view(self):
        from tui_attention.tui.screens.matrix import MatrixView

        found = self.query(MatrixView)
        if found:
            return found.first()
        view = MatrixView(id="matrix")
        self.query_one(ContentSwitcher).mount(view)
        return view

    # --- actions -----------------------------------------------------------------------------
    def _change(self, change, *args) -> None:
        try:
            change(*args)
        except ConfigError as exc:
            self.notify(str(exc), title="Not possible here", severity="warning", timeout=8)
            return
        self.refresh_view()

    def action_next_step(self) -> None:
        self._change(self.state.move_step, 1)

    def action_prev_step(self) -> None:
        self._change(self.state.move_step, -1)

    def action_first_step(self) -> None:
        self._change(self.state.first_step)

    def action_last_step(self) -> None:
        self._change(self.state.last_step)

    def action_next_word(self) -> None:
        self._change(self.state.move_word, 1)

    def action_prev_word(self) -> None:
        self._change(self.state.move_word, -1)

    def action_toggle_view(self) -> None:
        self._change(self.state.toggle_view)
        if self.state.view == "walkthrough":
            self.set_focus(None)  # a hidden grid must not keep the keys (home, end, page keys)

    def action_toggle_scale(self) -> None:
        self._change(self.state.toggle_scale)
        self._announce(f"Scaling: {self.state.config.scale}")

    def action_toggle_mask(self) -> None:
        self._change(self.state.toggle_mask)
        self._announce(f"Mask: {self.state.config.mask}")

    def action_cycle_weight_scale(self) -> None:
        self._change(self.state.cycle_weight_scale)
        a = self.state.trace.heads[self.state.head].weights[self.state.word]
        self._announce(f"Weight scale x{self.state.config.weight_scale:g}: largest weight of word "
                       f"{self.state.word + 1} is now {fmt(a.max(), self.state.decimals)}")

    def action_cycle_heads(self) -> None:
        before = self.state.config.heads
        self._change(self.state.cycle_heads)
        if self.state.config.heads != before and self.state.config.heads > 1 and before == 1:
            self._announce(f"{self.state.config.heads} heads: each head has its own W_q, W_k, W_v "
                           "(seeded; a fresh scenario like `trace --heads`).")

    def action_cycle_head_shown(self) -> None:
        self._change(self.state.cycle_head_shown)

    def action_toggle_all_heads(self) -> None:
        self.all_heads = not self.all_heads
        if self.state.view != "matrix":
            self.state.view = "matrix"
        self.refresh_view()

    def action_decimals(self, delta: int) -> None:
        self._change(self.state.change_decimals, delta)

    def action_scroll_page(self, direction: int) -> None:
        if self.state.view == "walkthrough":
            from tui_attention.tui.widgets.narration import NarrationPane

            pane = self.query_one(NarrationPane)
            pane.scroll_relative(y=direction * max(1, pane.size.height - 1), animate=False)
        else:
            self._matrix_view().page(direction)

    def action_default_scenario(self) -> None:
        def back() -> None:
            self.state.scenario = None
            self.state.overrides = Overrides()
            self.state.set_config(build_config(None))

        self._change(back)
        self._announce("Back to the notebook's scenario.")

    def action_unfocus(self) -> None:
        self.set_focus(None)

    def action_edit_scenario(self) -> None:
        from tui_attention.tui.screens.edit import ScenarioForm

        def done(overrides) -> None:
            if overrides is not None:
                def apply() -> None:
                    self.state.scenario = None
                    self.state.overrides = overrides
                    self.state.set_config(build_config(None, overrides))
                    self.state.word = min(self.state.word, self.state.n - 1)

                self._change(apply)

        c = self.state.config
        self.push_screen(ScenarioForm(c, c.scale, c.mask), done)

    def prompt_cell_edit(self, matrix: str, row: int, col: int, value: float) -> None:
        """Ask for a new value of one input cell (from the matrix view's enter)."""
        from tui_attention.tui.screens.edit import PromptScreen, parse_number

        if matrix not in EDITABLE:
            return

        def done(text: str | None) -> None:
            if text is not None:
                self._change(self.state.edit_cell, matrix, row, col, parse_number(text)[0])

        head = f" (head {self.state.head + 1})" if matrix.startswith("W") and self.state.config.heads > 1 else ""
        self.push_screen(PromptScreen(
            f"New value for {matrix}[{row + 1},{col + 1}]{head}", fmt(value, self.state.decimals),
            lambda t: parse_number(t)[1],
            "Everything downstream is recomputed in both views; the cell stays marked with *."), done)

    def action_save(self) -> None:
        from tui_attention.core.scenario import save_scenario
        from tui_attention.tui.screens.edit import PromptScreen

        def done(text: str | None) -> None:
            if text is None:
                return
            try:
                save_scenario(self.state.config, Path(text).expanduser(),
                              header="# Saved by tui-attention; load with: tui-attention --scenario FILE\n")
            except OSError as exc:
                self.notify(f"Could not save {text}: {exc.strerror or exc}", severity="error", timeout=8)
                return
            self.notify(f"Saved {text}. Load it again with: tui-attention --scenario {text}", timeout=8)

        self.push_screen(PromptScreen("Save the scenario as TOML", "scenario.toml", _writable_file,
                                      "The same schema as the files in --scenario; edited cells are kept."), done)

    def action_export(self) -> None:
        from tui_attention.tui.screens.edit import PromptScreen

        def done(text: str | None) -> None:
            if text is None:
                return
            from tui_attention.exporting import export_trace

            path = Path(text).expanduser()
            kind = path.suffix.lstrip(".") if path.suffix in (".npz", ".md", ".py") else "csv"
            try:
                written = export_trace(self.state.trace, kind, path)
            except (OSError, ConfigError, ValueError) as exc:
                self.notify(f"Could not export: {exc}", severity="error", timeout=8)
                return
            self.notify(f"Exported {kind} to {written}", timeout=8)

        self.push_screen(PromptScreen("Export what you see", "attention.md", _writable_export,
                                      "Name ending in .npz, .md or .py, or a folder name for CSV files."), done)

    def action_help(self) -> None:
        from tui_attention.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def _announce(self, text: str) -> None:
        self.notify(text, timeout=2.5)

    # --- lessons ------------------------------------------------------------------------------
    def action_lessons(self) -> None:
        from tui_attention.tui.screens.lessons import LessonBrowser

        lm = self.lesson
        lm.ensure_loaded()
        if lm.progress.notice:
            self.notify(lm.progress.notice, severity="warning", timeout=10)

        def done(where) -> None:
            if where is not None:
                self.open_lesson(*where)

        self.push_screen(LessonBrowser(lm.lessons, lm.progress), done)

    def open_lesson(self, index: int, page: int | None) -> None:
        """Open lesson `index` (0-based) at `page`, or where the learner left off in it."""
        lm = self.lesson
        lm.ensure_loaded()
        if not 0 <= index < len(lm.lessons):
            self.notify(f"There is no lesson {index + 1}.", severity="warning")
            return
        lesson = lm.lessons[index]
        if page is None:
            page = lm.progress.last_page if lm.progress.last_lesson == lesson.id else 0
        lm.index, lm.page = index, max(0, min(page, len(lesson.pages) - 1))
        self.screen.add_class("-lesson")
        if not self.query("#lesson-panel"):
            # Mounted on first use: start-up does not pay for Markdown rendering.
            from tui_attention.tui.screens.lessons import LessonPanel

            self.query_one("#body").mount(LessonPanel(id="lesson-panel"), before=0)
            self.call_after_refresh(self._go_to_page)
            return
        self._go_to_page()

    def _go_to_page(self) -> None:
        from tui_attention.lessons import QuestionSession

        lm, st = self.lesson, self.state
        lesson = lm.lessons[lm.index]
        page = lesson.pages[lm.page]
        try:
            config = page.config()
        except ConfigError as exc:
            self.notify(str(exc), severity="error")
            return
        st.scenario = lesson.scenario.file
        st.overrides = lesson.scenario.overrides.merged(**dict(page.switches))
        st.set_config(config)
        st.view = page.view
        st.head = min(page.head_index, config.heads - 1)
        if page.word_index is not None:
            st.word = min(page.word_index, st.n - 1)
        # Predict, then reveal: while its question is open, the page shows the step before its answer.
        held = 1 if page.question is not None else 0
        if page.view == "walkthrough":
            st.step = max(0, page.step_index(config.heads) - held)
        else:
            st.matrix_step = max(0, page.step_index(config.heads) - held)
        lm.trace = st.trace
        lm.session = QuestionSession(page.question, st.trace) if page.question else None
        lm.feedback = []
        lm.progress.set_position(lesson.id, lm.page)
        lm.save(self)
        self.refresh_view()

    def _show_lesson_panel(self) -> None:
        from tui_attention.lessons import render_page
        from tui_attention.tui.screens.lessons import LessonPanel

        lm = self.lesson
        if lm.trace is None or not self.query("#lesson-panel"):
            return  # the panel is still being mounted; _go_to_page shows it
        lesson = lm.lessons[lm.index]
        rendered = render_page(lesson.pages[lm.page], lm.trace, self.state.decimals)
        self.query_one(LessonPanel).show(lesson, lm.page, rendered, lm.session, lm.feedback)

    def action_page(self, delta: int) -> None:
        lm = self.lesson
        if not lm.active:
            self.notify("No lesson open: press L to choose one.", timeout=4)
            return
        lesson = lm.lessons[lm.index]
        if lm.page + delta >= len(lesson.pages):
            lm.progress.mark_completed(lesson.id)
            lm.save(self)
            lm.index = None
            self.screen.remove_class("-lesson")
            done = lm.progress.count_completed([x.id for x in lm.lessons])
            self.notify(f"Lesson {lesson.number} complete ({done} / {len(lm.lessons)}). Press L for the next one.",
                        timeout=8)
            self.refresh_view()
            return
        lm.page = max(0, lm.page + delta)
        self._go_to_page()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("choose", "answer", "hint"):
            session = self.lesson.session if self.lesson.active else None
            if session is None:
                return False
            if action == "choose":
                return session.question.kind == "choice" and int(parameters[0]) <= len(
                    self.lesson.rendered_choices(self.state.decimals))
            if action == "answer":
                return session.question.kind == "numeric"
        return True

    def action_choose(self, k: int) -> None:
        self._attempt(k)

    def action_answer(self) -> None:
        from tui_attention.lessons import parse_number
        from tui_attention.tui.screens.edit import PromptScreen

        def valid(text: str) -> str | None:
            try:
                parse_number(text)
            except ValueError as exc:
                return str(exc) or "not a number"
            return None

        def done(text: str | None) -> None:
            if text is not None:
                self._attempt(text)

        self.push_screen(PromptScreen("Your answer", "", valid, "A number, e.g. -0.03. Enter checks it."), done)

    def _attempt(self, given) -> None:
        lm = self.lesson
        session = lm.session
        verdict = session.attempt(given)
        if not verdict.valid:
            lm.feedback.append(("yellow", verdict.explanation))
        else:
            lm.progress.record_answer(session.question.id, verdict.correct)
            lm.save(self)
            style = "bold green" if verdict.correct else "bold red"
            head = "Right. " if verdict.correct else "Not quite. "
            text = verdict.explanation
            if not text.lower().startswith(("right", "not quite", "wrong")):
                text = head + text
            # A worked answer, once revealed, stays on the page.
            lm.feedback = [f for f in lm.feedback if f[1].startswith("Worked answer:")] + [(style, text)]
            if verdict.correct or session.revealed:
                self._reveal_page_step()
        self.refresh_view()
        self._scroll_lesson_to_end()

    def action_hint(self) -> None:
        lm = self.lesson
        session = lm.session
        if session.hint() is not None:
            lm.progress.record_hints(session.question.id, session.hints_used)
        elif not session.revealed:
            lm.feedback.append(("bold", "Worked answer: " + session.reveal()))
            lm.progress.record_reveal(session.question.id)
            self._reveal_page_step()
        lm.save(self)
        self.refresh_view()
        self._scroll_lesson_to_end()

    def _scroll_lesson_to_end(self) -> None:
        if self.query("#lesson-panel"):
            panel = self.query_one("#lesson-panel")
            self.call_after_refresh(lambda: panel.scroll_end(animate=False))

    def _reveal_page_step(self) -> None:
        """Predict, then reveal: once answered, move the panes to the step the page talks about."""
        lm, st = self.lesson, self.state
        page = lm.lessons[lm.index].pages[lm.page]
        if page.view == "walkthrough":
            st.step = page.step_index(st.config.heads)
        else:
            st.matrix_step = page.step_index(st.config.heads)

    def action_scroll_lesson(self, direction: int) -> None:
        if self.query("#lesson-panel") and self.lesson.active:
            panel = self.query_one("#lesson-panel")
            panel.scroll_relative(y=direction * max(1, panel.size.height - 2), animate=False)

    # --- command palette: every action -----------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for b in self.BINDINGS_FOR_HELP:
            if b.action == "command_palette":
                continue
            yield SystemCommand(b.description, f"{b.id}  ({b.key})", partial(self.run_action, b.action))
        yield from super().get_system_commands(screen)
