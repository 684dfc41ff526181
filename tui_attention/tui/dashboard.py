"""`tui-attention serve dashboard`: the instructor's live view of a running workshop server.

It talks to the server only through its control socket, in `infra.channel`'s requests
(status, answers, goto, release, reveal, message), once a second and on each key. On screen:

    a line: the server, how many sessions (how many stuck), the lead; the sort and filter at its end
    the sessions: short id, name (with --ask-name), connected, idle, where, right, wrong, flags;
        of a question not revealed (nor shown, a) who answered, not who was right
    the clicker: the answers to one question as bars (one per choice, or numeric answers
        binned): each session's first answer counts; the right one is marked ✓ only once
        revealed to the room (r, or `serve lead --reveal`), or when the instructor asks (a)
    the keys (footer); below MIN_WIDTH x MIN_HEIGHT, only a line asking for a larger terminal

The question is the one most of the room is on, or one the instructor picks (c). "Stuck" (s
shows only them) is on the same place for more than --stuck-minutes (unless a locked lead
holds it there), or 3 wrong answers there (unless hidden). The lessons (for the question's text
and right answer) are read as the tutor reads them. A server stopped, it waits for one of its kind.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import DataTable, Footer, Static

from tui_attention.i18n import _, ngettext
from tui_attention.infra.channel import (LEAD_VIEWS, MAX_REPLY, MAX_TEXT, STUCK_MINUTES, ChannelError, answers_csv,
                                         decode_reply, duration_text, encode, lead_text, parse_goto, place_text,
                                         printable_problem, stuck)
from tui_attention.infra.files import write_atomic
from tui_attention.tui.widgets.render import fit_cells

POLL = 1.0  # seconds between two looks at the room
BAR = 30  # cells of the longest bar
LABEL = 12  # cells of a choice's text at least (more as the width allows)
NAME = 16  # cells of a name at most (fewer where the width needs them for the other columns)
CLICKER_HEIGHT = 14  # lines of the clicker at most, its border included
# The header line, the clicker at its tallest, the table's header and 3 rows, the footer; and the
# id, name and place columns.
MIN_WIDTH, MIN_HEIGHT = 60, 1 + CLICKER_HEIGHT + 4 + 1
SORTS = ("id", "name", "place", "idle", "wrong")
KEYS = Text(_("f: everyone to the selected session's place · [ ]: lead to the previous/next page · c: another "
              "question · o: sort · s: only the stuck"), style="dim")


@dataclass(frozen=True)
class QuestionInfo:
    """What the dashboard shows of one question: where, its prompt, its choices (empty for a
    numeric one), the right choice (1-based) or the right value and its tolerance."""

    id: str
    lesson: int
    page: int
    kind: str
    prompt: str
    choices: tuple[str, ...]
    right: int | None
    value: float | None
    tolerance: float | None
    decimals: int


def load_questions() -> dict[str, QuestionInfo]:
    """Every lesson question, rendered from its page's numbers as the tutor renders it."""
    from tui_attention.core import compute
    from tui_attention.lessons import evaluate, render_page

    found: dict[str, QuestionInfo] = {}
    for lesson in lessons():
        for page in lesson.pages:
            q = page.question
            if q is None:
                continue
            try:
                trace = compute(page.config())
                rendered = render_page(page, trace).question
                if q.kind == "choice":
                    right = (int(evaluate(q.answer, trace)) if q.token_choices
                             else next(k for k, c in enumerate(q.choices, 1) if c.correct))
                    value = tolerance = None
                else:
                    right, value, tolerance = None, float(evaluate(q.answer, trace)), q.tolerance
            except Exception:  # a lesson the tutor cannot render either: no bars for it
                continue
            found[q.id] = QuestionInfo(q.id, lesson.number, page.number, q.kind, rendered.prompt,
                                       rendered.choices, right, value, tolerance, max(q.decimals, 0))
    return found


@functools.lru_cache(maxsize=1)
def lessons() -> tuple:
    """The lessons the tutors have (for checking a lead before it is sent)."""
    from tui_attention.lessons import load_lessons

    return tuple(load_lessons(validate=False))


def goto_problem(text: str, scenario: dict[str, Any] | None = None) -> str | None:
    """Why the goto prompt's `text` leads nowhere, or None; a step is checked against the
    server's `scenario` (its status' "scenario": words, steps of each view), if known."""
    from tui_attention.lessons.places import page_problem

    goto = parse_goto(text)
    if not goto:
        return _("Type \"5 2\", \"w 1 3\" or \"m 1 4\".")
    problem = None
    if "lesson" in goto:
        problem = page_problem(lessons(), goto["lesson"], goto["page"])
    elif scenario:  # a tutor clamps a step past its scenario's without a word: the room would be elsewhere
        tops = {"word": (_("the sentence has words"), scenario["words"]),
                "step": (_("the {view} view has steps").format(view=goto["view"]), scenario["steps"][goto["view"]])}
        problem = next((f"{what} 1-{top}, not {goto[k]}" for k, (what, top) in tops.items() if goto[k] > top), None)
    return None if problem is None else problem[0].upper() + problem[1:] + "."


def first_answers(rows: list[dict[str, Any]], question: str, present: set[str] | None = None) -> list[dict[str, Any]]:
    """Each session's first answer to `question` (the prediction, before any feedback); only
    the sessions in `present` (the room now) unless it is None."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["question"] == question and (present is None or row["session"] in present):
            seen.setdefault(row["session"], row)
    return list(seen.values())


def bars(rows: list[dict[str, Any]], info: QuestionInfo, present: set[str] | None = None,
         marked: bool = True) -> list[tuple[str, int, bool]]:
    """(label, how many, is it right) per bar, from each session's first answer (of the sessions
    `present`): one per choice; or, for a numeric question, the right answers (within the
    tolerance) and the wrong values, each value or four equal bins. Not `marked` (the answer not
    revealed yet), no bar is right and a numeric question's values are all binned together:
    a bar labelled with the right value would give it away."""
    answers = first_answers(rows, info.id, present)
    if info.kind == "choice":
        counts = Counter(row["choice"] for row in answers)
        return [(f"{k} {label}", counts[k], marked and k == info.right) for k, label in enumerate(info.choices, 1)]
    d = info.decimals
    if not marked:
        return _spread(sorted(row["value"] for row in answers if row["value"] is not None), d)
    right = sum(1 for row in answers if row["correct"])
    out = [(_("{value:+.{d}f} ± {tol:g}").format(value=info.value, d=d, tol=info.tolerance), right, True)]
    return out + _spread(sorted(row["value"] for row in answers if not row["correct"] and row["value"] is not None), d)


def _spread(values: list[float], d: int) -> list[tuple[str, int, bool]]:
    """Bars of sorted `values`: one per value, or four equal bins when there are more than 4."""
    if len(set(values)) <= 4:
        return [(f"{value:+.{d}f}", count, False) for value, count in sorted(Counter(values).items())]
    low, width = values[0], (values[-1] - values[0]) / 4
    edges = [(low + k * width, low + (k + 1) * width) for k in range(4)]
    return [(f"{a:+.{d}f} to {b:+.{d}f}", sum(1 for v in values if a <= v < b or (k == 3 and v == values[-1])), False)
            for k, (a, b) in enumerate(edges)]


def no_key(path: Path) -> bytes:
    raise ConnectionError("no key to the server's control socket")


class ServerGone(ConnectionError):
    """The server is not there any more: its socket is gone, or nobody listens at it."""


class RoomClient:
    """One connection to a server's control socket: `ask(kind, **fields)` sends a request and
    returns its reply (ConnectionError when the server cannot be reached or refuses).

    key: the server's key, given its socket (read from the file beside it; ConnectionError if it
    cannot be), sent first on each connection: the server reads nothing before it."""

    def __init__(self, path: Path, key: Callable[[Path], bytes] = no_key) -> None:
        self.path, self.key = path, key
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def ask(self, kind: str, **fields: Any) -> dict[str, Any]:
        async with self._lock:
            try:
                if self._streams is None:
                    key = self.key(self.path)
                    self._streams = await asyncio.open_unix_connection(str(self.path), limit=MAX_REPLY + 1)
                    self._streams[1].write(key + b"\n")
                reader, writer = self._streams
                writer.write(encode(kind, **fields))
                await writer.drain()
                line = await asyncio.wait_for(reader.readline(), 5)
                if not line:
                    raise ConnectionError("the server hung up")
                reply = decode_reply(line)
            except (OSError, ValueError, ChannelError, TimeoutError, asyncio.IncompleteReadError) as exc:
                self.close()
                # One that stops removes its socket before it hangs up; one killed leaves it, unheard.
                if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)) or not self.path.exists():
                    raise ServerGone(str(exc) or type(exc).__name__) from None
                raise ConnectionError(str(exc) or type(exc).__name__) from None
        if reply["kind"] == "error":
            raise ConnectionError(str(reply.get("error")))
        return reply

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


class DashboardApp(App[int]):
    """The instructor's dashboard for the server listening at `path` (a control socket)."""

    TITLE = "tui-attention dashboard"
    CSS = f"""
    #room {{ height: 1; background: $primary-background; text-style: bold; }}
    #sessions {{ height: 1fr; }}
    #clicker {{ height: auto; max-height: {CLICKER_HEIGHT}; border: round $accent; padding: 0 1; }}
    #enlarge {{ display: none; height: 1fr; content-align: center middle; text-style: bold; }}
    Screen.-too-small #room, Screen.-too-small #sessions, Screen.-too-small #clicker {{ display: none; }}
    Screen.-too-small #enlarge {{ display: block; }}
    """
    BINDINGS = [
        Binding("g", "goto", _("Go to"), id="dashboard.goto"),
        Binding("f", "bring_to_selected", _("To selected"), show=False, id="dashboard.bring"),
        Binding("right_square_bracket", "turn(1)", _("Next page"), show=False, id="dashboard.next_page"),
        Binding("left_square_bracket", "turn(-1)", _("Prev page"), show=False, id="dashboard.prev_page"),
        Binding("k", "lock", _("Lock"), id="dashboard.lock"),
        Binding("r", "reveal", _("Reveal"), id="dashboard.reveal"),
        Binding("u", "release", _("Release"), id="dashboard.release"),
        Binding("m", "message", _("Message"), id="dashboard.message"),
        Binding("o", "sort", _("Sort"), show=False, id="dashboard.sort"),
        Binding("s", "stuck", _("Stuck"), show=False, id="dashboard.stuck"),
        Binding("c", "question", _("Question"), show=False, id="dashboard.question"),
        Binding("a", "answer", _("Answer"), show=False, id="dashboard.answer"),
        Binding("x", "export", _("Export"), id="dashboard.export"),
        Binding("q", "quit", _("Quit"), id="dashboard.quit"),
    ]

    def __init__(self, path: Path, *, key: Callable[[Path], bytes] = no_key,
                 find: Callable[[], list[Path]] | None = None, stuck_minutes: int = STUCK_MINUTES,
                 answers_dir: Path | None = None) -> None:
        super().__init__()
        self.theme = "textual-dark"
        self.client = RoomClient(path, key)
        self.find = find  # the sockets of the running servers of `path`'s kind (run in a thread: it connects)
        self.stuck_minutes = stuck_minutes
        self.answers_dir = answers_dir or Path.cwd()
        self.table: dict[str, Any] | None = None  # the last status reply
        self.rows: list[dict[str, Any]] = []  # the answer table so far
        self.questions: dict[str, QuestionInfo] | None = None
        self.picked: str | None = None  # the clicker's question; None: the one most of the room is on
        self.peeked: str | None = None  # the question whose right answer the instructor asked to see (a)
        self.sort = 0
        self.only_stuck = False
        self.lock = False
        self.led = False  # whether the room was led at the last look
        self.error: str | None = None  # the top line instead of the room's, while it cannot be reached
        self._polling = False

    def compose(self) -> ComposeResult:
        yield Static(id="room")
        table = DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        table.add_columns(_("id"), _("name"), _("on"), _("idle"), _("where"), "✓", "✗", "")
        yield table
        yield Static(id="clicker")
        yield Static(_("Please enlarge the terminal to {w}x{h}.").format(w=MIN_WIDTH, h=MIN_HEIGHT),
                     id="enlarge")
        yield Footer()

    def on_resize(self, event: Resize) -> None:
        # Below this the clicker (at its tallest) leaves the table no row: say so, as the tutor does.
        self.screen_stack[0].set_class(event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT, "-too-small")
        if self.table is not None:  # names and choice labels are cut to the width: again, now
            self.call_after_refresh(self.show)

    async def on_mount(self) -> None:
        self.questions = await asyncio.get_running_loop().run_in_executor(None, load_questions)
        await self.poll()
        self.set_interval(POLL, self.poll)

    async def on_unmount(self) -> None:
        self.client.close()

    # --- looking at the room ---------------------------------------------------------------
    async def poll(self) -> None:
        if self._polling:
            return
        self._polling = True
        try:
            try:
                await self._look()
            except ServerGone:
                if not await self._attach_again():
                    raise
                await self._look()
            self.error = None
        except ConnectionError as exc:
            gone = isinstance(exc, ServerGone)  # said plainly: no key file's path, no errno
            if self.error is None and not gone:  # the header cuts it at 80 columns: once whole, as a notice
                self.notify(_("Cannot reach the server: {why}").format(why=exc), severity="error", timeout=20,
                            markup=False)
            self.error = self._waiting if gone else _("cannot reach the server: {why}").format(why=exc)
            self.table = None  # no stale rows of sessions that may be gone; the answers so far stay (x)
        finally:
            self._polling = False
        self.show()

    async def _look(self) -> None:
        self.table = await self.client.ask("status")
        lead = self.table.get("lead") or {}
        # The room's lock, whoever set it (`serve lead` too); released from anywhere, free as after u.
        if lead.get("following") or self.led:
            self.lock = bool(lead.get("following") and lead.get("locked"))
        self.led = bool(lead.get("following"))
        while (reply := await self.client.ask("answers", since=len(self.rows)))["rows"]:
            self.rows += reply["rows"]

    async def _attach_again(self) -> bool:
        """The server stopped: attach to the one of its kind running now (another pid, so another
        socket), if there is exactly one; else False, and `_waiting` says why."""
        found = await asyncio.get_running_loop().run_in_executor(None, self.find) if self.find else []
        self._waiting = (_("the server stopped; waiting for it to start again (q quits)") if len(found) < 2 else _(
            "the server stopped; {n} of its kind run now: quit (q), choose one with --server").format(n=len(found)))
        if len(found) != 1:
            return False
        self.client.close()
        self.client.path = found[0]
        # Another server starts afresh: its answer table (old rows would shift `since`) and its lead.
        self.rows, self.picked, self.peeked, self.led, self.lock = [], None, None, False, False
        self.notify(_("Attached to the server started again ({name}).").format(name=found[0].stem), timeout=8,
                    markup=False)
        return True

    def sessions(self, hidden: set[str], kept: set[str]) -> list[dict[str, Any]]:
        """The rows in the chosen order (only the stuck, if so); `hidden`, `kept`: `hidden()`."""
        records = list((self.table or {}).get("sessions", []))
        if self.only_stuck:
            records = [r for r in records if stuck(r, self.stuck_minutes, r["question"] in hidden)]
        key = SORTS[self.sort]
        # An id ("10-dde1") by its count, the order the sessions came: as text, 10 came before 2.
        order = {"id": lambda r: (r["id"].find("-"), r["id"]),
                 "name": lambda r: ((r["name"] or "~").lower(), r["id"].find("-"), r["id"]),
                 "place": lambda r: (r["lesson"] or 0, r["page"] or 0, r["view"] or "", r["word"] or 0,
                                     r["step"] or 0),
                 "idle": lambda r: -r["idle"],  # and counts kept back go last, alike: their order would tell
                 "wrong": lambda r: ((1, 0) if r["id"] in kept else (0, -r["answers"]["wrong"]),
                                     r["id"].find("-"), r["id"])}[key]
        return sorted(records, key=order)

    def hidden(self) -> tuple[set[str], set[str]]:
        """The questions open (on a screen or in the clicker), not revealed nor shown here (a); the
        sessions that answered one (settled or wrong there: a row may be left out), kept back."""
        records = (self.table or {}).get("sessions", [])
        open_now = {r["question"] for r in records if r["question"]} | {self.question()[0]}
        hidden = {q for q in open_now if q is not None and not self.revealed(q) and q != self.peeked}
        return hidden, ({row["session"] for row in self.rows if row["question"] in hidden}
                        | {r["id"] for r in records if r["question"] in hidden and (r["settled"] or r["wrong_here"])})

    def question(self) -> tuple[str | None, str]:
        """The clicker's question and why it is that one: the one picked, else the one most of
        the room is on, else the one answered last."""
        if self.picked is not None:
            return self.picked, _("picked")
        on = Counter(r["question"] for r in (self.table or {}).get("sessions", []) if r["question"])
        if on:
            return on.most_common(1)[0][0], _("most of the room is on it")
        return (self.rows[-1]["question"], _("answered last")) if self.rows else (None, "")

    def present(self) -> set[str]:
        return {r["id"] for r in (self.table or {}).get("sessions", [])}

    def show(self) -> None:
        if not self.is_running:  # a poll that ended while the app closed: its widgets are gone
            return
        table = self.table or {"server": {}, "lead": {}, "sessions": [], "answers": 0}
        hidden, kept = self.hidden()
        self.query_one("#room", Static).update(Text(self.top_line(table, hidden), no_wrap=True))
        self._show_sessions(hidden, kept)
        self._show_clicker(len(table["sessions"]))

    def top_line(self, table: dict[str, Any], hidden: set[str]) -> str:
        """The room in a line of the screen's width, the sort and filter at its end kept whole (cut,
        the line lost them first)."""
        width = self.size.width
        if self.error:
            return fit_cells(" " + self.error, width)
        server, records, lead = table["server"], table["sessions"], table["lead"] or {}
        n_stuck = sum(1 for r in records if stuck(r, self.stuck_minutes, r["question"] in hidden))
        sessions = (ngettext("{n} session", "{n} sessions", len(records)) if self.only_stuck else  # rows: the stuck
                    ngettext("{n} session ({stuck} stuck)", "{n} sessions ({stuck} stuck)", len(records)))
        room = [f"{server.get('kind', '?')} :{server.get('port', '?')}", sessions.format(n=len(records), stuck=n_stuck),
                # Led, the lead says "(locked)" itself; not led, this is what k set for the next one.
                lead_text(lead) + (" · " + _("next lead locked") if self.lock and not lead.get("following") else "")]
        pinned = [_("sort: {key}").format(key=SORTS[self.sort])] + ([_("stuck only")] if self.only_stuck else [])
        if table.get("dropped"):  # the table stopped growing for someone: say so, not silently
            pinned.append(_("{n} answers left out of the table").format(n=table["dropped"]))
        end = " · " + " · ".join(pinned)
        if cell_len(" " + " · ".join(room) + end) > width:
            room = room[1:]  # the server's kind and port: the instructor knows them
        return fit_cells(" " + " · ".join(room), max(8, width - cell_len(end))) + end

    def _show_sessions(self, hidden: set[str], kept: set[str]) -> None:
        grid = self.query_one(DataTable)
        selected = self.selected()
        grid.clear()
        rows = []
        for r in self.sessions(hidden, kept):
            flags = "F" * bool(r["following"]) + "!" * stuck(r, self.stuck_minutes, r["question"] in hidden)
            where = place_text(r)
            if r["question"] in hidden and r["lesson"] is not None:  # its ✓ or ? would say who was right
                where = place_text({**r, "question": None}) + " " + (_("answered") if r["id"] in kept else "?")
            counts = ["-", "-"] if r["id"] in kept else [str(r["answers"]["right"]), str(r["answers"]["wrong"])]
            rows.append([r["id"], r["name"] or "", duration_text(r["connected"]), duration_text(r["idle"]), where,
                         *counts, flags])
        # A name gets what the others leave (each +2 padding, the scroll bar 2): a wide one hid the flags.
        others = sum(max(cell_len(x) for x in (str(column.label), *(row[k] for row in rows))) + 2
                     for k, column in enumerate(grid.columns.values()) if k != 1)
        name_width = max(8, min(NAME, self.size.width - others - 2 - 2))
        for row in rows:
            row[1] = fit_cells(row[1], name_width)
            # Text, not str: DataTable reads a str as markup, and a name is the attendee's.
            grid.add_row(*(Text(cell) for cell in row), key=row[0])
        if selected is not None and selected["id"] in grid.rows:
            grid.move_cursor(row=grid.get_row_index(selected["id"]), animate=False)

    def selected(self) -> dict[str, Any] | None:
        grid = self.query_one(DataTable)
        if not grid.row_count:
            return None
        key = grid.coordinate_to_cell_key((grid.cursor_row, 0)).row_key.value
        return next((r for r in (self.table or {}).get("sessions", []) if r["id"] == key), None)

    def clicker_lines(self, sessions: int) -> list[Text]:
        qid, how = self.question()
        info = (self.questions or {}).get(qid) if qid else None
        if info is None:
            return [Text(_("No question yet: the room's answers show here as bars."), style="dim"), KEYS]
        head = Text.assemble((_("Lesson {lesson}, page {page}").format(lesson=info.lesson, page=info.page), "bold"),
                             f" ({how}): ", info.prompt.replace("\n", " "))
        head.truncate(max(20, self.size.width - 4) * 2, overflow="ellipsis")
        lines = [head]
        marked = self.revealed(info.id) or self.peeked == info.id
        counted = bars(self.rows, info, self.present(), marked)
        top = max([count for _label, count, _right in counted] + [1])
        # A label has what the box (4) leaves beside mark, bar and count: a fixed 34 cut it at 120 columns.
        room = self.size.width - 4 - 2 - 1 - 1 - len(str(top))
        label_width = max(LABEL, min(max((cell_len(label) for label, _n, _right in counted), default=0), room - BAR))
        bar_width = max(1, min(BAR, room - label_width))
        for label, count, right in counted:
            short = fit_cells(label, label_width)
            lines.append(Text.assemble(("✓ " if right else "  ", "bold green"),
                                       short + " " * (label_width - cell_len(short) + 1),
                                       ("█" * round(bar_width * count / top),
                                        ("green" if right else "red") if marked else "cyan"), f" {count}"))
        answered = len(first_answers(self.rows, info.id, self.present()))
        how = (_("revealed") if self.revealed(info.id) else
               _("the answer shown here only (a hides it) · r reveals it to everyone") if marked else
               _("r reveals it to everyone · a shows it here only · until then the table says who answered, not "
                 "who was right"))
        lines.append(Text(_("{answered} of {sessions} sessions answered · {how}").format(
            answered=answered, sessions=sessions, how=how), style="dim"))
        return [*lines, KEYS]

    def revealed(self, question: str) -> bool:
        """Whether the room was shown `question`'s worked answer (r, `serve lead --reveal`: the server knows)."""
        revealed = (self.table or {}).get("revealed")
        return isinstance(revealed, list) and question in revealed

    def _show_clicker(self, sessions: int) -> None:
        self.query_one("#clicker", Static).update(Text("\n").join(self.clicker_lines(sessions)))

    # --- leading ------------------------------------------------------------------------------
    async def send(self, kind: str, **fields: Any) -> None:
        try:
            reply = await self.client.ask(kind, **fields)
        except ConnectionError as exc:
            self.notify(_("Not sent: {why}").format(why=exc), severity="error", markup=False)
            return
        if reply.get("unsent"):
            self.notify(_("Nothing sent: {why}.").format(why=reply["unsent"]), severity="warning", markup=False)
            return
        self.notify(ngettext("Sent to {count} session.", "Sent to {count} sessions.", reply["sent"]).format(
            count=reply["sent"]), timeout=3, markup=False)
        await self.poll()

    def _prompt(self, title: str, explain: str, validate, then) -> None:
        from tui_attention.tui.screens.forms import PromptScreen

        async def done(text: str | None) -> None:
            if text is not None:
                await then(text)

        self.push_screen(PromptScreen(title, "", validate, explain), done)

    def action_goto(self) -> None:
        async def go(text: str) -> None:
            await self.send("goto", **parse_goto(text), lock=self.lock)

        self._prompt(_("Bring everyone to"), _("A lesson page: \"5 2\". A step: \"w 1 3\" (walkthrough, word 1, "
                                              "step 3) or \"m 1 4\" (matrix view)."),
                     lambda text: goto_problem(text, (self.table or {}).get("scenario")), go)

    async def action_bring_to_selected(self) -> None:
        r = self.selected()
        if r is None or r["view"] is None:
            self.notify(_("Select a session that has reported where it is."), markup=False)
        elif r["lesson"] is not None:
            await self.send("goto", lesson=r["lesson"], page=r["page"], lock=self.lock)
        elif r["view"] not in LEAD_VIEWS:  # the learn view: a tutor cannot be led into it
            self.notify(_("The room cannot be led into the {view} view: select a session on a lesson page or a "
                          "step.").format(view=r["view"]), markup=False)
        else:
            await self.send("goto", view=r["view"], word=r["word"], step=r["step"], lock=self.lock)

    async def action_turn(self, delta: int) -> None:
        goto = ((self.table or {}).get("lead") or {}).get("goto") or {}
        if "lesson" not in goto:
            self.notify(_("Lead a lesson page first (g)."), markup=False)
            return
        from tui_attention.lessons.places import page_problem

        page = max(1, goto["page"] + delta)
        problem = page_problem(lessons(), goto["lesson"], page)
        if problem is not None:
            self.notify(problem[0].upper() + problem[1:] + ".", markup=False)
            return
        await self.send("goto", lesson=goto["lesson"], page=page, lock=self.lock)

    async def action_lock(self) -> None:
        self.lock = not self.lock
        lead = (self.table or {}).get("lead") or {}
        if lead.get("following") and lead.get("goto"):  # the room is led now: lock or unlock it now
            await self.send("goto", **lead["goto"], lock=self.lock)
        else:
            self.show()

    async def action_reveal(self) -> None:
        await self.send("reveal", question=self.question()[0])

    async def action_release(self) -> None:
        self.lock = False
        await self.send("release")

    def action_message(self) -> None:
        async def say(text: str) -> None:
            await self.send("message", text=text)

        self._prompt(_("Message to everyone"), _("One line, shown to every attendee."),
                     lambda text: printable_problem(text, MAX_TEXT), say)

    def action_sort(self) -> None:
        self.sort = (self.sort + 1) % len(SORTS)
        self.show()

    def action_stuck(self) -> None:
        self.only_stuck = not self.only_stuck
        self.show()

    def action_question(self) -> None:
        """Cycle the clicker's question: most of the room, then each question answered so far."""
        asked = list(dict.fromkeys(row["question"] for row in self.rows))
        if self.picked is None:
            self.picked = asked[0] if asked else None
        else:
            k = asked.index(self.picked) + 1 if self.picked in asked else len(asked)
            self.picked = asked[k] if k < len(asked) else None
        self.show()

    def action_answer(self) -> None:
        """a: mark the clicker question's right answer here (on the projector too), or hide it
        again; the room's tutors are not told. Another question starts hidden."""
        qid = self.question()[0]
        self.peeked = None if qid is None or self.peeked == qid else qid
        self.show()

    def action_export(self) -> str | None:
        kind = ((self.table or {}).get("server") or {}).get("kind", "server")
        path = self.answers_dir / time.strftime(f"answers-{kind}-%Y%m%d-%H%M%S.csv")
        try:
            write_atomic(path, answers_csv(self.rows), make_parents=True)
        except OSError as exc:
            self.notify(_("Could not write {path}: {why}").format(path=path, why=exc.strerror or exc),
                        severity="error", markup=False)
            return None
        self.notify(_("Wrote {n} answers to {path}").format(n=len(self.rows), path=path), timeout=8, markup=False)
        return str(path)
