"""`tui-attention serve status|lead|answers|dashboard`: the instructor's side of a running
workshop server on this machine, through its control socket (`serve.control`).

    serve status [--format text|json] [--server ID]     the live table of sessions
    serve lead (--lesson L [--page P] | --view V --word W --step S) [--lock]
               | --release | --reveal [QUESTION] | --message TEXT   [--server ID]
    serve answers [--output FILE] [--server ID]          the anonymous answer table as CSV
    serve dashboard [--server ID] [--stuck-minutes N]    all of it, live, in a Textual app

ID is a server's pid, its kind (ssh or web) or its socket's path; it may be left out while
one server runs. `attach` gives a server started by `serve ssh|web` its room and socket.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tui_attention.i18n import _, ngettext
from tui_attention.infra.channel import (LEAD_VIEWS, MAX_TEXT, STUCK_MINUTES, answers_csv, duration_text, lead_text,
                                         place_text, printable_problem, stuck)
from tui_attention.infra.paths import data_dir
from tui_attention.serve.control import (ControlError, RoomServer, control_dir, default_answers_path, discover,
                                         read_key, request)
from tui_attention.serve.room import Room, lead_problem

from .options import UsageError, check_new_file, config_from_args


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("must be a whole number, got {text!r}").format(text=text)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("must be 1 or more, got {value}").format(value=value))
    return value


def server_options(p: argparse.ArgumentParser) -> None:
    """--ask-name and --answers, for `serve ssh` and `serve web`."""
    p.add_argument("--ask-name", action="store_true",
                   help=_("ask each attendee for a name at start (shown in the dashboard and nowhere else)"))
    p.add_argument("--answers", metavar="FILE",
                   help=_("where the anonymous answer table (CSV) is written when the server stops (default: "
                          "answers-KIND-DATE-TIME.csv in {folder})").format(folder=data_dir() / "answers"))
    p.add_argument("--no-room", action="store_true",
                   help=_("serve without the instructor's view: no channel to the tutors, no control socket "
                          "(benchmarks/ssh_load.py --no-channel measures what the channel costs)"))


def check_server_options(args: argparse.Namespace) -> None:
    """--answers is written when the server stops, hours on: a name that cannot be written then
    is refused now, or the room's answers would be lost with it."""
    if args.answers is not None and not args.no_room and not getattr(args, "behind_jupyter", False):
        check_new_file(args.answers, f"tui-attention serve {args.serve_command}", "--answers")


def attach(server, args: argparse.Namespace):
    """`server` with a room (each tutor reports to it) and a control socket for the instructor,
    as a `RoomServer`; a server behind Jupyter (one user's own tutor) stays as it is."""
    if args.no_room or getattr(args, "behind_jupyter", False):
        return server
    room = Room(ask_name=args.ask_name, scenario=scenario_shape(args))
    server.room = room
    kind = args.serve_command
    answers = Path(args.answers) if args.answers is not None else default_answers_path(kind, data_dir() / "answers")
    return RoomServer(server, room, kind, answers)


def scenario_shape(args: argparse.Namespace) -> dict:
    """The server's scenario as `Room` checks a lead against it: how many words, how many steps
    each view has (the serve command has checked the options already)."""
    from tui_attention.steps.state import STEPS_PER_WORD
    from tui_attention.steps.step import matrix_step_kinds

    config = config_from_args(args, interactive=True)
    return {"words": len(config.tokens),
            "steps": {"walkthrough": STEPS_PER_WORD, "matrix": len(matrix_step_kinds(config.heads))}}


def register(sub, shared: argparse.ArgumentParser) -> None:
    def with_server(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--server", metavar="ID",
                       help=_("which running server: its pid, its kind (ssh or web) or its control socket"))
        return p

    status = with_server(sub.add_parser(
        "status", help=_("the live table of a running server's sessions"),
        description=_("Print where each attendee of the workshop servers running here is: lesson and page, or "
                      "view, word and step; how long connected and idle; right and wrong answers.")))
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(func=cmd_status)

    lead = with_server(sub.add_parser(
        "lead", help=_("bring every attendee to a lesson page or a step, reveal, release, or send a message"),
        description=_("Lead the room: --lesson L [--page P] or --view V --word W --step S bring every attendee "
                      "there and into follow mode (--lock: they cannot leave it); --release lets them go; "
                      "--reveal shows the open question's worked answer to everyone; --message sends one line.")))
    lead.add_argument("--lesson", type=_positive, metavar="L")
    lead.add_argument("--page", type=_positive, metavar="P")
    lead.add_argument("--view", choices=LEAD_VIEWS)
    lead.add_argument("--word", type=_positive, metavar="W")
    lead.add_argument("--step", type=_positive, metavar="S")
    lead.add_argument("--lock", action="store_true", help=_("attendees cannot leave follow mode"))
    lead.add_argument("--release", action="store_true", help=_("end follow mode for everyone"))
    lead.add_argument("--reveal", nargs="?", const="", metavar="QUESTION",
                      help=_("show the worked answer of the open question (of QUESTION only, e.g. 05-softmax/3)"))
    lead.add_argument("--message", metavar="TEXT", help=_("show one line to every attendee"))
    lead.set_defaults(func=cmd_lead)

    answers = with_server(sub.add_parser(
        "answers", help=_("the anonymous answer table as CSV"),
        description=_("Print (or write to --output) every answer given so far: session id, seconds since the "
                      "server started, lesson, page, question, right or wrong, the choice or value.")))
    answers.add_argument("--output", metavar="FILE")
    answers.set_defaults(func=cmd_answers)

    dashboard = with_server(sub.add_parser(
        "dashboard", help=_("the instructor's live view of a running server"),
        description=_("A live table of the sessions, the room's answers as bars, and keys to lead, reveal, "
                      "release, send a message, sort, filter the stuck, and export the answers.")))
    dashboard.add_argument("--stuck-minutes", type=_positive, default=STUCK_MINUTES, metavar="N",
                           help=_("stuck: on the same place for more than N minutes (or 3 wrong answers there)"))
    dashboard.set_defaults(func=cmd_dashboard)


# --- finding the server -----------------------------------------------------------------------
def _servers(choice: str | None) -> list[Path]:
    try:
        found = discover()
    except ControlError as exc:
        raise UsageError(f"tui-attention serve: {exc}") from None
    if choice is not None:
        found = [p for p in found if choice in (str(p), p.stem, p.stem.split("-")[0], p.stem.split("-")[-1])]
        if not found:
            raise UsageError(_("tui-attention serve: no running server of yours matches --server {id}").format(
                id=choice))
    if not found:
        # A server started with another XDG_RUNTIME_DIR keeps its socket in another folder.
        raise UsageError(_("tui-attention serve: no workshop server of yours is running on this machine (none "
                           "has its socket in {folder}: give XDG_RUNTIME_DIR as the server had it)").format(
                               folder=control_dir()))
    return found


def one_server(choice: str | None) -> Path:
    found = _servers(choice)
    if len(found) > 1:
        names = ", ".join(p.stem for p in found)
        raise UsageError(_("tui-attention serve: several servers are running ({names}): choose one with "
                           "--server").format(names=names))
    return found[0]


def _ask(path: Path, kind: str, /, *, command: str = "tui-attention serve", **fields) -> dict:
    try:
        return request(path, kind, **fields)
    except ControlError as exc:
        raise UsageError(f"{command}: {exc}") from None


# --- the commands -------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    tables = []
    for path in _servers(args.server):
        reply = _ask(path, "status")
        tables.append({"dropped": 0, "revealed": [], **{k: v for k, v in reply.items() if k not in ("v", "kind")}})
    if args.format == "json":
        print(json.dumps(tables, indent=2, ensure_ascii=False))
        return 0
    for table in tables:
        print(status_text(table))
    return 0


def status_text(table: dict) -> str:
    server = table["server"]
    lines = [f"{server.get('kind', '?')} server on port {server.get('port', '?')} (pid {server.get('pid', '?')}): "
             + ngettext("{n} session", "{n} sessions", len(table["sessions"])).format(n=len(table["sessions"]))
             + f", {lead_text(table['lead'])}, "
             + ngettext("{n} answer", "{n} answers", table["answers"]).format(n=table["answers"])
             + (f" ({dropped} more left out of the table: past the cap per session)"
                if (dropped := table.get("dropped", 0)) else "")]
    if table["sessions"]:
        lines.append(f"  {'id':<8} {'name':<16} {'connected':>9} {'idle':>7}  {'where':<24} {'right':>5} {'wrong':>5}"
                     "  flags")
    # Padded and cut by terminal cells, not characters: a name in CJK or with an emoji takes two a
    # character, and one cut without a mark looked whole ("… ok" lost its " ok").
    from rich.cells import cell_len, set_cell_size

    def left(text: str, width: int) -> str:
        if cell_len(text) > width:
            text = set_cell_size(text, width - 1).rstrip() + "…"
        return text + " " * max(0, width - cell_len(text))

    for s in table["sessions"]:
        flags = ("F" if s["following"] else "") + ("!" if stuck(s, STUCK_MINUTES) else "")
        lines.append(f"  {left(s['id'], 8)} {left(s['name'] or '', 16)} {duration_text(s['connected']):>9} "
                     f"{duration_text(s['idle']):>7}  {left(place_text(s), 24)} {s['answers']['right']:>5} "
                     f"{s['answers']['wrong']:>5}  {flags}".rstrip())
    return "\n".join(lines)


def lead_request(args: argparse.Namespace) -> tuple[str, dict]:
    """The control request `serve lead`'s options ask for; UsageError for a wrong combination."""
    chosen = [name for name, on in (("--lesson", args.lesson is not None), ("--view", args.view is not None),
                                    ("--release", args.release), ("--reveal", args.reveal is not None),
                                    ("--message", args.message is not None)) if on]
    if len(chosen) != 1:
        raise UsageError(_("tui-attention serve lead: give exactly one of --lesson, --view, --release, --reveal, "
                           "--message"))
    step_options = args.word is not None or args.step is not None
    if args.lesson is not None:
        if step_options:
            raise UsageError(_("tui-attention serve lead: --word and --step go with --view, not --lesson"))
        return "goto", {"lesson": args.lesson, "page": args.page or 1, "lock": args.lock}
    if args.page is not None:
        raise UsageError(_("tui-attention serve lead: --page goes with --lesson"))
    if args.view is not None:
        return "goto", {"view": args.view, "word": args.word or 1, "step": args.step or 1, "lock": args.lock}
    if args.lock or step_options:
        raise UsageError(_("tui-attention serve lead: --lock, --word and --step go with --lesson or --view"))
    if args.release:
        return "release", {}
    if args.reveal is not None:
        return "reveal", {"question": args.reveal or None}
    problem = printable_problem(args.message, MAX_TEXT)
    if problem is not None:
        raise UsageError(_("tui-attention serve lead: --message: {problem}").format(problem=problem))
    return "message", {"text": args.message}


def check_lead(kind: str, fields: dict) -> None:
    """UsageError for a lesson page or a question the tutors do not have."""
    from tui_attention.lessons import load_lessons
    from tui_attention.lessons.places import page_problem, question_problem

    if kind == "goto" and "lesson" in fields:
        problem = page_problem(load_lessons(validate=False), fields["lesson"], fields["page"])
    elif kind == "reveal" and fields["question"] is not None:
        problem = question_problem(load_lessons(validate=False), fields["question"])
    else:
        return
    if problem is not None:
        raise UsageError(_("tui-attention serve lead: {problem}").format(problem=problem))


def cmd_lead(args: argparse.Namespace) -> int:
    kind, fields = lead_request(args)
    check_lead(kind, fields)
    path = one_server(args.server)
    command = "tui-attention serve lead"
    if kind == "goto" and "view" in fields:
        # Checked here against the server's own scenario, to name the option: a tutor clamps a
        # step past its scenario's, so "--word 9" of 5 took the room to word 5 and said nothing.
        problem = lead_problem(fields, _ask(path, "status", command=command).get("scenario"))
        if problem is not None:
            raise UsageError(f"{command}: --{problem[0]}: {problem[1]}")
    reply = _ask(path, kind, command=command, **fields)
    if reply.get("unsent"):  # a valid request that had nothing to do: 1, not a usage error's 2
        print(_("{command}: nothing sent: {why}").format(command=command, why=reply["unsent"]), file=sys.stderr)
        return 1
    sent = reply.get("sent", 0)
    print(ngettext("sent to {count} session", "sent to {count} sessions", sent).format(count=sent))
    return 0


def fetch_answers(path: Path) -> list[dict]:
    rows: list[dict] = []
    while True:
        reply = _ask(path, "answers", since=len(rows))
        rows += reply.get("rows", [])
        if not reply.get("rows"):
            return rows


def cmd_answers(args: argparse.Namespace) -> int:
    out = check_new_file(args.output, "tui-attention serve answers", "--output") if args.output is not None else None
    text = answers_csv(fetch_answers(one_server(args.server)))
    if out is None:
        sys.stdout.write(text)
        return 0
    from tui_attention.infra.files import write_atomic

    try:
        write_atomic(out, text)
    except OSError as exc:
        raise UsageError(_("tui-attention serve answers: cannot write {path}: {why}").format(
            path=out, why=exc.strerror or exc)) from None
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from .run import check_terminal

    path = one_server(args.server)
    check_terminal()
    from tui_attention.tui.dashboard import DashboardApp

    DashboardApp(path, key=dashboard_key, find=servers_like(path), stuck_minutes=args.stuck_minutes,
                 answers_dir=data_dir() / "answers").run()
    return 0


def dashboard_key(socket: Path) -> bytes:
    """The key of the server at `socket`, for the dashboard: read at each connection, as
    `request` reads it; ConnectionError if it cannot be."""
    try:
        return read_key(socket)
    except ControlError as exc:
        raise ConnectionError(str(exc)) from None


def servers_like(path: Path):
    """For the dashboard: the sockets of the running servers of the kind (ssh, web) of the one at
    `path`. One started again has another pid, so another socket."""
    kind = path.stem.split("-")[0]

    def find() -> list[Path]:
        try:
            return [p for p in discover() if p.stem.split("-")[0] == kind]
        except ControlError:  # no control folder yet: no server
            return []

    return find
