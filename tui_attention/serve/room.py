"""The room: what the server knows of each attendee's tutor, fed by the channel, and the
instructor's commands out to every tutor.

Each tutor gets one end of a socket pair (`Room.join`; the child inherits it and learns its
number from TUI_ATTENTION_CHANNEL_FD) and can reach nothing else: not the other tutors, not
the control socket. The server reads its reports (`infra.channel`: newline-delimited JSON,
versioned) and keeps one `Member` record per session: a short id (a count and a random
suffix, "7-3fa2", unique over the server's life), the name the attendee typed (only with
--ask-name), when it connected and last pressed a key, where it is (lesson and page, or
view, word and step), its right and wrong answers. Its answers also go into the anonymous
answer table (`Room.answers`, exported as CSV), under the session's id and nothing else,
but at most `ATTEMPTS_PER_QUESTION` of one session to one question (the clicker counts the
first; the next few show how it went on) and at most `ROWS_PER_SESSION` in all, so that one
attendee holding a wrong-answer key cannot fill the table for the room. An answer past
either cap is still counted in the session's right and wrong, but its row is dropped:
counted in `status()` (`dropped`, in all and per session), shown by `serve status` and the
dashboard, and logged (rate-limited, `guard.RefusalLog`).

A tutor may send only its own state and answers. Anything else (not JSON, another version,
a command, a field out of range, a line past `channel.MAX_REPORT` bytes) is ignored and
logged escaped and rate-limited (`guard.clean`, `guard.RefusalLog`); past `REPORT_RATE`
messages a second the server stops reading that tutor for a second.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from typing import Any, Callable

from tui_attention.infra.channel import (ANSWERS_PER_REPLY, MAX_REPORT, ChannelError, LineReader, Outbox, answers_csv,
                                         decode_report, encode)
from tui_attention.infra.files import write_atomic
from tui_attention.serve.guard import RefusalLog, clean

log = logging.getLogger("tui_attention.serve")

REPORT_RATE = 50.0  # reports a second a tutor may send on average...
REPORT_BURST = 200.0  # ...in bursts of this many
FLOOD_PAUSE = 1.0  # seconds the server stops reading a tutor past its rate
MAX_OUTBOX = 64 * 1024  # bytes of commands waiting for a tutor that does not read
MAX_ANSWERS = 200_000  # rows of the answer table kept (about 40 MB at most)
ATTEMPTS_PER_QUESTION = 5  # rows kept of one session's answers to one question
ROWS_PER_SESSION = 500  # rows kept of one session's answers (12 lessons ask about 40 questions)
CHANNEL_BUFFER = 64 * 1024  # socket buffer of each end
MESSAGE_FOR_NEWCOMERS = 600.0  # seconds an instructor's message is still shown to who joins after it
MAX_REVEALED = 256  # questions remembered as revealed (the most recent; a day's lessons ask about 40)


class Member:
    """One attendee's session as the room sees it (`record()` is its row of the live table)."""

    def __init__(self, room: Room, member_id: str, server_end: socket.socket, child_end: socket.socket) -> None:
        self.room = room
        self.id = member_id
        self.name: str | None = None
        now = room.clock()
        self.connected = self.last_key = self.place_since = now
        self.state: dict[str, Any] | None = None
        self.right = self.wrong = self.wrong_here = 0
        self.rows = self.dropped = 0  # its rows in the answer table, and its answers left out of it
        self.attempts: dict[str, int] = {}  # question -> its rows kept
        self.sock = server_end
        self._child_end: socket.socket | None = child_end
        self._reader = LineReader(MAX_REPORT)
        self._outbox = Outbox(server_end, MAX_OUTBOX)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = False
        self._tokens, self._stamp = REPORT_BURST, now
        self._pause: asyncio.TimerHandle | None = None
        self.closed = False
        # The session's own: the instructor led or released the room. A led attendee (locked,
        # with nothing to press) is not idle, and a release starts its idle time afresh.
        self.on_lead: Callable[[], None] | None = None

    @property
    def child_fd(self) -> int:
        """The tutor's end, to pass to the child (and close here once it has it: `started`)."""
        assert self._child_end is not None, "the tutor has its end already"
        return self._child_end.fileno()

    def started(self) -> None:
        """The child holds its end now: close ours of it and start reading the tutor."""
        if self._child_end is not None:
            self._child_end.close()
            self._child_end = None
        self._loop = asyncio.get_running_loop()
        self._read(True)
        self._outbox.start(self._loop)

    def touch(self) -> None:
        """The attendee pressed a key (for the idle column)."""
        self.last_key = self.room.clock()

    @property
    def led(self) -> bool:
        """Whether the instructor leads the room (`serve lead`, until `--release`)."""
        return bool(self.room.lead["following"])

    # --- in ------------------------------------------------------------------------------------
    def _read(self, on: bool) -> None:
        if self._loop is None or self.closed or on == self._reading:
            return
        if on:
            self._loop.add_reader(self.sock.fileno(), self._readable)
        else:
            self._loop.remove_reader(self.sock.fileno())
        self._reading = on

    def _readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the tutor is gone; the session ends through its own path
            self._read(False)
            return
        before = self._reader.oversized
        lines = self._reader.feed(data)
        if self._reader.oversized > before:
            self.room.refuse(self, "oversized", "ignored a report longer than %d bytes", MAX_REPORT)
        now = self.room.clock()
        self._tokens = min(REPORT_BURST, self._tokens + (now - self._stamp) * REPORT_RATE)
        self._stamp = now
        for line in lines:
            if self._tokens < 1:
                self.room.refuse(self, "flood", "more than %g reports a second: not reading it for %g s",
                                 REPORT_RATE, FLOOD_PAUSE)
                self._read(False)
                assert self._loop is not None
                self._pause = self._loop.call_later(FLOOD_PAUSE, self._read, True)
                return
            self._tokens -= 1
            try:
                report = decode_report(line)
            except ChannelError as exc:
                self.room.refuse(self, "malformed", "ignored a line (%s): %s", exc, clean(line, 80))
                continue
            self.room.take(self, report)

    # --- out -----------------------------------------------------------------------------------
    def send(self, line: bytes) -> bool:
        """Queue one command line for the tutor; False if too much is waiting already (dropped)."""
        return not self.closed and self._outbox.send(line)

    def close(self) -> None:
        if self.closed:
            return
        self._read(False)
        self._outbox.stop()
        if self._pause is not None:
            self._pause.cancel()
        self.closed = True
        self.sock.close()
        if self._child_end is not None:
            self._child_end.close()
            self._child_end = None

    # --- the row --------------------------------------------------------------------------------
    def record(self, now: float) -> dict[str, Any]:
        """This session in the live table (`serve status --format json` prints these)."""
        s = self.state or {}
        return {
            "id": self.id, "name": self.name,
            "connected": round(now - self.connected, 1), "idle": round(now - self.last_key, 1),
            "lesson": s.get("lesson"), "page": s.get("page"), "pages": s.get("pages"),
            "question": s.get("question"), "settled": s.get("settled"),
            "view": s.get("view"), "word": s.get("word"), "words": s.get("words"),
            "step": s.get("step"), "steps": s.get("steps"), "switches": s.get("switches"),
            "following": s.get("following"), "locked": s.get("locked"),
            "answers": {"right": self.right, "wrong": self.wrong}, "dropped": self.dropped,
            "wrong_here": self.wrong_here, "here": round(now - self.place_since, 1),
        }


def _place(state: dict[str, Any] | None) -> tuple:
    if state is None:
        return ()
    if state["lesson"] is not None:
        return ("lesson", state["lesson"], state["page"])
    return (state["view"], state["word"], state["step"])


class Room:
    """Every session's record, the answer table, and what the instructor is leading."""

    def __init__(self, *, ask_name: bool = False, clock: Callable[[], float] = time.monotonic,
                 scenario: dict[str, Any] | None = None) -> None:
        self.ask_name = ask_name
        self.clock = clock
        # The server's scenario as a lead needs it: {"words": n, "steps": {view: count}}. A tutor
        # clamps a step past its scenario's silently, so a lead there is refused here instead
        # (`lead_problem`); None (a room made without one): not checked.
        self.scenario = scenario
        self.started = clock()
        self.members: dict[str, Member] = {}
        self._joined = 0  # sessions so far: the first part of each session's id
        self.answers: list[dict[str, Any]] = []
        self.dropped_answers = 0
        self.lead: dict[str, Any] = {"following": False, "locked": False, "goto": None}
        self.said: tuple[float, str] | None = None  # (when, text) of the instructor's last message
        # The questions whose worked answer the instructor showed the room (oldest first), for the
        # dashboard's clicker: it marks the right answer only once it is revealed.
        self.revealed: dict[str, None] = {}
        self.info: dict[str, Any] = {}  # the server's kind, port, pid: for `serve status`
        self.refusals = RefusalLog()

    # --- sessions ------------------------------------------------------------------------------
    def join(self) -> Member:
        """A new session: its record and its socket pair. Pass `member.child_fd` to the child,
        then call `member.started()`; `leave(member)` when the session ends."""
        server_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for end in (server_end, child_end):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHANNEL_BUFFER)
        server_end.setblocking(False)
        # A count, so that ids are unique over the server's life and two attendees' rows in the
        # answer table never share one (a random 16-bit id alone repeated itself on about a third
        # of 200-session days); and a random suffix, so that tables of two runs of the server
        # (both counting from 1) can be put together.
        self._joined += 1
        member_id = f"{self._joined}-{secrets.token_hex(2)}"
        member = Member(self, member_id, server_end, child_end)
        self.members[member_id] = member
        if self.ask_name:
            member.send(encode("ask_name"))
        if self.lead["following"]:  # a newcomer joins the room where the instructor is
            member.send(encode("follow", on=True, locked=self.lead["locked"]))
            if self.lead["goto"] is not None:
                member.send(encode("goto", **self.lead["goto"]))
        if self.said is not None and self.clock() - self.said[0] < MESSAGE_FOR_NEWCOMERS:
            member.send(encode("message", text=self.said[1]))  # "Back at 10:30" is for latecomers too
        return member

    def leave(self, member: Member | None) -> None:
        if member is not None:
            member.close()
            self.members.pop(member.id, None)

    def close(self) -> None:
        for member in list(self.members.values()):
            self.leave(member)

    def refuse(self, member: Member, kind: str, message: str, *args: object) -> None:
        """Log what a tutor sent that was refused: escaped, at most a few lines a burst."""
        self.refusals(f"session {member.id}", f"channel {kind}", f"channel of session %s: {message}", member.id,
                      *args)

    # --- reports in ------------------------------------------------------------------------------
    def take(self, member: Member, report: dict[str, Any]) -> None:
        """A valid report of `member`'s tutor: its state, or an answer it was given."""
        now = self.clock()
        if report["kind"] == "state":
            name = report.pop("name")
            if name is not None and self.ask_name and member.name is None:
                member.name = name.strip()  # shown in the dashboard only: never logged
            if _place(report) != _place(member.state):
                member.place_since = now
            if report["question"] != (member.state or {}).get("question"):
                member.wrong_here = 0
            member.state = report
            return
        if report["correct"]:
            member.right += 1
        else:
            member.wrong += 1
            if member.state is not None and report["question"] == member.state.get("question"):
                member.wrong_here += 1
        question = report["question"]
        why = self._no_room(member, question)
        if why is not None:
            member.dropped += 1
            self.dropped_answers += 1
            self.refusals(f"session {member.id}", "answers", "session %s: left an answer to %s out of the answer "
                          "table (%s; %d of its answers left out so far)", member.id, clean(question, 60), why,
                          member.dropped)
            return
        member.rows += 1
        member.attempts[question] = member.attempts.get(question, 0) + 1
        row = {key: report[key] for key in ("lesson", "page", "question", "type", "correct", "choice", "value")}
        self.answers.append({"session": member.id, "seconds": round(now - self.started, 1), **row})

    def _no_room(self, member: Member, question: str) -> str | None:
        """Why `member`'s next answer to `question` gets no row, or None."""
        if member.attempts.get(question, 0) >= ATTEMPTS_PER_QUESTION:
            return f"more than {ATTEMPTS_PER_QUESTION} answers to one question"
        if member.rows >= ROWS_PER_SESSION:
            return f"more than {ROWS_PER_SESSION} answers from one session"
        if len(self.answers) >= MAX_ANSWERS:
            return f"the table is full ({MAX_ANSWERS} rows)"
        return None

    # --- the instructor's requests ----------------------------------------------------------------
    def broadcast(self, line: bytes) -> int:
        return sum(member.send(line) for member in list(self.members.values()))

    def status(self) -> dict[str, Any]:
        now = self.clock()
        return {"server": self.info, "lead": self.lead, "answers": len(self.answers),
                "dropped": self.dropped_answers, "sessions": [m.record(now) for m in self.members.values()],
                "revealed": list(self.revealed), "scenario": self.scenario}

    def handle(self, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A valid control request (`channel.decode_request`) -> (reply kind, its fields)."""
        kind = request["kind"]
        if kind == "status":
            return "status", self.status()
        if kind == "answers":
            since = request["since"]
            return "answers", {"since": since, "rows": self.answers[since: since + ANSWERS_PER_REPLY]}
        if kind == "goto":
            where = {k: v for k, v in request.items() if k not in ("v", "kind", "lock")}
            problem = lead_problem(where, self.scenario)
            if problem is not None:
                return "error", {"error": problem[1]}
            self.lead = {"following": True, "locked": request["lock"], "goto": where}
            sent = self.broadcast(encode("follow", on=True, locked=request["lock"]) + encode("goto", **where))
            log.info("leading %d sessions to %s%s", sent, _where(where), " (locked)" if request["lock"] else "")
        elif kind == "release":
            self.lead = {"following": False, "locked": False, "goto": None}
            sent = self.broadcast(encode("follow", on=False, locked=False))
            log.info("released %d sessions", sent)
        elif kind == "reveal":
            if request["question"] is None and not self._open_questions():
                # Sent anyway, it reached every tutor and did nothing, and the instructor read
                # "sent to 15 sessions" and the log "revealed the worked answer to 15 sessions".
                return "done", {"sent": 0, "unsent": "no session is on a question"}
            self._revealed(request["question"])
            sent = self.broadcast(encode("reveal", question=request["question"]))
            log.info("revealed the worked answer%s to %d sessions",
                     f" of {request['question']}" if request["question"] else "", sent)
        else:  # message
            self.said = (self.clock(), request["text"])
            sent = self.broadcast(encode("message", text=request["text"]))
            log.info("sent a message to %d sessions", sent)
        if kind in ("goto", "release"):
            for member in list(self.members.values()):
                if member.on_lead is not None:
                    member.on_lead()
        return "done", {"sent": sent}

    def _revealed(self, question: str | None) -> None:
        """Remember `question` as revealed; None (whatever question is open): each one a session
        is on now. The MAX_REVEALED most recent only: a tutor may report any well-formed id."""
        for qid in [question] if question is not None else self._open_questions():
            self.revealed.pop(qid, None)
            self.revealed[qid] = None
        while len(self.revealed) > MAX_REVEALED:
            del self.revealed[next(iter(self.revealed))]

    def _open_questions(self) -> list[str]:
        """The question each session is on (a page with one), in the order the sessions joined."""
        return [m.state["question"] for m in self.members.values() if m.state is not None and m.state["question"]]

    # --- the answer table ---------------------------------------------------------------------------
    def write_answers(self, path: str | os.PathLike) -> str:
        """The anonymous answer table as CSV at `path` (mode 0600, written atomically)."""
        return str(write_atomic(path, answers_csv(self.answers), make_parents=True))


def lead_problem(goto: dict[str, Any], scenario: dict[str, Any] | None) -> tuple[str, str] | None:
    """(the field, why) if a lead to a step (`goto`: view, word, step) is past the server's
    `scenario` (`Room.scenario`), else None: "the sentence has words 1-5, not 9". A lesson page
    is checked against the lessons by the instructor's commands (`lessons.places`)."""
    if scenario is None or "view" not in goto:
        return None
    for field, what, count in (("word", "the sentence has words", scenario["words"]),
                               ("step", f"the {goto['view']} view has steps", scenario["steps"][goto["view"]])):
        if goto[field] > count:
            return field, f"{what} 1-{count}, not {goto[field]}"
    return None


def _where(goto: dict[str, Any]) -> str:
    if "lesson" in goto:
        return f"lesson {goto['lesson']}, page {goto['page']}"
    return f"the {goto['view']} view, word {goto['word']}, step {goto['step']}"
