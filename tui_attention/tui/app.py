"""The Textual App: the session (tutor state and lesson controller), the global keys (help,
quit, the command palette), the keymap file and the theme.

Everything else belongs to the tutor's screen (`screens/tutor.py`), which owns
its keys; `bindings.py` lists them all.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterable

from rich.text import Text
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from tui_attention.infra.collector import settle_start_up
from tui_attention.infra.served import Served
from tui_attention.lessons.controller import LessonController
from tui_attention.steps.state import TutorState
from tui_attention.tui.bindings import GLOBAL_KEYS, LEARN_KEYS, TUTOR_KEYS, Key, bindings, every_key
from tui_attention.tui.files import Destination
from tui_attention.tui.frames import SameFrameOnce
from tui_attention.tui.reporting import connect
from tui_attention.tui.screens.tutor import TutorScreen

DEFAULT_THEME = "textual-dark"


class AttentionApp(SameFrameOnce, App[int]):
    """tui-attention: step through self-attention, one number at a time."""

    CSS_PATH = "app.tcss"
    # Textual's OptionList measures each option by wrapping it, and Rich's line breaker raises at
    # a width of 0: the palette's list, open when the terminal shrinks to a few cells, keeps a
    # little width (the compositor crops what the terminal cannot show).
    CSS = "CommandList { min-width: 8; }"
    TITLE = "tui-attention"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = bindings(GLOBAL_KEYS)

    def __init__(self, state: TutorState | None = None, theme: str | None = None, *,
                 scenario: Path | None = None, start_lesson: int | None = None,
                 served: Served | None = None, start_learn: str | None = None) -> None:
        # Before the first screen is built: a full collection would otherwise walk every
        # imported module's objects before the first paint, and again every few hundred keys.
        settle_start_up()
        super().__init__()
        self.served = served  # started by `tui-attention serve`: writes in its session folder only
        self.destination = Destination(served.root if served else None)
        # Set explicitly so that TEXTUAL_THEME cannot change what a learner (or a snapshot) sees.
        self.theme = theme or DEFAULT_THEME
        self.state = state or TutorState(scenario=scenario)
        self.lesson = LessonController()
        self.start_lesson = start_lesson  # 1-based, from --lesson
        self.start_learn = start_learn  # a task, from --learn: the learn view opens on it
        self.keymap: dict[str, str] = {}  # binding id -> keys, from the keymap file
        self.reporting = connect(self)  # a workshop server's channel, if it gave us one (else inert)

    def push_screen(self, screen, *args, **kwargs):
        """Textual's push_screen; a dialog (a modal screen) first clears the notices, which are
        drawn above every screen and would cover its text: "Left the lesson" over the lesson
        browser's first lines, a notice over "Quit? ..." (new-user audit). Notices a dialog
        raises while it is open still show."""
        if isinstance(screen, ModalScreen):
            self.clear_notifications()
        return super().push_screen(screen, *args, **kwargs)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "quit" and self.screen is self.tutor and self.tutor.has_class("-too-small"):
            return False  # behind the enlarge message only q acts (TutorScreen.check_action)
        return True

    def get_default_screen(self) -> Screen:
        return TutorScreen(id="_default")

    @property
    def tutor(self) -> TutorScreen:
        """The tutor's screen, at the bottom of the stack whichever screen is on top."""
        return self.screen_stack[0]

    def on_mount(self) -> None:
        from tui_attention.tui.keymap import load_keymap

        keymap, notice = load_keymap({k.id: k.keys for k in every_key()})
        self.keymap = keymap
        if keymap:
            self.set_keymap(keymap)
        if notice:
            self.notify(notice, severity="warning", timeout=10, markup=False)
        self.reporting.start()

    def on_tutor_screen_state_changed(self) -> None:
        self.reporting.report()

    async def action_quit(self) -> None:
        """q, ctrl+q: quit; with edited cells (they exist nowhere else until saved, and a lesson
        keeps the learner's aside), or in a workshop (leaving deletes the session's folder), only
        after a yes. A second quit key on that question quits."""
        from tui_attention.i18n import _, ngettext
        from tui_attention.tui.screens.lessons import QuitQuestion

        before = self.lesson.before if self.lesson.active else None
        count = len(before["edited"]) if before is not None else len(self.state.edited)
        if not (count or self.served is not None) or isinstance(self.screen, QuitQuestion):
            await super().action_quit()
            return
        if self.served is not None:
            # A stray q at a workshop would take the attendee's lesson progress and files with it.
            question = _("Quit? This ends your workshop session: its lesson progress, edits and the files "
                         "you saved or exported in it are deleted.")
        elif before is not None:  # ctrl+s in a lesson saves the lesson's numbers, not the learner's
            question = ngettext(
                "Quit? Your {count} edited cell will be lost (escape leaves the lesson, then ctrl+s saves it).",
                "Quit? Your {count} edited cells will be lost (escape leaves the lesson, then ctrl+s saves them).",
                count)
        else:
            question = ngettext("Quit? Your {count} edited cell will be lost (ctrl+s saves it).",
                                "Quit? Your {count} edited cells will be lost (ctrl+s saves them).", count)
        self.push_screen(QuitQuestion(question.format(count=count)), lambda yes: self.exit() if yes else None)

    def action_leave_follow(self) -> None:
        self.reporting.leave_follow()

    def _handle_exception(self, error: Exception) -> None:
        """An internal error ends the app (Textual's rule). A served attendee sees one line, not
        the traceback: that goes to the instructor's log (Served.report)."""
        super()._handle_exception(error)
        if self.served is not None:
            self._exit_renderables[:] = [Text(self.served.report(error))]

    def panic(self, *renderables) -> None:
        """Textual ends the app on an error outside any handler (its input thread's, say) and
        prints the renderables it is given, a traceback. A served attendee sees one line
        instead, and the instructor's log the traceback (Served.report_text)."""
        if self.served is None:
            super().panic(*renderables)
            return
        import io

        from rich.console import Console
        from rich.traceback import Traceback

        console = Console(file=io.StringIO(), width=120, color_system=None, record=True)
        kind = "Error"
        for renderable in renderables:
            console.print(renderable)
            if isinstance(renderable, Traceback) and renderable.trace.stacks:
                kind = renderable.trace.stacks[-1].exc_type
        super().panic(Text(self.served.report_text(console.export_text(), kind)))

    def action_help(self) -> None:
        from tui_attention.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # --- command palette: every action -----------------------------------------------------
    def keys_of(self, key: Key) -> str:
        """The keys a binding has now: the keymap file's, else its own."""
        return self.keymap.get(key.id, key.keys)

    def keys_shown(self, key: Key) -> str:
        """The keys a binding has now, as the footer names them ("?, f1", not "question_mark,f1")."""
        return ", ".join(self.get_key_display(Binding(k.strip(), key.action)) for k in self.keys_of(key).split(","))

    def action_command_palette(self) -> None:
        """ctrl+p: Textual's palette, closed once however many clicks arrive together (`palette`)."""
        from tui_attention.tui.palette import PaletteOnce

        if self.use_command_palette and not PaletteOnce.is_open(self):
            self.push_screen(PaletteOnce(id="--command-palette"))

    def search_themes(self) -> None:
        """The palette's Theme command: Textual's theme list, in a palette closed once."""
        from textual.theme import ThemeProvider

        from tui_attention.tui.palette import PaletteOnce

        self.push_screen(PaletteOnce(providers=[ThemeProvider], placeholder="Search for themes…"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if screen.id == "learn":  # the learn view's keys act on it, not on the tutor below
            yield from (SystemCommand(key.description, f"{key.id}  ({self.keys_shown(key)})",
                                      partial(screen.run_action, key.action)) for key in (*LEARN_KEYS, *GLOBAL_KEYS))
            return
        tutor = self.tutor
        for key in (*TUTOR_KEYS, *GLOBAL_KEYS):
            target = self if key in GLOBAL_KEYS else tutor
            _namespace, name, args = parse_action(key.action)
            if target is tutor and tutor.check_action(name, args) is False:
                continue  # "Answer choice 3" outside a question does nothing: not listed
            yield SystemCommand(key.description, f"{key.id}  ({self.keys_shown(key)})",
                                partial(target.run_action, key.action))
        for command in super().get_system_commands(screen):
            # Textual's screenshot writes an SVG to ~/Downloads: for a served tutor that is the
            # session folder, past its disk budget (Destination checks every save and export).
            if not (self.served is not None and command.title == "Screenshot"):
                yield command
