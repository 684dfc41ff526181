"""`tui-attention serve web`, against real servers on loopback (free ports) and a real websocket client.

Nothing here asserts on wall-clock time; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import os
import re
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
    """What a browser tab does: open /ws, feed binary frames to a terminal, send JSON envelopes.
    Keeps the close code and reason the server sent."""

    def __init__(self, http: aiohttp.ClientSession, port: int, cols: int = 80, rows: int = 24, **connect) -> None:
        self.http, self.port = http, port
        self.screen = Screen(cols, rows)
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.closed = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.connect = connect
        self._reader: asyncio.Task | None = None

    async def open(self) -> Tab:
        self.ws = await self.http.ws_connect(
            f"http://127.0.0.1:{self.port}/ws?width={self.screen.cols}&height={self.screen.rows}", **self.connect
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                self.screen.feed(message.data)
            elif message.type == aiohttp.WSMsgType.CLOSE:
                self.close_code, self.close_reason = message.data, message.extra or ""
            elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                break
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


def from_address(address: str) -> aiohttp.ClientSession:
    """An HTTP client whose connections come from `address` (127.0.0.2 stands for another machine)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), force_close=True))


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

            await tab.send(["stdin", "qq"])  # the second q answers "Quit?"
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
            # ...and in the close reason, which the page shows over the "Session ended" dialog
            assert second.close_code == 4002
            assert second.close_reason.startswith("Sorry, this workshop server is full (1 sessions in use)")
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


async def test_deeply_nested_messages_are_skipped_and_the_tab_stays(caplog):
    """Attack: JSON nested 100000 deep, as the whole message or inside a key envelope, beyond
    the decoder's recursion limit. Each is skipped like any malformed message: the tab keeps
    its tutor, and the log has no failed session."""
    caplog.set_level(logging.INFO)

    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
            await tab.ws.send_str("[" * 100_000 + "]" * 100_000)
            await tab.ws.send_str('["stdin", ' + "[" * 100_000 + "]" * 100_000 + "]")
            await tab.ws.send_str('["resize", ' + '{"a":' * 100_000 + "0" + "}" * 100_000 + "]")
            assert await tab.changes_on(RIGHT)
            assert not tab.closed
            await tab.close()

    await bounded(scenario())
    assert not [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]


async def test_a_crashed_tutor_says_so_in_one_line_and_the_tab_closes():
    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
            (pid,) = server.child_pids
            os.kill(pid, signal.SIGKILL)
            assert await wait_until(lambda: tab.closed, 20)
            assert "The tutor stopped unexpectedly (killed by SIGKILL)" in tab.screen.text()
            assert tab.close_code == 4004  # and the page shows it over the "Session ended" dialog
            assert tab.close_reason.startswith("The tutor stopped unexpectedly (killed by SIGKILL); reload")
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


# -- the security audit's findings ------------------------------------------------------------


def is_clean_line(text: str) -> bool:
    """One line, no C0 or C1 control characters, no raw surrogates: safe on a terminal."""
    return not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


async def raw_request(port: int, data: bytes, source: str = "127.0.0.1", timeout: float = 10.0) -> bytes:
    """Send `data` on a fresh TCP connection from `source`; the head of the answer (b"" if the
    server closed the connection without one, or `timeout` passed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(data)
    await writer.drain()
    out = b""
    try:
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                out += chunk
                if b"\r\n\r\n" in out:  # an answer's head: enough (the server may keep the connection)
                    break
    except (TimeoutError, ConnectionError):
        pass
    writer.close()
    return out


def upgrade_request(port: int, *headers: bytes) -> bytes:
    return (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" % port
        + b"".join(h + b"\r\n" for h in headers)
        + b"\r\n"
    )


async def test_a_cross_site_page_cannot_open_a_tutor_but_the_pages_own_origin_can():
    """Attack: a page on another site (or a sandboxed iframe, Origin null) opens /ws in a visitor's
    browser. Refused with 403 before any tutor starts; the served page's own origin, and a client
    that sends no Origin at all, get in."""

    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{server.port}/ws"
            for origin in ("http://evil.example", "null", f"http://127.0.0.1:{server.port}.evil.example",
                           f"http://localhost:{server.port}"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await http.ws_connect(url, origin=origin)
                assert refused.value.status == 403
            assert not server.services
            for origin in (f"http://127.0.0.1:{server.port}", f"HTTP://127.0.0.1:{server.port}", None):
                tab = await Tab(http, server.port, origin=origin).open() if origin else await Tab(http, server.port).open()
                assert await wait_until(lambda tab=tab: shows_tutor(tab.screen.text()), 30), tab.screen.text()
                await tab.close()
                assert await wait_until(lambda: not server.services, 20)

    await bounded(scenario())


async def test_behind_a_proxy_only_the_public_urls_origin_may_open_a_tutor():
    async def scenario():
        async with serving(public_url="https://tutor.example.org/") as server, aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{server.port}/ws"
            for origin in (f"http://127.0.0.1:{server.port}", "http://tutor.example.org", "https://evil.example"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await http.ws_connect(url, origin=origin)
                assert refused.value.status == 403
            ws = await http.ws_connect(url, origin="https://tutor.example.org")
            await ws.close()
            assert await wait_until(lambda: not server.services, 20)

    await bounded(scenario())


async def test_tabs_are_capped_per_address_and_another_address_still_gets_in():
    """Attack: one machine opens tab after tab to take every tutor. The second tab from 127.0.0.2
    is told why and closed (code 4003); 127.0.0.3 still gets a tutor; a local proxy's
    X-Forwarded-For counts as the address it names."""

    async def scenario():
        async with serving(max_per_address=1) as server, from_address("127.0.0.2") as two, \
                from_address("127.0.0.3") as three, aiohttp.ClientSession() as proxy:
            first = await Tab(two, server.port).open()
            assert await wait_until(lambda: shows_tutor(first.screen.text()), 30)
            second = await Tab(two, server.port).open()
            assert await wait_until(lambda: second.closed, 20)
            assert second.close_code == 4003 and "Too many tabs from your address (1)" in second.close_reason
            forwarded = await Tab(proxy, server.port, headers={"X-Forwarded-For": "198.51.100.7, 127.0.0.2"}).open()
            assert await wait_until(lambda: forwarded.closed, 20)
            assert forwarded.close_code == 4003
            other = await Tab(three, server.port).open()
            assert await wait_until(lambda: shows_tutor(other.screen.text()), 30)
            assert len(server.services) == 2 and dict(server.tabs_per_source) == {"127.0.0.2": 1, "127.0.0.3": 1}
            assert await first.changes_on(RIGHT)
            await first.close()
            await other.close()
            assert await wait_until(lambda: not server.services and not server.tabs_per_source, 20)

    await bounded(scenario())


async def test_another_loopback_address_cannot_name_itself_with_x_forwarded_for(caplog):
    """Attack: a local process binds 127.0.0.2 (not the proxy's 127.0.0.1) and sends a new
    X-Forwarded-For with each tab to escape the per-address cap. The header is ignored, said so
    in the log, and its second tab is refused (code 4003)."""
    caplog.set_level(logging.INFO)

    async def scenario():
        async with serving(max_per_address=1) as server, from_address("127.0.0.2") as two:
            first = await Tab(two, server.port, headers={"X-Forwarded-For": "198.51.100.1"}).open()
            assert await wait_until(lambda: shows_tutor(first.screen.text()), 30)
            second = await Tab(two, server.port, headers={"X-Forwarded-For": "198.51.100.2"}).open()
            assert await wait_until(lambda: second.closed, 20)
            assert second.close_code == 4003
            assert dict(server.tabs_per_source) == {"127.0.0.2": 1}
            await first.close()

    await bounded(scenario())
    assert any("127.0.0.2 (X-Forwarded-For 198.51.100.2 ignored" in r.getMessage() for r in caplog.records)


async def test_a_tab_past_the_memory_budget_is_refused_with_a_reason():
    async def scenario():
        async with serving(memory_budget_mb=64) as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: tab.closed, 20)
            assert tab.close_code == 4005 and "no memory left for another tutor" in tab.close_reason
            assert not server.services

    await bounded(scenario())


async def test_tcp_connections_are_capped_per_address_and_in_all():
    """Attack: one machine opens many idle TCP connections (no request) to use up the server's
    descriptors. Past 3 from 127.0.0.2 the next is aborted at once; the held ones stay until
    the keep-alive timeout; another address still connects; past 5 in all, everybody waits."""

    async def scenario():
        async with serving(max_connections=5, max_connections_per_address=3, keepalive_timeout=30) as server:
            held = [await asyncio.open_connection("127.0.0.1", server.port, local_addr=("127.0.0.2", 0)) for _ in range(3)]
            assert await wait_until(lambda: server.connections_per_source.get("127.0.0.2") == 3, 10)
            assert await raw_request(server.port, b"", "127.0.0.2", timeout=10) == b""  # aborted, no answer
            page = await raw_request(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.9:1\r\nConnection: close\r\n\r\n", "127.0.0.3")
            assert page.startswith(b"HTTP/1.1 200")
            more = [await asyncio.open_connection("127.0.0.1", server.port, local_addr=("127.0.0.4", 0)) for _ in range(2)]
            assert await wait_until(lambda: len(server.connections) == 5, 10)
            assert await raw_request(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.9:1\r\n\r\n", "127.0.0.5", timeout=10) == b""
            for reader, writer in held + more:
                assert not reader.at_eof()
                writer.close()
            assert await wait_until(lambda: not server.connections, 10)
            page = await raw_request(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.9:1\r\nConnection: close\r\n\r\n", "127.0.0.2")
            assert page.startswith(b"HTTP/1.1 200")

    await bounded(scenario())


async def test_half_open_http_connections_are_closed_after_the_keepalive_timeout():
    """Attack (slowloris): connections that never finish a request line or their headers, or
    send nothing at all. Each is closed after `keepalive_timeout` (here 1 s) however it
    trickles; an open tab's websocket is not."""

    async def scenario():
        loop = asyncio.get_running_loop()
        async with serving(keepalive_timeout=1.0) as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)

            async def closed_after(first: bytes, trickle: bytes = b"") -> float:
                start = loop.time()
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(first)
                for byte in trickle:
                    if reader.at_eof() or writer.is_closing():
                        break
                    await asyncio.sleep(0.2)
                    try:
                        writer.write(bytes([byte]))
                        await writer.drain()
                    except ConnectionError:
                        break
                try:
                    async with asyncio.timeout(20):
                        while await reader.read(4096):
                            pass
                except ConnectionError:
                    pass
                writer.close()
                return loop.time() - start

            times = await asyncio.gather(
                closed_after(b""),
                closed_after(b"GET / HT"),
                closed_after(b"GET / HTTP/1.1\r\n", b"Host: 127.0.0.1\r\nX-A: " + b"a" * 200),
            )
            print(f"half-open connections closed after {', '.join(f'{t:.2f}' for t in times)} s")
            assert all(t < 10 for t in times), times
            assert not tab.closed and await tab.changes_on(RIGHT)
            await tab.close()

    await bounded(scenario())


async def test_a_tab_without_key_presses_is_closed_with_its_reason():
    """Attack: tabs left open (or scripted pings and resizes) hold tutors forever. Only keys
    count as activity: with keys every 0.3 s the tab stays; with only pings, resizes and focus
    changes it is closed after the idle timeout with a reason the page shows."""

    async def scenario():
        async with serving(idle_timeout=1.5) as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()

            async def typing():
                while True:
                    await tab.send(["stdin", "x"])
                    await asyncio.sleep(0.3)

            # Typing from the start: on a busy machine the tutor takes longer than the timeout to start.
            typist = asyncio.create_task(typing())
            try:
                assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
                await asyncio.sleep(3)  # 3 s of typing
                assert not tab.closed
            finally:
                typist.cancel()
            for _ in range(100):
                if tab.closed:
                    break
                await tab.send(["ping", "1"])
                await tab.send(["resize", {"width": 80, "height": 24}])
                await tab.send(["focus"])
                await asyncio.sleep(0.1)
            assert await wait_until(lambda: tab.closed, 20)
            assert tab.close_code == 4001
            assert tab.close_reason == "Closed after 1.5 seconds without a key press; reload to start again."
            assert await wait_until(lambda: not server.services, 20)

    await bounded(scenario())


async def test_a_tab_the_instructor_leads_is_not_idle():
    """Audit: a locked lead left attendees nothing to press, and the idle timeout closed every
    tab under the instructor. While the room is led no tab is idle; after a release it is."""
    from tui_attention.serve.room import Room

    async def scenario():
        room = Room()
        async with serving(idle_timeout=1.5, room=room) as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            room.handle({"v": 1, "kind": "goto", "lesson": 5, "page": 2, "lock": True})
            assert await wait_until(lambda: "Following the instructor" in tab.screen.text(), 30), tab.screen.text()
            await asyncio.sleep(4.5)  # three idle timeouts without a key
            assert not tab.closed
            room.handle({"v": 1, "kind": "release"})
            assert await wait_until(lambda: tab.closed, 20)
            assert tab.close_code == 4001

    await bounded(scenario())


def test_the_idle_reason_speaks_in_minutes():
    from tui_attention.serve.web_http import duration as _duration

    assert [_duration(s) for s in (900, 60, 90, 1, 1.5)] == ["15 minutes", "1 minute", "90 seconds", "1 second", "1.5 seconds"]


def _low_nofile():
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


def test_too_few_file_descriptors_refuse_to_start_with_one_line(tmp_path):
    """With `ulimit -n 128` the server would run out of descriptors long before 50 tabs (and
    asyncio's accept loop would flood the log): it refuses to start, in one line, exit 2."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-P", "-m", "tui_attention", "serve", "web", "--port", "0", "--max-sessions", "50"],
        preexec_fn=_low_nofile, capture_output=True, timeout=60, cwd=tmp_path, check=False,
        env=dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg")),
    )  # fmt: skip
    err = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2, done
    assert len(err) == 1 and err[0].startswith("tui-attention: error: the open-file limit (ulimit -n) is 128"), err
    assert "--max-sessions 50" in err[0] and done.stdout == b""


EMFILE_SERVER = r"""
import asyncio, os, resource, sys
from tui_attention.serve.running import setup_logging
from tui_attention.serve.web import TutorWebServer

async def main():
    setup_logging()
    server = TutorWebServer(["true"], port=0, max_sessions=1)
    await server.start()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 4, hard))
    print(server.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await server.close()

asyncio.run(main())
"""


def test_running_out_of_descriptors_is_one_warning_not_a_flood(tmp_path):
    """Attack: more connections than the server has descriptors (here its limit is lowered to
    4 above what it uses after start-up, and 60 clients connect). CPython's accept loop reports
    every failed accept() with a traceback, more each second; the loop's exception handler
    makes that one warning per 10 s."""
    import socket
    import subprocess
    import time

    proc = subprocess.Popen([sys.executable, "-c", EMFILE_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        port = int(proc.stdout.readline())
        clients = []
        for _ in range(60):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(3)
        for client in clients:
            client.close()
        proc.stdin.write(b"\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = err.decode(errors="replace").strip().splitlines()
    print(f"{len(lines)} log lines for 60 connections out of descriptors: {lines}")
    assert proc.returncode == 0
    assert 1 <= len(lines) <= 3, lines
    assert "out of file descriptors" in lines[0] and "Traceback" not in err.decode(errors="replace")


async def test_the_page_loads_nothing_from_elsewhere_and_static_lists_nothing():
    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{server.port}"
            async with http.get(f"{base}/") as response:
                page = await response.text()
                headers = response.headers
            assert "googleapis" not in page and "fonts.g" not in page
            urls = set(re.findall(r"""(?:src|href)="([^"]+)\"""", page))
            assert urls and all(u.startswith(("/static/", "/page/", "data:")) for u in urls), urls
            assert "onClick" not in page and "<script>" not in page  # no inline script: the CSP allows none
            policy = headers["Content-Security-Policy"]
            assert "default-src 'self'" in policy and "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
            assert f"connect-src 'self' ws://127.0.0.1:{server.port}" in policy
            assert headers["X-Content-Type-Options"] == "nosniff"
            for path in ("/static/", "/static", "/static/js/", "/page/"):
                async with http.get(f"{base}{path}") as response:
                    body = await response.text()
                    assert response.status in (403, 404), (path, response.status)
                    assert "Index of" not in body and "textual.js" not in body
            for path in ("/static/js/textual.js", "/static/fonts/RobotoMono-VariableFont_wght.ttf", "/page/page.js",
                         "/page/page.css"):
                async with http.get(f"{base}{path}") as response:
                    assert response.status == 200, path
            async with http.get(f"{base}/page/page.css") as response:
                css = await response.text()
            assert "RobotoMono-VariableFont_wght.ttf" in css and "http" not in css
            async with http.get(f"{base}/download/anything") as response:
                assert response.status == 404
            for path in (b"/static/../server.py", b"/static/%2e%2e/server.py", b"/page/../app_index.html"):
                answer = await raw_request(server.port, b"GET %s HTTP/1.1\r\nHost: 127.0.0.9:1\r\nConnection: close\r\n\r\n" % path)
                assert answer.split(b" ", 2)[1] in (b"403", b"404"), (path, answer[:100])

    await bounded(scenario())


async def test_any_address_page_points_browsers_at_the_host_they_asked_for():
    """With --host 0.0.0.0 and no --public-url the page used to say ws://0.0.0.0:PORT/ws (the
    attendee's own machine). It now uses the request's Host header, checked; the banner
    names this machine's address."""

    async def scenario():
        async with serving(host="0.0.0.0") as server, aiohttp.ClientSession() as http:
            attendees = next(line for line in server.banner_lines() if "attendees open" in line)
            assert "0.0.0.0" not in attendees and f":{server.port}/" in attendees
            async with http.get(f"http://127.0.0.1:{server.port}/") as response:
                assert f'data-session-websocket-url="ws://127.0.0.1:{server.port}/ws"' in await response.text()
            name = socket.gethostname().lower()  # this machine's own name is one it answers to
            async with http.get(f"http://127.0.0.1:{server.port}/", headers={"Host": f"{name.upper()}:8000"}) as response:
                assert f'data-session-websocket-url="ws://{name}:8000/ws"' in await response.text()
                assert f"connect-src 'self' ws://{name}:8000;" in response.headers["Content-Security-Policy"]
            for bad in ('evil"><script>alert(1)</script>', "a b", "x:99999", "", "[::1"):
                async with http.get(f"http://127.0.0.1:{server.port}/", headers={"Host": bad}) as response:
                    assert response.status == 400, bad
                    assert "<script>" not in await response.text()
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(f"http://127.0.0.1:{server.port}/ws", headers={"Host": f"{name}:8000"},
                                      origin="http://evil.example")

    await bounded(scenario())


async def test_a_dns_rebinding_page_gets_neither_the_page_nor_a_tutor():
    """Attack: evil.example's page, after its name is made to resolve to the workshop server,
    asks for / and /ws with Host and Origin both evil.example (so they match each other).
    Without --public-url the server answers only to its addresses and its own names."""

    async def scenario():
        async with serving(host="0.0.0.0") as server, aiohttp.ClientSession() as http:
            host = f"evil.example:{server.port}"
            async with http.get(f"http://127.0.0.1:{server.port}/", headers={"Host": host}) as response:
                assert response.status == 400
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(f"http://127.0.0.1:{server.port}/ws", headers={"Host": host},
                                      origin=f"http://{host}")
            assert not server.services

    await bounded(scenario())


async def test_log_lines_escape_what_clients_send_and_a_malformed_request_is_one_line(caplog):
    """Attack: an X-Forwarded-For with a C1 CSI (U+009B), an escape sequence or a newline, and a
    header too long or with a control character, to write on the instructor's terminal or
    forge log lines, or flood the log with tracebacks. Every line is escaped and single;
    a malformed request is one short line with no traceback; a flood is rate-limited."""
    caplog.set_level(logging.INFO)

    async def scenario():
        async with serving() as server:
            port = server.port
            evil = b"Origin: http://evil.example"
            answers = [
                await raw_request(port, upgrade_request(port, evil, "X-Forwarded-For: 1.2.3.4\u009b[31m".encode())),
                await raw_request(port, upgrade_request(port, evil, b"X-Forwarded-For: 1.2.3.4\x9b31m")),
                await raw_request(port, upgrade_request(port, evil, b"X-Forwarded-For: 1.2.3.4\x1b]52;c;AAAA\x07")),
                await raw_request(port, upgrade_request(port, evil, b"X-Forwarded-For: 1.2.3.4\nX-Forged: 1")),
                await raw_request(port, upgrade_request(port, evil, b"X-Forwarded-For: " + b"9" * 9000)),
            ]
            assert [a.split(b" ", 2)[1] for a in answers] == [b"403", b"403", b"400", b"400", b"400"]
            # a flood: 50 more of each kind from one address
            for _ in range(50):
                await raw_request(port, upgrade_request(port, evil, b"X-Forwarded-For: \xc2\x9b"), "127.0.0.2")
                await raw_request(port, upgrade_request(port, b"X-Evil: \x01"), "127.0.0.2")

    caplog.clear()
    await bounded(scenario())
    records = [r for r in caplog.records if r.name.startswith(("tui_attention", "aiohttp"))]
    for record in records:
        assert record.exc_info is None and is_clean_line(record.getMessage()), record.getMessage()
    messages = [r.getMessage() for r in records]
    print("\n".join(messages))
    assert any("X-Forwarded-For 1.2.3.4\\x9b[31m ignored" in m for m in messages)
    assert any("X-Forwarded-For 1.2.3.4\\udc9b31m ignored" in m for m in messages)
    bad = [m for m in messages if m.startswith("bad HTTP request from 127.0.0.1")]
    assert len(bad) == 3 and all(len(m) < 200 for m in bad), bad  # three malformed requests, one line each
    flood = [m for m in messages if "127.0.0.2" in m]
    assert len(flood) <= 6, flood  # 100 refusals: three lines per kind in 10 s
    print(f"{len(flood)} log lines for 100 refused requests from one address")


async def test_keys_pass_through_the_input_filter_and_resizes_are_coalesced():
    """Attack: a 60 KB CSI parameter (seconds of CPU in Textual's parser) and a resize storm.
    The tutor gets at most 256 bytes of the sequence and keeps answering; 300 resizes reach
    it as a handful, the last one last."""

    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
            (service,) = server.services
            sent: list[bytes] = []
            sizes: list[tuple[int, int]] = []
            send_bytes, set_size = service.send_bytes, service.set_terminal_size

            async def recording_send(data: bytes) -> bool:
                sent.append(data)
                return await send_bytes(data)

            async def recording_size(width: int, height: int) -> None:
                sizes.append((width, height))
                await set_size(width, height)

            service.send_bytes, service.set_terminal_size = recording_send, recording_size
            await tab.send(["stdin", "\x1b[" + "1;" * 30000 + "H"])
            await tab.send(["focus"])
            assert await tab.changes_on(RIGHT)
            assert await wait_until(lambda: "step 2/" in tab.screen.text(), 20)
            passed = b"".join(sent)
            assert passed.endswith(RIGHT.encode()) and len(passed) <= 256 + len(RIGHT), len(passed)

            for width in range(60, 360):
                await tab.send(["resize", {"width": width, "height": 30}])
            assert await wait_until(lambda: sizes and sizes[-1] == (359, 30), 20), sizes
            print(f"{len(passed)} bytes of a 60 KB CSI and RIGHT reached the tutor; 300 resizes arrived as {len(sizes)}")
            assert len(sizes) < 30, len(sizes)
            await tab.close()

    await bounded(scenario())


async def test_a_tab_flooding_tiny_messages_does_not_hold_up_another_tab(monkeypatch):
    """Attack: one tab sends thousands of tiny messages at once (["blur"], a JSON decode each).
    aiohttp hands over every message already received without letting the loop run, so the
    other tab's key waited until the whole flood was read. Paced per tab, the other tab's key
    is answered while the flood is still being read."""
    from tui_attention.serve import web_tab

    read: list[bool] = []
    focus = web_tab.TabInput.focus

    def counted(self, focused: bool) -> None:
        read.append(focused)
        focus(self, focused)

    monkeypatch.setattr(web_tab.TabInput, "focus", counted)
    flood = 5000

    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            other = await Tab(http, server.port).open()
            flooder = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(other.screen.text()), 30)
            await other.send(["focus"])
            for _ in range(flood):
                await flooder.ws.send_str('["blur"]')
            assert await other.changes_on(RIGHT)
            assert len(read) < flood, f"the other tab's key waited for all {len(read)} flooded messages"
            await flooder.close()
            await other.close()

    await bounded(scenario())


async def test_a_paste_flood_is_dropped_past_256_kib_and_the_tab_still_closes_at_once():
    """Attack: megabytes of keys faster than the tutor may take them (8 KiB/s). At most 256 KiB
    wait; whole messages past that are dropped; the socket is still read, so closing the tab
    ends the tutor at once."""

    async def scenario():
        async with serving() as server, aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
            (service,) = server.services
            for _ in range(8):
                await tab.send(["stdin", "\x1b[200~" + "0" * 100_000 + "\x1b[201~"])
            assert await wait_until(lambda: service.input.dropped >= 500_000, 20), service.input.dropped
            assert len(service.input.pending) <= 256 * 1024
            await tab.close()
            assert await wait_until(lambda: not server.services, 10)

    await bounded(scenario())


def test_the_banner_says_when_tutors_are_not_confined():
    server = TutorWebServer(tutor_argv(), port=0, unconfined=True)
    text = "\n".join(server.banner_lines())
    assert "THE TUTORS ARE NOT CONFINED" in text
    assert "NOT CONFINED" not in "\n".join(TutorWebServer(tutor_argv(), port=0).banner_lines())


async def one_tab_until_it_closes(argv: list[str]) -> None:
    """Serve `argv`, open one tab, and wait until the tutor has quit and the server let it go."""
    server = TutorWebServer(argv, port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await wait_until(lambda: tab.closed, 20)
            assert await wait_until(lambda: not server.services, 20)
    finally:
        await server.close()


async def test_a_tutors_internal_error_reaches_the_log_escaped(tmp_path, caplog):
    """A served tutor writes its traceback to the file $TUI_ATTENTION_ERROR_FD and shows the
    attendee one line; the server logs where and what, escaped (the text is the tutor's)."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    script = tmp_path / "crash.py"
    script.write_text(
        "import os, sys\n"
        "open(int(os.environ['TUI_ATTENTION_ERROR_FD']), 'w', closefd=False).write("
        "'Traceback (most recent call last):\\n  File \"/x/app.py\", line 7, in boom\\n'"
        " 'ZeroDivisionError: \\x1b[2J division by zero\\n')\n"
        "sys.exit(1)\n")

    await bounded(one_tab_until_it_closes([sys.executable, "-P", str(script)]))
    (line,) = [r.getMessage() for r in caplog.records if "stopped on an internal error" in r.getMessage()]
    assert 'File "/x/app.py", line 7, in boom | ZeroDivisionError: \\x1b[2J division by zero' in line


async def test_a_tutor_that_says_exit_and_then_fails_closes_its_tab_with_the_reason(tmp_path):
    """Textual sends its "exit" packet on any exit, after an error it caught too (a served
    tutor ended by ScreenStackError): the tab closed on it with 1000 and no reason. It closes
    on the exit status, with the line the page shows."""
    script = tmp_path / "exit_then_fail.py"
    script.write_text(
        "import json, sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'__GANGLION__\\n')\n"
        "meta = json.dumps({'type': 'exit'}).encode()\n"
        "out.write(b'M' + len(meta).to_bytes(4, 'big') + meta)\n"
        "out.flush()\n"
        "sys.exit(1)\n")
    server = TutorWebServer([sys.executable, "-P", str(script)], port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            tab = await Tab(http, server.port).open()
            assert await bounded(wait_until(lambda: tab.closed, 20))
            assert tab.close_code == 4004, (tab.close_code, tab.close_reason)
            assert tab.close_reason.startswith("The tutor stopped unexpectedly (exit status 1)")
    finally:
        await server.close()


async def test_a_file_the_attendee_saves_cannot_forge_an_internal_error(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    script = tmp_path / "forge.py"
    script.write_text(  # writes what an attendee's save prompt can write in the session folder, then quits
        "open('.error.log', 'w').write('Traceback (most recent call last):\\n"
        "  File \"/x/forged.py\", line 1, in forged\\nRuntimeError: forged\\n')\n")

    await bounded(one_tab_until_it_closes([sys.executable, "-P", str(script)]))
    assert not [r for r in caplog.records if "internal error" in r.getMessage() or "forged" in r.getMessage()]


# -- how often tutors start, and what a tab closed at once leaves in the log ---------------------


def waiting_tutor(tmp_path) -> list[str]:
    """A stand-in tutor that starts at once and waits for its tab to go (its stdin to close)."""
    script = tmp_path / "wait.py"
    script.write_text("import sys\nsys.stdin.buffer.read()\n")
    return [sys.executable, "-P", str(script)]


async def test_tutor_starts_are_rate_limited_per_address_with_a_reason(tmp_path, caplog):
    """Attack: one address opens and closes tabs in a loop, each a tutor start (about half a
    second of CPU). Past a burst it is told to wait (code 4006); another address is not."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")

    async def scenario():
        server = TutorWebServer(waiting_tutor(tmp_path), port=0, start_burst=2, start_interval=1.0)
        await server.start()
        try:
            async with from_address("127.0.0.2") as two, from_address("127.0.0.3") as three:
                for _ in range(2):
                    tab = await Tab(two, server.port).open()
                    assert await wait_until(lambda: len(server.services) == 1, 20)
                    await tab.close()
                    assert await wait_until(lambda: not server.services, 20)
                refused = await Tab(two, server.port).open()
                assert await wait_until(lambda: refused.closed, 20)
                assert refused.close_code == 4006
                assert refused.close_reason.startswith("Too many tutors started from your address just now; try again")
                other = await Tab(three, server.port).open()
                assert await wait_until(lambda: len(server.services) == 1, 20)
                await other.close()
                await asyncio.sleep(1.1)  # the bucket refills: one more start
                again = await Tab(two, server.port).open()
                assert await wait_until(lambda: len(server.services) == 1, 20)
                await again.close()
        finally:
            await server.close()

    await bounded(scenario())
    assert any("refused 127.0.0.2: Too many tutors started" in r.getMessage() for r in caplog.records)


async def test_connect_and_disconnect_lines_are_rate_limited_per_address(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")

    async def scenario():
        server = TutorWebServer(waiting_tutor(tmp_path), port=0, start_interval=0)
        await server.start()
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(8):
                    tab = await Tab(http, server.port).open()
                    assert await wait_until(lambda: len(server.services) == 1, 20)
                    await tab.close()
                    assert await wait_until(lambda: not server.services, 20)
        finally:
            await server.close()

    await bounded(scenario())
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(("connect ", "disconnect "))]
    assert 1 <= len(lines) <= 5, lines  # 16 events, a few lines


async def test_a_tab_closed_during_start_up_logs_no_internal_error(caplog):
    """A tab closed right after its first frame used to make the tutor trip over its own
    half-mounted screen (NoMatches: No child found with id='walkthrough'), logged as an
    internal error each time."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")

    async def scenario():
        async with serving(start_interval=0) as server, aiohttp.ClientSession() as http:
            for _ in range(4):
                ws = await http.ws_connect(f"http://127.0.0.1:{server.port}/ws")
                await ws.receive(timeout=20)  # its first frame: the terminal set-up, before the first screen
                await ws.close()
                assert await wait_until(lambda: not server.services, 20)
            tab = await Tab(http, server.port).open()  # and a tab that stays gets its tutor as ever
            assert await wait_until(lambda: shows_tutor(tab.screen.text()), 30)
            await tab.close()

    await bounded(scenario())
    assert not [r.getMessage() for r in caplog.records if "internal error" in r.getMessage()]
