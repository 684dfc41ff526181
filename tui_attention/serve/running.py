"""Running a server until the instructor stops it: logging, signals, and a clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from tui_attention.serve.guard import OneLineFormatter, clean


class ServeError(Exception):
    """The server cannot start (the port is taken, the host key is unreadable): one line."""


def setup_logging() -> None:
    """One bounded line per event on stderr, with a timestamp (guard.OneLineFormatter: a
    traceback becomes its last line); the libraries' chatter is kept down."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter("%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for noisy in ("asyncssh", "aiohttp.access", "aiohttp.server", "textual-serve"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def serve_until_signalled(server, describe: str) -> int:
    """Start `server`, print its banner, and run until SIGINT, SIGTERM or SIGHUP; then close
    every session. Raises ServeError when it cannot listen on `describe` (host:port)."""
    try:
        await server.start()
    except OSError as exc:
        # --host is any text (an escape sequence too) and reached the terminal raw: escaped, as
        # every other refused value is.
        raise ServeError(f"cannot listen on {clean(describe, 200)}: {clean(exc.strerror or exc, 200)}") from None
    except ValueError as exc:  # an unreadable host key
        raise ServeError(clean(exc, 300)) from None
    print("\n".join(server.banner_lines()), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        logging.getLogger("tui_attention.serve").info("stopping: ending every session")
        await server.close()
    return 0
