"""A served tutor's side of the workshop channel: report where the attendee is and what they
answered, and do what the instructor asks (go to a lesson page or a step, show a message,
follow, reveal the worked answer, ask the attendee's name).

The server (`tui-attention serve ssh|web`) hands each tutor one end of a socket pair and its
number in TUI_ATTENTION_CHANNEL_FD; that socket is all the tutor can reach, and its reports
(`infra.channel`: state and answer, one JSON line each) are all it sends. A tutor started any
other way gets `Reporting()`, which does nothing.

Follow mode: while the instructor leads, the status line starts with "Following the
instructor", the keys that would move the attendee elsewhere (steps, words, view, lesson
pages, the lesson browser, escape, the scenario form) are held, and `f` leaves follow mode,
unless the instructor locked it (for a question). The instructor's next lead brings everyone
back. The answer keys, hints and the rest keep working.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any, Mapping

from tui_attention.i18n import _
from tui_attention.infra.channel import (CHANNEL_FD_ENV, MAX_LESSONS, MAX_REPORT, MAX_STEPS, MAX_WORDS,
                                         ChannelError, LineReader, Outbox, decode_command, encode, name_problem)
from tui_attention.steps.notation import parse_number
from tui_attention.steps.state import STEPS_PER_WORD

MAX_OUTBOX = 64 * 1024  # bytes of reports waiting for a server that does not read: then dropped
# Keys that move the attendee away from where the instructor leads: (action, its first parameter).
HELD = {("state", "move_step"), ("state", "first_step"), ("state", "last_step"), ("state", "move_word"),
        ("toggle_view", None), ("page", None), ("lessons", None), ("back", None), ("edit_scenario", None),
        ("default_scenario", None)}
LEAVE_KEY_ID = "tutor.leave_follow"  # bindings.GLOBAL_KEYS; a keymap file may give it another key


def leave_key(app: Any) -> str:
    """The key that leaves follow mode now (the keymap's, else "f"), as the learner types it."""
    keys = getattr(app, "keymap", {}).get(LEAVE_KEY_ID, "f")
    return keys.split(",")[0]


class Reporting:
    """A tutor without a server's channel: reports nothing, holds nothing."""

    following = locked = False

    def start(self) -> None:
        pass

    def report(self) -> None:
        pass

    def holds(self, action: str, parameters: tuple[object, ...]) -> bool:
        return False

    def status_label(self) -> str:
        return ""

    def leave_follow(self) -> None:
        pass


def connect(app: Any, environ: Mapping[str, str] = os.environ) -> Reporting:
    """The app's reporter: a `Reporter` on the inherited socket named by TUI_ATTENTION_CHANNEL_FD,
    or `Reporting()` (nothing) without one, or if that descriptor is not a stream socket."""
    text = environ.get(CHANNEL_FD_ENV, "")
    if not text.isdigit():
        return Reporting()
    try:
        sock = socket.socket(fileno=int(text))
    except OSError:
        return Reporting()
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        sock.detach()
        return Reporting()
    sock.set_inheritable(False)  # nothing the tutor might start gets it
    sock.setblocking(False)
    return Reporter(app, sock)


class Reporter(Reporting):
    """Reports the tutor's state (when it changed) and answers to the server; applies its commands."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.app, self.sock = app, sock
        self.following = self.locked = False
        self.name: str | None = None
        self._reader = LineReader(MAX_REPORT)
        self._last = b""
        self._outbox = Outbox(sock, MAX_OUTBOX, on_error=self._close)  # the server gone: the tutor goes on alone
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open = True

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._outbox.start(self._loop)
        self.app.lesson.on_answer = self._answered
        # The learn view is a screen over the tutor's, not a state of it: its opening and closing
        # change where the attendee is without a TutorScreen.StateChanged.
        self.app.screen_change_signal.subscribe(self.app, lambda _screen: self.report())
        # Commands wait until the tutor's screen is up.
        self.app.call_after_refresh(self._start_reading)
        self.report()

    def _start_reading(self) -> None:
        # Not once closed: the first report may have found the server gone, and a reader on a
        # closed channel would be called at every turn of the loop.
        if self._open and self._loop is not None:
            self._loop.add_reader(self.sock.fileno(), self._readable)

    # --- out ------------------------------------------------------------------------------------
    def _send(self, line: bytes) -> None:
        if self._open:
            self._outbox.send(line)  # dropped when the server has not read the last 64 KiB

    def report(self) -> None:
        """Send the tutor's state if it changed since the last report."""
        if not self._open:
            return
        line = encode("state", **self.state())
        if line != self._last:
            self._last = line
            self._send(line)

    def state(self) -> dict[str, Any]:
        """Where the attendee is (1-based, as on screen), for the "state" report."""
        state, lesson = self.app.state, self.app.lesson
        if state.view == "matrix":
            steps = len(state.matrix_steps)
            step = min(state.matrix_step, steps - 1) + 1
        else:
            step, steps = state.step + 1, STEPS_PER_WORD
        c = state.config
        active = lesson.active
        question = lesson.current_page.question if active else None
        session = lesson.session if active else None
        # In the learn view (its screen anywhere on the stack: a dialog may be over it), word and
        # step are still the tutor's under it.
        learning = any(screen.id == "learn" for screen in self.app.screen_stack)
        return {
            "view": "learn" if learning else state.view, "word": min(state.word + 1, MAX_WORDS),
            "words": min(state.n, MAX_WORDS),
            "step": min(step, MAX_STEPS), "steps": min(steps, MAX_STEPS),
            "switches": {"scale": c.scale, "mask": c.mask, "heads": c.heads, "weight_scale": c.weight_scale},
            "lesson": min(lesson.lesson.number, MAX_LESSONS) if active else None,
            "page": lesson.page + 1 if active else None,
            "pages": len(lesson.lesson.pages) if active else None,
            "question": question.id if question is not None else None,
            "settled": bool(session is not None and (session.solved or session.revealed)),
            "following": self.following, "locked": self.locked, "name": self.name,
        }

    def _answered(self, controller: Any, given: object, correct: bool) -> None:
        if controller.session.revealed:
            # Typed after the worked answer was shown (its own i, or the instructor's reveal): not
            # a prediction, which is what the room's answers and the clicker count.
            return
        question = controller.session.question
        choice = value = None
        try:
            if question.kind == "choice":
                choice = int(str(given).strip())
            else:
                value = float(given) if isinstance(given, (int, float)) else parse_number(str(given))
        except ValueError:
            pass
        self._send(encode("answer", lesson=controller.lesson.number, page=controller.page + 1,
                          question=question.id, type=question.kind, correct=bool(correct), choice=choice,
                          value=value))

    # --- in ---------------------------------------------------------------------------------------
    def _readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close()
            return
        for line in self._reader.feed(data):
            try:
                command = decode_command(line)
            except ChannelError:
                continue  # the server is ours; a line it did not mean is skipped
            getattr(self, f"_on_{command.pop('kind')}")(**{k: v for k, v in command.items() if k != "v"})

    def _close(self) -> None:
        if self._open and self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
        self._outbox.stop()
        self._open = False
        self.following = self.locked = False

    @property
    def _screen(self) -> Any:
        return self.app.tutor

    def _clear_dialogs(self) -> None:
        """The instructor moves the room: a dialog the attendee had open goes (not the name prompt)."""
        while len(self.app.screen_stack) > 1 and not getattr(self.app.screen, "asks_name", False):
            self.app.pop_screen()

    def _on_goto(self, lesson: int | None = None, page: int | None = None, view: str | None = None,
                 word: int | None = None, step: int | None = None) -> None:
        if not self.following:
            return
        self._clear_dialogs()
        screen, state, controller = self._screen, self.app.state, self.app.lesson
        if lesson is not None:
            screen.show_notices(controller.ensure_loaded())
            index = next((k for k, x in enumerate(controller.lessons or []) if x.number == lesson), None)
            if index is None:
                self.app.notify(_("The instructor opened lesson {number}, which this tutor does not have.").format(
                    number=lesson), severity="warning", markup=False)
                return
            screen.open_lesson(index, (page or 1) - 1)
            return
        if controller.active:
            controller.leave(state)
            screen.remove_class("-lesson")
        state.view = view
        state.word = max(0, min((word or 1) - 1, state.n - 1))
        if view == "matrix":
            state.matrix_step = max(0, min((step or 1) - 1, len(state.matrix_steps) - 1))
        else:
            state.step = max(0, min((step or 1) - 1, STEPS_PER_WORD - 1))
            screen.set_focus(None)
        screen.refresh_view()

    def _on_message(self, text: str) -> None:
        # A minute: an attendee may be looking at the instructor, or away, when it comes.
        self.app.notify(text, title=_("From the instructor"), timeout=60, markup=False)

    def _on_follow(self, on: bool, locked: bool) -> None:
        was = self.following
        self.following, self.locked = on, on and locked
        if on and not was:
            how = (_("locked for now") if self.locked
                   else _("press {key} to go your own way").format(key=leave_key(self.app)))
            self.app.notify(_("The instructor is leading the room ({how}).").format(how=how), timeout=6,
                            markup=False)
        elif was and not on:
            self.app.notify(_("The instructor let the room go: the keys are yours again."), timeout=6, markup=False)
        self._followed()

    def _on_reveal(self, question: str | None) -> None:
        controller = self.app.lesson
        if not controller.active or controller.session is None:
            return
        if question is not None and controller.session.question.id != question:
            return  # the instructor revealed another page's question
        screen = self._screen
        screen.show_notices(controller.reveal(self.app.state))
        screen.refresh_view()
        screen._scroll_lesson_to_end()  # noqa: SLF001 - where the worked answer is

    def _on_ask_name(self) -> None:
        from tui_attention.tui.screens.forms import PromptScreen

        prompt = PromptScreen(_("Your name, for the instructor"), "", name_problem,
                              _("Only the instructor's dashboard shows it. Enter sends it; escape skips it."))
        prompt.asks_name = True

        def done(text: str | None) -> None:
            if text is not None and name_problem(text) is None:
                self.name = text.strip()
                self.report()

        self.app.push_screen(prompt, done)

    # --- follow mode --------------------------------------------------------------------------------
    def holds(self, action: str, parameters: tuple[object, ...]) -> bool:
        """While following, the keys that would take the attendee elsewhere do nothing."""
        if not self.following:
            return False
        first = parameters[0] if parameters and action == "state" else None
        return (action, first) in HELD

    def status_label(self) -> str:
        if not self.following:
            return ""
        if self.locked:
            return _(" Following the instructor (locked) ·")
        return _(" Following the instructor · {key}: on your own ·").format(key=leave_key(self.app))

    def leave_follow(self) -> None:
        if not self.following:
            return
        if self.locked:
            self.app.notify(_("The instructor has locked follow mode for now."), timeout=4, markup=False)
            return
        self.following = False
        self.app.notify(_("You are on your own; the instructor's next lead brings you back."), timeout=4,
                        markup=False)
        self._followed()

    def _followed(self) -> None:
        """Following changed: the status line and the footer's keys (held ones are hidden) too."""
        self._screen.refresh_view()
        self._screen.refresh_bindings()
