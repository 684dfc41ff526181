"""`tui-attention serve ssh|web`: the workshop server's command line.

The scenario and lesson are checked here, once, with the tutor's own rules;
the servers in `tui_attention.serve` then know the tutor only as a command
line to start for each attendee. asyncssh and textual-serve come with the
`workshop` extra and are imported only when a server actually starts, so the
rest of the tutor works without them.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from tui_attention.core.config import brief_repr
from tui_attention.i18n import _
from tui_attention.infra.urls import public_url_problem
from tui_attention.serve.budget import MAX_MB, default_budget_mb
from tui_attention.serve.child import Limits, confinement_status, tutor_argv
from tui_attention.serve.jupyter import MIN_SECRET_CHARS, PROXY_SECRET_ENV

from . import room
from .options import UsageError, check_lesson_number, config_from_args, scenario_argv

EXTRA_HINT = "pip install 'tui-attention[workshop]'"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("must be a port number, got {text!r}").format(text=text)) from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(_("must be between 0 and 65535, got {value}").format(value=value))
    return value


# Upper bounds of the servers' numeric options. Past them a value is a typo, not a plan, and
# some were taken and failed only later: --memory-limit 99999999999999999 (or --cpu-limit
# 9223372036854775807) started the server, then every attendee's tutor died in the child
# wrapper, whose setrlimit cannot take it.
MAX_SECONDS = 10_000_000  # about 115 days: longer than any workshop, within every kernel's limits
MAX_COUNT = 10_000  # tutors, per address or at once: far past what one server's CPUs can run
# The least address space a tutor starts in is about 170 MB (Python, numpy and OpenBLAS with one
# thread, Textual; MALLOC_ARENA_MAX=2): under it every tutor failed, "OpenBLAS error: Memory
# allocation still failed" or a MemoryError on its first screen. 256 MB leaves a margin for
# another Python, NumPy or glibc (under it the tutor's address space peaked at 236 MB, as it
# reserves more where it may: 300 MB without a limit).
MIN_MEMORY_LIMIT_MB = 256


def _whole(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_("must be a whole number, got {text}").format(
                text=brief_repr(text))) from None
        if maximum is not None and not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(_("must be at least {minimum} and at most {maximum}, got {value}").format(
                minimum=minimum, maximum=maximum, value=brief_repr(value)))
        if value < minimum:
            raise argparse.ArgumentTypeError(_("must be at least {minimum}, got {value}").format(
                minimum=minimum, value=brief_repr(value)))
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("must be a number of seconds, got {text}").format(
            text=brief_repr(text))) from None
    if not 0 <= value <= MAX_SECONDS:  # NaN too
        raise argparse.ArgumentTypeError(_("must be at least 0 and at most {maximum} seconds, got {text}").format(
            maximum=MAX_SECONDS, text=brief_repr(text)))
    return value


def _public_url(text: str) -> str:
    """--public-url: an http or https address with a host, and no query or fragment, as
    textual-serve appends its own paths to it (a bare word failed every page load); the rule
    `TutorWebServer` itself checks (`infra.urls`)."""
    if (problem := public_url_problem(text)) is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _server_parser(sub, shared: argparse.ArgumentParser, name: str, default_port: int, help_: str,
                   description: str) -> argparse.ArgumentParser:
    """`serve NAME` with the scenario options and what every server takes."""
    p = sub.add_parser(name, parents=[shared], help=help_, description=description)
    p.add_argument("--host", default="127.0.0.1",
                   help=_("address to listen on (default: 127.0.0.1, this machine only)"))
    p.add_argument("--port", type=_port, default=default_port,
                   help=_("port (default: {port}; 0 picks a free one)").format(port=default_port))
    p.add_argument("--max-sessions", type=_whole(1, MAX_COUNT), default=50, metavar="N",
                   help=_("most tutors at once (default: 50)"))
    # --lesson's upper bound is the curriculum's, checked with the scenario (check_lesson_number).
    p.add_argument("--lesson", type=_whole(1), metavar="N", help=_("open every tutor at lesson N"))
    defaults = Limits()
    p.add_argument(
        "--memory-limit", type=_whole(MIN_MEMORY_LIMIT_MB, MAX_MB), default=defaults.memory_mb, metavar="MB",
        help=_("address-space limit of each tutor process (default: {limit})").format(limit=defaults.memory_mb),
    )  # fmt: skip
    p.add_argument(
        "--cpu-limit", type=_whole(1, MAX_SECONDS), default=defaults.cpu_seconds, metavar="SECONDS",
        help=_("CPU-time limit of each tutor process (default: {limit})").format(limit=defaults.cpu_seconds),
    )  # fmt: skip
    p.add_argument(
        "--session-disk", type=_whole(1, MAX_MB), default=int(defaults.session_disk_mb), metavar="MB",
        help=_("what one attendee's saves and exports may take in their session folder in all; past it a save "
               "or export is refused with a message (default: {limit})").format(limit=int(defaults.session_disk_mb)),
    )  # fmt: skip
    p.add_argument(
        "--memory-budget", type=_whole(64, MAX_MB), default=None, metavar="MB",
        help=_("memory of all tutors together; a new tutor past it is refused with a message "
               "(default: three quarters of this machine's memory)"),
    )  # fmt: skip
    p.add_argument(
        "--max-per-address", type=_whole(1, MAX_COUNT), default=10, metavar="N",
        help=_("most tutors for one source address (default: 10; raise it when attendees share "
               "an address behind NAT)"),
    )  # fmt: skip
    p.add_argument(
        "--start-burst", type=_whole(1, MAX_COUNT), default=3, metavar="N",
        help=_("tutors one address may start at once before --start-interval applies (default: 3; raise it "
               "with --max-per-address when attendees share an address)"),
    )  # fmt: skip
    p.add_argument(
        "--start-interval", type=_seconds, default=2.0, metavar="SECONDS",
        help=_("then one tutor start per address every SECONDS (default: 2; all addresses together: 10 times "
               "the burst, then 4 times the rate; 0: no limit)"),
    )  # fmt: skip
    p.add_argument(
        "--idle-timeout", type=_seconds, default=900.0, metavar="SECONDS",
        help=_("close sessions without a key press for this long (default: 900; 0 never)"),
    )  # fmt: skip
    p.add_argument(
        "--unconfined", action="store_true",
        help=_("serve even where the tutors cannot be confined (no Landlock): they can then read and write "
               "whatever this account can; the banner and every attendee's status line say so"),
    )  # fmt: skip
    room.server_options(p)
    return p


def register(subparsers, shared: argparse.ArgumentParser) -> None:
    serve = subparsers.add_parser(
        "serve",
        help=_("serve the tutor to a workshop, over SSH or in the browser"),
        description=_("Serve the tutor to a workshop: `serve ssh` for terminals, `serve web` for browsers."),
    )
    sub = serve.add_subparsers(dest="serve_command", metavar="{ssh,web,status,lead,answers,dashboard}",
                               parser_class=type(serve))
    sub.required = True

    ssh = _server_parser(
        sub, shared, "ssh", 2222, _("one tutor per `ssh -p PORT host`, and nothing else"),
        _("Serve the tutor over SSH: every attendee runs `ssh -p PORT host` and gets a tutor process "
          "of their own. No shell, commands, files or forwarding. Without --password or "
          "--authorized-keys, anyone who can reach the port gets a tutor."))
    auth = ssh.add_mutually_exclusive_group()
    auth.add_argument("--password", metavar="TEXT", help=_("a shared workshop password (any user name)"))
    auth.add_argument("--authorized-keys", metavar="FILE", help=_("an OpenSSH authorized_keys file of allowed keys"))
    ssh.set_defaults(func=cmd_ssh)

    web = _server_parser(
        sub, shared, "web", 8000, _("one tutor per browser tab, through textual-serve"),
        _("Serve the tutor in the browser through textual-serve: one tutor process per tab. "
          "It has no authentication and no TLS: put it behind an authenticating TLS reverse proxy."))
    web.add_argument(
        "--public-url", metavar="URL", type=_public_url,
        help=_("the address browsers use, e.g. https://tutor.example.org behind a reverse proxy"),
    )  # fmt: skip
    web.add_argument(
        "--behind-jupyter", action="store_true",
        help=_("serve only through the Jupyter server that started this (jupyter-server-proxy, the [jupyter] "
               "extra): requests without the secret from ${env} are refused").format(env=PROXY_SECRET_ENV),
    )  # fmt: skip
    web.set_defaults(func=cmd_web)
    room.register(sub, shared)  # the instructor's commands for a running server


def _require(module: str, command: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise UsageError(_("tui-attention serve {command} needs the workshop extra: {install}").format(
            command=command, install=EXTRA_HINT)) from None


def _common_options(args: argparse.Namespace) -> dict:
    """What every server takes: the tutor's command line (a bad scenario or lesson fails here,
    once, not in every child), where to listen, how many sessions, each child's limits and all
    children's memory; and it refuses to serve unconfined tutors unless told to."""
    config_from_args(args, interactive=True)
    check_lesson_number(args.lesson)
    room.check_server_options(args)
    unconfined = check_confinement(args.unconfined)
    return {
        "child_argv": tutor_argv(scenario_argv(args), args.lesson),
        "host": args.host,
        "port": args.port,
        "max_sessions": args.max_sessions,
        "max_per_address": args.max_per_address,
        "start_burst": args.start_burst,
        "start_interval": args.start_interval,
        "idle_timeout": args.idle_timeout,
        "memory_budget_mb": args.memory_budget if args.memory_budget is not None else default_budget_mb(),
        "unconfined": unconfined,
        "limits": Limits(memory_mb=args.memory_limit, cpu_seconds=args.cpu_limit, session_disk_mb=args.session_disk),
    }


def check_confinement(allow_unconfined: bool) -> bool:
    """Whether the tutors will run unconfined; UsageError if so and the instructor did not say
    --unconfined. (--unconfined where Landlock works changes nothing: the tutors stay confined
    and nobody is told otherwise.)"""
    confined, line = confinement_status()
    if not confined and not allow_unconfined:
        raise UsageError(_("tui-attention serve: the tutors cannot be confined here ({why}); serve anyway with "
                           "--unconfined, as a dedicated account: the banner and every attendee's status line "
                           "will say so").format(why=line.removeprefix("WARNING: ").split(":")[0]))
    return not confined


def _serve(server, args: argparse.Namespace) -> int:
    from tui_attention.serve.running import ServeError, serve_until_signalled, setup_logging

    setup_logging()
    server = room.attach(server, args)  # its room, its control socket, the answers written at the end
    try:
        return asyncio.run(serve_until_signalled(server, f"{args.host}:{args.port}"))
    except ServeError as exc:
        raise UsageError(_("tui-attention: error: {message}").format(message=exc)) from None


def cmd_ssh(args: argparse.Namespace) -> int:
    _require("asyncssh", "ssh")
    options = _common_options(args)
    if args.password is not None and not args.password:
        raise UsageError(_("tui-attention serve ssh: --password must not be empty"))
    if args.authorized_keys is not None:
        import asyncssh

        from tui_attention.serve.ssh_keys import read_authorized_keys

        try:
            read_authorized_keys(args.authorized_keys)
        except (OSError, ValueError, asyncssh.Error) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise UsageError(_("tui-attention serve ssh: cannot use --authorized-keys {path}: {why}").format(
                path=args.authorized_keys, why=reason)) from None

    from tui_attention.serve.ssh import TutorSSHServer

    server = TutorSSHServer(**options, password=args.password, authorized_keys=args.authorized_keys)
    return _serve(server, args)


def _proxy_secret(args: argparse.Namespace) -> str | None:
    """--behind-jupyter's secret, taken out of this process's environment (the tutors get an
    environment of their own anyway); UsageError if it is missing or too short."""
    if not args.behind_jupyter:
        return None
    if args.public_url is not None:
        raise UsageError(_("tui-attention serve web: --behind-jupyter and --public-url exclude each other "
                           "(behind Jupyter the page's URLs are relative)"))
    secret = os.environ.pop(PROXY_SECRET_ENV, "")
    if len(secret) < MIN_SECRET_CHARS:
        raise UsageError(_("tui-attention serve web: --behind-jupyter needs a secret of at least {n} characters in "
                           "${env}; the Jupyter server sets it when it starts the tutor from its launcher").format(
                               n=MIN_SECRET_CHARS, env=PROXY_SECRET_ENV))
    return secret


def cmd_web(args: argparse.Namespace) -> int:
    _require("textual_serve.server", "web")
    secret = _proxy_secret(args)
    options = _common_options(args)

    from tui_attention.serve.web import TutorWebServer

    return _serve(TutorWebServer(**options, public_url=args.public_url, proxy_secret=secret), args)
