"""`tui-attention serve web`, against real servers on loopback (free ports) and a real websocket client.

Nothing here asserts on wall-clock time; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from serve_helpers import CliServer, Screen, bounded, pid_gone, wait_until
from tui_attention.cli import build_parser, main
from tui_attention.serve import landlock
from tui_attention.serve.child import tutor_argv
from tui_attention.serve.web import TutorWebServer

TOKENS = ("me", "gusta", "estudiar", "inteligencia", "artificial")
RIGHT = "\x1b[C"

pytestmark = pytest.mark.serve


def shows_tutor(text: str) -> bool:
    """The sentence's tokens and the status line of step 1.

    (Textual's web driver starts the app blurred, so the footer only appears
    once the tab has focus and the bindings change; see the first test.)
    """
    return all(token in text for token in TOKENS) and "step 1/" in text


@asynccontextmanager
async def serving(**options):
    server = TutorWebServer(tutor_argv(), port=0, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


class Tab:
    """What a browser tab does: open /ws, feed binary frames to a terminal, send JSON envelopes."""

    def __init__(self, http: aiohttp.ClientSession, port: int, cols: int = 80, rows: int = 24) -> None:
        self.http, self.port = http, port
        self.screen = Screen(cols, rows)
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.closed = False
        self._reader: asyncio.Task | None = None

    async def open(self) -> "Tab":
        self.ws = await self.http.ws_connect(f"http://127.0.0.1:{self.port}/ws?width={self.screen.cols}&height={self.screen.rows}")
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.screen.feed(message.data)
        self.closed = True

    async def send(self, envelope) -> None:
        await self.ws.send_json(envelope)

    async def changes_on(self, keys: str) -> bool:
        before = self.screen.text()
        await self.send(["stdin", keys])
        return await wait_until(lambda: self.screen.text() != before, 20)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait({self._reader}, timeout=10)


async def test_page_and_a_websocket_session_show_the_tutor():
    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}/") as response:
                assert response.status == 200
                page = await response.text()
            assert f"ws://127.0.0.1:{server.port}/ws" in page
            assert "textual" in page.lower()

            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30), tab.screen.text()
            (pid,) = server.child_pids
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert cmdline[:5] == [sys.executable.encode(), b"-P", b"-m", b"tui_attention", b"run"]
            assert os.readlink(f"/proc/{pid}/cwd") != os.getcwd()
            if landlock.abi():  # confined: the wrapper set no_new_privs before landlock_restrict_self
                assert "NoNewPrivs:\t1" in Path(f"/proc/{pid}/status").read_text()
            await tab.send(["focus"])
            assert await tab.changes_on(RIGHT)
            assert await wait_until(lambda: "step 2/" in tab.screen.text(), 20)
            assert await wait_until(lambda: "Next" in tab.screen.text().splitlines()[-1], 20), tab.screen.text()

            await tab.send(["stdin", "q"])
            assert await wait_until(lambda: tab.closed, 20)
            assert await wait_until(lambda: pid_gone(pid) and not server.services, 20)

    await bounded(scenario())


async def test_closing_the_tab_reaps_the_tutor():
    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
            (pid,) = server.child_pids
            await tab.close()
            assert await wait_until(lambda: pid_gone(pid) and not server.services, 20)

    await bounded(scenario())


async def test_tab_cap_refuses_newcomers_with_a_message_while_the_first_keeps_working():
    async def scenario():
        async with serving(max_sessions=1) as server, aiohttp.ClientSession() as http:
            first = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(first.screen.text()), 30)
            second = await Tab(http, server.port).open()
            assert await wait_until(lambda: second.closed, 20)
            assert "server is full (1 sessions in use)" in second.screen.text()
            assert await first.changes_on(RIGHT)
            await first.close()

    await bounded(scenario())


async def test_garbage_messages_do_not_break_the_session_or_the_server():
    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
            await tab.ws.send_str("not json at all")
            await tab.ws.send_str('{"a": 1}')
            await tab.ws.send_str("[]")
            await tab.ws.send_bytes(b"\x00\xff binary")
            await tab.send(["stdin", 42])
            await tab.send(["resize", {"width": 10**9, "height": -5}])
            await tab.send(["resize", {"width": "wide"}])
            await tab.send(["stdin", "\x1b[\x1b]0;\x1b[999999999;99999999H\ufffd"])
            await tab.send(["resize", {"width": 80, "height": 24}])
            assert await tab.changes_on(RIGHT)
            other = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(other.screen.text()), 30)
            await other.close()
            await tab.close()

    await bounded(scenario())


async def test_a_crashed_tutor_says_so_in_one_line_and_the_tab_closes():
    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
            (pid,) = server.child_pids
            os.kill(pid, signal.SIGKILL)
            assert await wait_until(lambda: tab.closed, 20)
            assert "The tutor stopped unexpectedly (killed by SIGKILL)" in tab.screen.text()
            assert await wait_until(lambda: not server.services, 20)

    await bounded(scenario())


async def test_cli_serve_web_answers_with_its_page_and_stops_cleanly(tmp_path):
    server = CliServer(["web"], tmp_path)
    try:
        assert "no authentication and no TLS" in server.banner

        async def scenario():
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{server.port}/") as response:
                    assert response.status == 200
                    assert f"ws://127.0.0.1:{server.port}/ws" in await response.text()
                tab = await Tab(http, server.port).open()
                assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
                assert len(server.descendants()) == 1
                return server.descendants()

        children = await bounded(scenario())
    finally:
        code = server.stop()
    assert code == 0
    assert all(pid_gone(pid) for pid in children)
    assert "connect 127.0.0.1" in server.stderr()


async def test_public_url_is_what_the_page_points_browsers_at():
    async def scenario():
        async with serving(public_url="https://tutor.example.org/") as server, aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}/") as response:
                page = await response.text()
            assert "wss://tutor.example.org/ws" in page

    await bounded(scenario())


def test_web_defaults_listen_on_loopback_port_8000():
    args = build_parser().parse_args(["serve", "web"])
    assert (args.host, args.port, args.max_sessions, args.public_url) == ("127.0.0.1", 8000, 50, None)


def test_missing_workshop_extra_exits_2_with_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["serve", "web"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'tui-attention[workshop]'" in err[0]


@pytest.mark.parametrize("argv, expected", [(["serve", "web", "--heads", "0"], "heads"), (["serve", "web", "--port", "x"], "port")])
def test_bad_web_options_exit_2_with_one_line(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
