"""The workshop channel: what a served tutor, its server and the instructor's tools say to
each other. Pure Python (json, csv): no sockets here, only the messages and their rules.

Every message is one JSON object on one line (UTF-8, ended by "\\n"), with the protocol
version "v" and a "kind". A line longer than its bound, not JSON, of another version, of an
unknown kind, or with a missing, extra or out-of-range field is refused whole
(`ChannelError`); the reader skips it and reads on. Numbers a person sees are 1-based
(word 1 is the first word, step 1 the first step, lesson 5 page 2).

Tutor -> server, on the socket pair the server gave the tutor (its fd number in
TUI_ATTENTION_CHANNEL_FD). These reports are all a tutor may send (at most MAX_REPORT bytes):

    state   view ("walkthrough" | "matrix" | "learn": a head trained on a toy task, with the
            word and step of the view under it), word, words, step, steps, switches {scale, mask,
            heads, weight_scale}, lesson, page, pages, question (a question id, "05-softmax/2",
            or null), settled (that question answered right or its worked answer shown),
            following, locked, name (null unless the server asked for one)
    answer  lesson, page, question, type ("choice" | "numeric"), correct, choice (1-based, or
            null), value (the number typed, or null)

Server -> tutor (commands, at most MAX_REPORT bytes):

    goto      {lesson, page} or {view, word, step} (view: one of LEAD_VIEWS, not "learn")
    message   text (one printable line)
    follow    on, locked
    reveal    question (only a tutor on that question reveals; null: whatever question is open)
    ask_name  (no fields)

Instructor's tools -> server, on the control socket (requests, at most MAX_REPORT bytes):

    status                     -> status {server, lead, sessions, answers, dropped, revealed}
    answers  since             -> answers {since, rows} (at most ANSWERS_PER_REPLY rows)
    goto     {lesson, page} or {view, word, step}, lock  -> done {sent}
    release                    -> done {sent}
    reveal   question or null  -> done {sent}
    message  text              -> done {sent}

and anything refused -> error {error}. Replies are at most MAX_REPLY bytes. In a status,
`answers` counts the rows of the answer table and `dropped` the answers left out of it (past
a cap per session and question, see `serve.room`); each session has its own `dropped` too;
`revealed` lists the questions whose worked answer the instructor showed the room (the
dashboard's clicker marks a right answer only then).
"""

from __future__ import annotations

import io
import json
import math
import re
import unicodedata
from typing import Any, Callable, Iterable

from tui_attention.i18n import _

VERSION = 1
CHANNEL_FD_ENV = "TUI_ATTENTION_CHANNEL_FD"  # the tutor's end of its socket pair
MAX_REPORT = 2048  # bytes of one tutor report, command or request, newline included
MAX_REPLY = 1 << 20  # bytes of one reply on the control socket
ANSWERS_PER_REPLY = 500
MAX_TEXT = 200  # characters of an instructor's message
MAX_NAME = 32  # characters of an attendee's name
MAX_WORDS = 1024  # as the scenario's token limit
MAX_STEPS = 64
MAX_LESSONS = 99
MAX_PAGES = 99
LEAD_VIEWS = ("walkthrough", "matrix")  # where the instructor can lead a tutor (goto)
VIEWS = (*LEAD_VIEWS, "learn")  # where a tutor reports it is
QUESTION_KINDS = ("choice", "numeric")
_QUESTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}/[0-9]{1,3}")
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class ChannelError(ValueError):
    """A line that is not a valid message of the expected direction; the reason is one line of
    our own words (never the line itself: the caller escapes and cuts that for the log)."""


# --- field checks ---------------------------------------------------------------------------
Check = Callable[[Any], bool]


def _int(lo: int, hi: int) -> Check:
    return lambda v: type(v) is int and lo <= v <= hi


MAX_NUMBER = 1e12  # the largest number a report carries (a tutor refuses larger answers: lessons.answers)


def _number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v) and abs(v) <= MAX_NUMBER


def _bool(v: Any) -> bool:
    return type(v) is bool


def _one_of(*values: str) -> Check:
    return lambda v: type(v) is str and v in values


def _question(v: Any) -> bool:
    return type(v) is str and _QUESTION_ID.fullmatch(v) is not None


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


def printable_problem(text: Any, limit: int) -> str | None:
    """None if `text` is one line of 1 to `limit` printable characters (no controls, no bidi or
    other format characters, no line separators), else why not, in the attendee's language."""
    if type(text) is not str or not text.strip():
        return _("Type at least one character.")
    if len(text) > limit:
        return _("At most {limit} characters.").format(limit=limit)
    if any(unicodedata.category(ch) in _UNPRINTABLE for ch in text):
        return _("Only printable characters, on one line.")
    return None


# Letters and symbols to Unicode that draw nothing: Hangul fillers and the blank braille pattern.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
MAX_MARKS = 2  # combining marks on one character: Vietnamese needs two; "zalgo" text stacks dozens


def name_problem(text: str) -> str | None:
    """Why `text` cannot be an attendee's name, or None: 1 to MAX_NAME printable characters, at
    least one of which draws something, with at most MAX_MARKS combining marks on a character.
    A name of Hangul fillers showed the instructor an empty row, and one letter under 31 marks
    drew over the dashboard's rows above and below (security audit)."""
    problem = printable_problem(text.strip() if isinstance(text, str) else text, MAX_NAME)
    if problem is not None:
        return problem
    if not any(unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK for ch in text):
        return _("Type at least one visible character.")
    run = 0
    for ch in text:
        run = run + 1 if unicodedata.category(ch) in ("Mn", "Me") else 0
        if run > MAX_MARKS:
            return _("At most {count} accents on one letter.").format(count=MAX_MARKS)
    return None


def _text(limit: int) -> Check:
    return lambda v: printable_problem(v, limit) is None


def _switches(v: Any) -> bool:
    return (type(v) is dict and set(v) == {"scale", "mask", "heads", "weight_scale"}
            and _one_of("none", "sqrt_dk")(v["scale"]) and _one_of("none", "causal")(v["mask"])
            and _int(1, 16)(v["heads"]) and _number(v["weight_scale"]))


_GOTO_LESSON = {"lesson": _int(1, MAX_LESSONS), "page": _int(1, MAX_PAGES)}
_GOTO_STEP = {"view": _one_of(*LEAD_VIEWS), "word": _int(1, MAX_WORDS), "step": _int(1, MAX_STEPS)}

# kind -> every field it has (all required; null where the check allows it)
REPORTS: dict[str, dict[str, Check]] = {
    "state": {
        "view": _one_of(*VIEWS), "word": _int(1, MAX_WORDS), "words": _int(1, MAX_WORDS),
        "step": _int(1, MAX_STEPS), "steps": _int(1, MAX_STEPS), "switches": _switches,
        "lesson": _optional(_int(1, MAX_LESSONS)), "page": _optional(_int(1, MAX_PAGES)),
        "pages": _optional(_int(1, MAX_PAGES)), "question": _optional(_question), "settled": _bool,
        "following": _bool, "locked": _bool, "name": _optional(lambda v: name_problem(v) is None),
    },
    "answer": {
        "lesson": _int(1, MAX_LESSONS), "page": _int(1, MAX_PAGES), "question": _question,
        "type": _one_of(*QUESTION_KINDS), "correct": _bool, "choice": _optional(_int(1, 99)),
        "value": _optional(_number),
    },
}
COMMANDS: dict[str, tuple[dict[str, Check], ...]] = {
    "goto": (_GOTO_LESSON, _GOTO_STEP),
    "message": ({"text": _text(MAX_TEXT)},),
    "follow": ({"on": _bool, "locked": _bool},),
    "reveal": ({"question": _optional(_question)},),
    "ask_name": ({},),
}
REQUESTS: dict[str, tuple[dict[str, Check], ...]] = {
    "status": ({},),
    "answers": ({"since": _int(0, 1 << 40)},),
    "goto": ({**_GOTO_LESSON, "lock": _bool}, {**_GOTO_STEP, "lock": _bool}),
    "release": ({},),
    "reveal": ({"question": _optional(_question)},),
    "message": ({"text": _text(MAX_TEXT)},),
}
REPLIES = ("status", "answers", "done", "error")


# --- lines ------------------------------------------------------------------------------------
def encode(kind: str, /, **fields: Any) -> bytes:
    """One message as its line: {"v": VERSION, "kind": kind, **fields} + "\\n" (compact JSON,
    non-ASCII kept as UTF-8)."""
    return json.dumps({"v": VERSION, "kind": kind, **fields}, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode() + b"\n"


def _parse(line: bytes, limit: int) -> dict[str, Any]:
    if len(line) > limit:
        raise ChannelError(f"longer than {limit} bytes")
    try:
        message = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ChannelError("not a JSON line") from None
    if type(message) is not dict:
        raise ChannelError("not a JSON object")
    if message.get("v") != VERSION:
        raise ChannelError(f"not protocol version {VERSION}")
    if type(message.get("kind")) is not str:
        raise ChannelError("no kind")
    return message


def _no_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not JSON


def _fits(message: dict[str, Any], shapes: Iterable[dict[str, Check]]) -> bool:
    fields = {k: v for k, v in message.items() if k not in ("v", "kind")}
    return any(set(fields) == set(shape) and all(check(fields[k]) for k, check in shape.items())
               for shape in shapes)


def _decode(line: bytes, limit: int, table: dict, what: str) -> dict[str, Any]:
    message = _parse(line.rstrip(b"\n"), limit)
    kind = message["kind"]
    if kind not in table:
        raise ChannelError(f"not a {what}: kind {kind[:20]!r}")
    shapes = table[kind]
    if not _fits(message, [shapes] if isinstance(shapes, dict) else shapes):
        raise ChannelError(f"a {kind} {what} with missing, extra or out-of-range fields")
    return message


def decode_report(line: bytes) -> dict[str, Any]:
    """A tutor's line, if it is a valid state or answer report; else ChannelError."""
    return _decode(line, MAX_REPORT, REPORTS, "report")


def decode_command(line: bytes) -> dict[str, Any]:
    """A server's line to a tutor, if it is a valid command; else ChannelError."""
    return _decode(line, MAX_REPORT, COMMANDS, "command")


def decode_request(line: bytes) -> dict[str, Any]:
    """A line on the control socket, if it is a valid request; else ChannelError."""
    return _decode(line, MAX_REPORT, REQUESTS, "request")


def decode_reply(line: bytes) -> dict[str, Any]:
    """The server's reply on the control socket: a JSON object of a reply kind (it comes from
    the instructor's own server, so only its envelope is checked)."""
    message = _parse(line.rstrip(b"\n"), MAX_REPLY)
    if message["kind"] not in REPLIES:
        raise ChannelError("not a reply")
    return message


class LineReader:
    """Splits a byte stream into lines of at most `limit` bytes: `feed(data)` returns the
    complete lines (without "\\n") and counts in `oversized` the lines it dropped for being
    longer (their bytes are skipped up to the next newline, never buffered)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._skipping = False
        self.oversized = 0

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            if self._skipping:
                self._skipping = False
            elif len(self._buffer) + end - start + 1 > self.limit:
                self.oversized += 1
            else:
                lines.append(bytes(self._buffer) + data[start:end])
            self._buffer.clear()
            start = end + 1
        rest = data[start:]
        if not self._skipping:
            if len(self._buffer) + len(rest) >= self.limit:
                self.oversized += 1
                self._skipping = True
                self._buffer.clear()
            else:
                self._buffer += rest
        return lines


class Outbox:
    """Lines for a non-blocking socket, sent as fast as the peer reads them and never waited for.

    `send(line)` queues it and writes what the socket takes; the rest goes out from the event
    loop's writer callback, registered only while something waits (after `start(loop)`). At most
    `limit` bytes wait: beyond that a line is refused (False), so a peer that does not read costs
    a bounded buffer, never a blocked loop. A send error (the peer is gone) drops what waits,
    stops the callback and calls `on_error`.
    """

    def __init__(self, sock: Any, limit: int, on_error: Callable[[], None] = lambda: None) -> None:
        self.sock, self.limit, self._on_error = sock, limit, on_error
        self._waiting = bytearray()
        self._loop: Any = None
        self._writing = False

    def __len__(self) -> int:
        """Bytes waiting."""
        return len(self._waiting)

    def start(self, loop: Any) -> None:
        """From now on, what the socket did not take is sent when it is writable."""
        self._loop = loop
        self.flush()

    def send(self, line: bytes) -> bool:
        if len(self._waiting) + len(line) > self.limit:
            return False
        self._waiting += line
        self.flush()
        return True

    def flush(self) -> None:
        if not self._waiting:
            return
        try:
            sent = self.sock.send(self._waiting)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._waiting.clear()
            self.stop()
            self._on_error()
            return
        del self._waiting[:sent]
        self._watch(bool(self._waiting))

    def stop(self) -> None:
        """No more writer callbacks (before the socket is closed)."""
        self._watch(False)
        self._loop = None

    def _watch(self, on: bool) -> None:
        if self._loop is not None and on != self._writing:
            if on:
                self._loop.add_writer(self.sock.fileno(), self.flush)
            else:
                self._loop.remove_writer(self.sock.fileno())
            self._writing = on


# --- the answer table -----------------------------------------------------------------------
ANSWER_COLUMNS = ("session", "seconds", "lesson", "page", "question", "type", "correct", "choice", "value")


def answers_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The anonymous answer table as CSV: one row per answer given, with the session's short
    id (no name, no address), seconds since the server started, where, and what."""
    import csv  # only the dashboard's export writes CSV; a tutor loads this module before its first screen

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANSWER_COLUMNS)
    for row in rows:
        cells = [row.get(column) for column in ANSWER_COLUMNS]
        writer.writerow(["" if c is None else ("yes" if c is True else "no" if c is False else c) for c in cells])
    return out.getvalue()


# --- how a session's record reads (serve status, the dashboard) ------------------------------
STUCK_MINUTES = 5  # --stuck-minutes' default


def stuck(record: dict[str, Any], minutes: int, hidden: bool = False) -> bool:
    """On one place for more than `minutes` (unless a locked lead holds it there), or 3 wrong
    answers there, unless its right answer is `hidden` (the "!" would say they were wrong)."""
    held = bool(record.get("following") and record.get("locked"))
    return (record["here"] > minutes * 60 and not held) or (record["wrong_here"] >= 3 and not hidden)


def place_text(record: dict[str, Any]) -> str:
    """Where a session is, in a few words: "lesson 5 p2/4 ?" (? an open question, ✓ settled),
    "walkthrough w1 s3/9", "matrix w2 s4/11", "learn", or "-" before its first report."""
    if record.get("lesson") is not None:
        mark = "" if record.get("question") is None else (" ✓" if record.get("settled") else " ?")
        return f"lesson {record['lesson']} p{record['page']}/{record['pages']}{mark}"
    if record.get("view") is None:
        return "-"
    if record["view"] == "learn":  # its word and step are the view's under it, not the training's
        return "learn"
    return f"{record['view']} w{record['word']} s{record['step']}/{record['steps']}"


def duration_text(seconds: float | None) -> str:
    """"42s", "12m05s", "2h03m"."""
    if seconds is None:
        return "-"
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def lead_text(lead: dict[str, Any]) -> str:
    """What the instructor leads: "leading lesson 5 page 2 (locked)", or "not leading"."""
    goto = lead.get("goto")
    if not lead.get("following"):
        return "not leading"
    if goto is None:
        where = "the room"
    elif "lesson" in goto:
        where = f"lesson {goto['lesson']} page {goto['page']}"
    else:
        where = f"{goto['view']} word {goto['word']} step {goto['step']}"
    return f"leading {where}" + (" (locked)" if lead.get("locked") else "")


def parse_goto(text: str) -> dict[str, Any] | None:
    """"5 2" (or "5.2", "5/2") -> lesson 5 page 2; "w 1 3" or "m 2 4" (or the view's whole
    name) -> view, word, step; anything else -> None."""
    words = re.split(r"[\s./,]+", text.strip().lower())
    try:
        if len(words) == 2:
            goto: dict[str, Any] = {"lesson": int(words[0]), "page": int(words[1])}
            return goto if _fits(goto, [_GOTO_LESSON]) else None
        if len(words) == 3:
            view = next((v for v in LEAD_VIEWS if v.startswith(words[0]) and words[0]), None)
            goto = {"view": view, "word": int(words[1]), "step": int(words[2])}
            return goto if _fits(goto, [_GOTO_STEP]) else None
    except ValueError:
        pass
    return None
