"""`serve ssh` against a hostile room, on loopback: 127.0.0.1 is the attacker, 127.0.0.2 (and
127.0.0.3) stand for other attendees' machines.

Pre-auth lock-out, connections that log in and open nothing, password guessing, log
injection and flooding, env and forwarding floods, input floods, window-change floods,
the per-address cap and the memory budget; costly key exchanges, handshake floods and
re-keying in a loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import struct
import sys
import time
from contextlib import asynccontextmanager

import asyncssh
import pytest

from serve_helpers import CliServer, TerminalClient, bounded, client_options, standin_argv, wait_until
from tui_attention.serve.guard import Backoff
from tui_attention.serve.ssh import OUTPUT_BUFFER, TutorSSHServer
from tui_attention.serve.ssh_kex import CHEAP_KEX, KEX_BURST
from tui_attention.serve.ssh_session import MAX_ENV_VARIABLES

pytestmark = pytest.mark.serve

ATTACKER, OTHER, THIRD = "127.0.0.1", "127.0.0.2", "127.0.0.3"


@pytest.fixture(autouse=True)
def _xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@asynccontextmanager
async def serving(tmp_path, **options):
    server = TutorSSHServer(standin_argv(tmp_path), port=0, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def attendee(server, source=OTHER, **options) -> TerminalClient:
    client = await TerminalClient().connect(server.port, local_addr=(source, 0), **options)
    assert await client.wait_for("STAND-IN READY"), client.text()
    return client


async def banner_only(port: int, count: int, source: str = ATTACKER) -> list[socket.socket]:
    """`count` sockets that send the SSH version line and nothing more (they never log in)."""
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind((source, 0))
        s.setblocking(False)
        await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
        s.send(b"SSH-2.0-attacker\r\n")
        socks.append(s)
    return socks


def logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tui_attention.serve"]


# -- F1: nobody is locked out before login -------------------------------------------------


async def test_banner_only_sockets_from_one_address_lock_out_nobody(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path, max_sessions=5, password="pw") as server:
        # More than the 10 that may wait from one address, fewer than the 20 it may open at once
        # (past those a connection is closed unread: see the tests of the opening rate).
        socks = await bounded(banner_only(server.port, 18))
        await asyncio.sleep(0.2)
        assert len(server.waiting) <= server.max_unauthenticated_per_address
        other = await bounded(attendee(server, OTHER, password="pw"))
        same = await bounded(attendee(server, ATTACKER, password="pw"))  # the newcomer wins over the oldest
        assert len(server.sessions) == 2
        await other.close()
        await same.close()
        for s in socks:
            s.close()
    assert any("dropped 127.0.0.1:" in m for m in logged(caplog))


async def test_many_addresses_waiting_to_log_in_drop_the_busiest_first(tmp_path):
    async with serving(tmp_path, max_sessions=5, password="pw", max_unauthenticated=12,
                       max_unauthenticated_per_address=8) as server:
        held = await bounded(banner_only(server.port, 8, ATTACKER))
        held += await bounded(banner_only(server.port, 4, THIRD))
        await asyncio.sleep(0.2)
        assert len(server.waiting) == 12
        client = await bounded(attendee(server, OTHER, password="pw"))
        sources = [c.source for c in server.waiting]
        assert sources.count(THIRD) == 4 and sources.count(ATTACKER) <= 7
        await client.close()
        for s in held:
            s.close()


class TypingAttendee(asyncssh.SSHClient):
    """An attendee who takes 2 s to type the workshop password, "pw"."""

    async def password_auth_requested(self):
        await asyncio.sleep(2.0)
        return "pw"


async def test_an_attendee_typing_a_password_is_not_dropped_by_many_addresses_waiting(tmp_path):
    """One waiting connection per address, from many addresses: the oldest waiting was the
    attendee still typing their password, and a stream of version lines dropped it. A
    connection that has asked to log in now goes after those that have not."""
    async with serving(tmp_path, max_sessions=5, password="pw", max_unauthenticated=6) as server:
        async def stream() -> list[socket.socket]:
            held = []
            for k in range(10, 40):  # 30 addresses, one connection each, 15 a second
                held += await banner_only(server.port, 1, f"127.0.0.{k}")
                await asyncio.sleep(1 / 15)
            return held

        flood = asyncio.create_task(stream())
        conn, _client = await bounded(asyncssh.create_connection(
            TypingAttendee, "127.0.0.1", server.port, **client_options(local_addr=(ATTACKER, 0), preferred_auth="password")), 20)
        conn.close()
        for s in await flood:
            s.close()


async def test_an_attendee_typing_a_password_outlasts_connections_from_their_own_address(tmp_path):
    """Behind one (NAT) address: another attendee there opens connections that never ask to log
    in, faster than the per-address cap of waiting connections. The oldest waiting was dropped
    first: the attendee still typing their password, within 0.1 s, 3 tries in 3. Those that
    have not asked to log in now go first, within the address too."""
    async with serving(tmp_path, password="pw") as server:
        async def stream() -> list[socket.socket]:
            held = []
            for _ in range(40):  # 40 from the attendee's own address, 20 a second
                held += await banner_only(server.port, 1, ATTACKER)
                await asyncio.sleep(1 / 20)
            return held

        flood = asyncio.create_task(stream())
        conn, _client = await bounded(asyncssh.create_connection(
            TypingAttendee, "127.0.0.1", server.port, **client_options(local_addr=(ATTACKER, 0), preferred_auth="password")), 20)
        conn.close()
        for s in await flood:
            s.close()


async def test_an_address_allowed_more_sessions_may_have_as_many_waiting_to_log_in(tmp_path, caplog):
    """A room behind one NAT address, served with --max-per-address 12: twelve attendees
    connecting at once all wait for their login (a fixed 8 dropped the four oldest)."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path, max_sessions=20, password="pw", max_per_address=12) as server:
        held = await bounded(banner_only(server.port, 12, OTHER))
        assert await wait_until(lambda: len(server.waiting) == 12, 10)
        assert not [m for m in logged(caplog) if "dropped" in m]
        held += await bounded(banner_only(server.port, 1, OTHER))  # the 13th still drops the oldest
        assert await wait_until(lambda: any("waiting to log in from one address" in m for m in logged(caplog)), 10)
        assert len(server.waiting) == 12
        for s in held:
            s.close()


async def test_login_grace_time_closes_a_silent_connection(tmp_path):
    async with serving(tmp_path, password="pw", login_timeout=1.0) as server:
        (sock,) = await banner_only(server.port, 1)
        assert await wait_until(lambda: not server.connections, 10)
        sock.close()


async def test_logged_in_connections_that_open_nothing_are_capped_per_address_and_closed(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path, max_sessions=5, max_per_address=3, session_grace=1.5) as server:
        idle = []
        for _ in range(26):  # no auth: each logs in at once and opens no channel
            try:
                idle.append(await bounded(asyncssh.connect("127.0.0.1", server.port,
                                                           **client_options(local_addr=(ATTACKER, 0))), 10))
            except (asyncssh.Error, OSError):
                pass
        assert await wait_until(lambda: server.logged_in.get(ATTACKER, 0) <= 3, 5)
        client = await bounded(attendee(server, OTHER))  # another machine still gets a tutor
        assert await wait_until(lambda: ATTACKER not in server.logged_in, 10)  # the grace is over
        assert len(server.sessions) == 1
        await client.close()
        for conn in idle:
            conn.close()
    messages = logged(caplog)
    assert any("at most 3 connections from one address" in m for m in messages)
    assert any("no tutor started within 1.5 s" in m for m in messages)


async def test_one_address_holds_at_most_max_per_address_tutors(tmp_path):
    async with serving(tmp_path, max_sessions=10, max_per_address=2) as server:
        mine = [await bounded(attendee(server, ATTACKER)) for _ in range(2)]
        with pytest.raises((asyncssh.Error, OSError)):  # closed at login, before a session
            await bounded(TerminalClient().connect(server.port, local_addr=(ATTACKER, 0)), 10)
        other = await bounded(attendee(server, OTHER))
        assert len(server.sessions) == 3
        for c in (*mine, other):
            await c.close()


async def test_one_tutor_per_connection(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path) as server:
        client = await bounded(attendee(server))
        with pytest.raises(asyncssh.ChannelOpenError):
            await client.conn.create_session(asyncssh.SSHClientSession, term_type="xterm")
        assert len(server.sessions) == 1
        await client.close()
    assert any("second session" in m for m in logged(caplog))


# -- passwords -------------------------------------------------------------------------


async def test_password_guessing_slows_down_per_address_and_is_logged_once_per_burst(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path, password="right") as server:
        server.backoff = Backoff(first=0.2, longest=0.4)
        started = time.monotonic()
        for _ in range(8):
            with pytest.raises(asyncssh.PermissionDenied):
                await bounded(asyncssh.connect("127.0.0.1", server.port, **client_options(
                    local_addr=(ATTACKER, 0), password="wrong", preferred_auth="password")), 30)
        guessing = time.monotonic() - started
        # 8 wrong answers: the first waits 0, then 0.2, then 0.4 each: at least 2.6 s in all
        assert guessing >= 0.2 + 0.4 * 6
        started = time.monotonic()
        client = await bounded(attendee(server, OTHER, password="right"))  # another address: no wait
        assert time.monotonic() - started < 0.4 * 3
        await client.close()
    wrong = [m for m in logged(caplog) if m.startswith("wrong password from 127.0.0.1")]
    assert 1 <= len(wrong) <= 5  # 8 refusals, logged once per burst


# -- F2: the log ------------------------------------------------------------------------


HOSTILE = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b31m\nFAKE 2026-01-01 00:00:00 connect 10.0.0.1:1\u202e" + "x" * 30000


async def test_client_strings_are_escaped_bounded_and_rate_limited_in_the_log(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path) as server:
        conn = await bounded(asyncssh.connect("127.0.0.1", server.port, **client_options(
            local_addr=(ATTACKER, 0))))
        for _ in range(200):
            with pytest.raises((asyncssh.ChannelOpenError, asyncssh.Error, OSError)):
                await bounded(conn.open_connection(HOSTILE[:1000], 80), 10)
        for _ in range(50):
            try:
                await bounded(conn.forward_remote_port(HOSTILE[:1000], 0, "localhost", 1), 10)
            except (asyncssh.Error, asyncssh.ChannelListenError, OSError):
                pass
        client = await bounded(attendee(server, OTHER))
        conn.close()
        await client.close()
    messages = logged(caplog)
    joined = "\n".join(messages)
    for forbidden in ("\x1b", "\x07", "\x9b", "\u202e", "\nFAKE"):
        assert forbidden not in joined
    assert all(len(m) <= 600 for m in messages)
    forwards = [m for m in messages if "forwarding" in m and "127.0.0.1" in m]
    assert 1 <= len(forwards) <= 12, len(forwards)
    assert any("\\x1b]52" in m for m in forwards)


async def test_refusals_of_a_session_are_logged(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path) as server:
        for run in (lambda conn: conn.run("id"), lambda conn: conn.start_sftp_client()):
            conn = await bounded(asyncssh.connect("127.0.0.1", server.port, **client_options()))
            try:
                await bounded(run(conn), 10)
            except (asyncssh.Error, OSError):
                pass
            conn.close()
        # ssh -T: a shell without a terminal
        conn = await bounded(asyncssh.connect("127.0.0.1", server.port, **client_options()))
        chan, _ = await conn.create_session(asyncssh.SSHClientSession)
        await bounded(chan.wait_closed(), 10)
        conn.close()
        # agent and X11 forwarding asked with a shell
        conn = await bounded(asyncssh.connect("127.0.0.1", server.port, **client_options(
            agent_forwarding=True, agent_path=str(tmp_path / "no-agent"), x11_forwarding="ignore_failure",
            x11_display="localhost:10")))
        chan, _ = await conn.create_session(asyncssh.SSHClientSession, term_type="xterm")
        await asyncio.sleep(0.5)
        conn.close()
    joined = "\n".join(logged(caplog))
    for needle in ("refused exec request", "refused subsystem sftp", "without a terminal (ssh -T)",
                   "refused agent forwarding", "refused X11 forwarding"):
        assert needle in joined, needle


# -- floods inside a session ------------------------------------------------------------


async def test_env_requests_are_bounded(tmp_path):
    async with serving(tmp_path) as server:
        # 500 variables in about 40 KB, within what the server reads at once after login (the
        # same 500 at 900 bytes each now take half a minute to read, past the session's grace).
        env = {f"VAR{i}": "v" * 60 for i in range(500)}
        client = await bounded(attendee(server, OTHER, env=env))
        (session,) = server.sessions
        assert len(session.chan.get_environment()) <= MAX_ENV_VARIABLES
        await client.close()


def keys_seen(client: TerminalClient) -> bytes:
    """Every byte the stand-in tutor received (it echoes them as hex on KEY lines)."""
    text = client.screen.raw.decode(errors="replace")
    return bytes.fromhex("".join(re.findall(r"KEY ([0-9a-f]+)\r\n", text)))


async def test_a_huge_escape_sequence_reaches_the_tutor_bounded(tmp_path):
    async with serving(tmp_path) as server:
        client = await bounded(attendee(server))
        client.send(b"\x1b[" + b"1;" * 30000 + b"m")
        client.send(b"z")
        assert await wait_until(lambda: keys_seen(client).endswith(b"z"), 30)
        assert len(keys_seen(client)) <= 300  # of 60,004 bytes: the sequence's first 256, then z
        await client.close()


async def test_input_past_the_rate_waits_and_arrives_whole(tmp_path):
    async with serving(tmp_path) as server:
        client = await bounded(attendee(server))
        (session,) = server.sessions
        session.input.rate, session.input.burst, session.input._tokens = 2000.0, 2000.0, 2000.0
        started = time.monotonic()
        client.send(b"a" * 6000 + b"Z")
        assert await wait_until(lambda: keys_seen(client).endswith(b"Z"), 30)
        assert time.monotonic() - started >= 1.5  # 4000 bytes past the burst at 2000 a second
        assert keys_seen(client) == b"a" * 6000 + b"Z"
        await client.close()


async def test_a_window_change_flood_reaches_the_tutor_as_few_resizes(tmp_path):
    async with serving(tmp_path) as server:
        client = await bounded(attendee(server))
        for i in range(2000):
            client.chan.change_terminal_size(40 + i % 80, 20 + i % 30)
        client.chan.change_terminal_size(100, 30)
        assert await client.wait_for("SIZE 100x30", 20)
        await asyncio.sleep(0.3)
        resizes = client.text().count("SIZE ") - 1  # the first is the ready line
        assert resizes < 50, resizes
        await client.close()


# -- the memory budget ------------------------------------------------------------------


async def test_a_tutor_past_the_memory_budget_is_refused_with_a_message(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path, memory_budget_mb=10_000) as server:
        first = await bounded(attendee(server))
        used = server.budget.used_mb(server.child_pids)
        assert used > 1  # the stand-in's own Python
        server.budget.budget_mb = int(used + server.budget.fresh_mb) - 1  # one more would pass it
        second = await TerminalClient().connect(server.port, local_addr=(THIRD, 0))
        assert await second.wait_for("no memory left for another tutor", 20), second.text()
        assert await wait_until(lambda: second.closed, 10)
        assert len(server.sessions) == 1
        await first.close()
    assert any("no memory left" in m for m in logged(caplog))


CRASHING_TUTOR = r'''
import os, sys
with open(int(os.environ["TUI_ATTENTION_ERROR_FD"]), "w", closefd=False) as f:
    f.write('Traceback (most recent call last):\n  File "/x/app.py", line 7, in boom\n    1/0\n'
            'ZeroDivisionError: \x1b]52;c;ZXZpbA==\x07 division by zero\n')
sys.stderr.write("tui-attention stopped on an internal error (ZeroDivisionError)\r\n")
sys.exit(1)
'''


async def one_session_until_it_closes(argv: list[str]) -> TerminalClient:
    """Serve `argv`, connect one SSH session, and wait until the tutor has quit; the client
    keeps what the session showed."""
    server = TutorSSHServer(argv, port=0)
    await server.start()
    try:
        client = await TerminalClient().connect(server.port)
        assert await wait_until(lambda: client.closed, 20)
    finally:
        await server.close()
    return client


async def test_a_tutors_internal_error_reaches_the_log_escaped_and_the_attendee_as_one_line(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_TUTOR)
    client = await one_session_until_it_closes([sys.executable, "-P", str(script)])
    assert "stopped on an internal error (ZeroDivisionError)" in client.text()
    assert "Traceback" not in client.text()
    (line,) = [m for m in logged(caplog) if "stopped on an internal error" in m]
    assert 'File "/x/app.py", line 7, in boom | ZeroDivisionError: \\x1b]52' in line and "\x1b" not in line


# -- confinement: refuse, or say so everywhere ----------------------------------------------


@pytest.mark.parametrize("command", ["ssh", "web"])
def test_serve_refuses_to_start_unconfined_without_the_flag(tmp_path, monkeypatch, command):
    import subprocess

    monkeypatch.setenv("TUI_ATTENTION_LANDLOCK", "off")
    done = subprocess.run([sys.executable, "-P", "-m", "tui_attention", "serve", command, "--port", "0"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be confined" in lines[0] and "--unconfined" in lines[0], done.stderr


async def test_unconfined_is_said_in_the_banner_and_on_every_attendees_status_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_ATTENTION_LANDLOCK", "off")
    server = CliServer(["ssh", "--unconfined"], tmp_path)
    try:
        assert "UNCONFINED" in server.banner
        client = await bounded(TerminalClient().connect(server.port))
        assert await wait_until(lambda: "me" in client.text() and "UNCONFINED" in client.text(), 30), client.text()
        assert client.text().splitlines()[0].startswith(" UNCONFINED server")
        client.send("qq")  # the second q answers "Quit?"
        assert await wait_until(lambda: client.closed, 20)
    finally:
        server.stop()


async def test_parallel_connections_from_one_address_guess_no_faster_than_one(tmp_path):
    """8 connections (the per-address cap before login) guessing at once: the wrong answers to
    that address still come at most one per `longest` seconds, as the docs say."""
    async with serving(tmp_path, password="right") as server:
        server.backoff = Backoff(first=0.2, longest=0.4)
        failures: list[float] = []
        count = server.backoff.failure

        def counted(source, now=None):
            if source == ATTACKER:
                failures.append(time.monotonic())
            return count(source, now)

        server.backoff.failure = counted

        async def guess() -> None:
            while True:
                try:
                    await asyncssh.connect("127.0.0.1", server.port, **client_options(
                        local_addr=(ATTACKER, 0), password="wrong", preferred_auth="password"))
                except (asyncssh.Error, OSError):
                    pass

        guessers = [asyncio.create_task(guess()) for _ in range(8)]
        started = time.monotonic()
        await asyncio.sleep(3.0)
        for task in guessers:
            task.cancel()
        await asyncio.gather(*guessers, return_exceptions=True)
        within = [t for t in failures if t - started <= 3.0]
        # one at a time: the first at once, then 0.2 s, then 0.4 s each (8 in parallel gave about 8 times that)
        assert 3 <= len(within) <= 2 + 3.0 / 0.4 + 1, len(within)
        started = time.monotonic()
        client = await bounded(attendee(server, OTHER, password="right"))  # another address: no wait
        assert time.monotonic() - started < 0.4 * 3
        await client.close()


async def test_a_guesser_in_a_loop_does_not_lock_out_an_attendee_behind_the_same_address(tmp_path):
    """A classroom behind one NAT address: one attendee guesses wrong passwords in a loop over
    three connections; another at that address, with the right password under their own name,
    still logs in within the longest back-off, far inside the login timeout (their check
    queued behind every wrong one, each waiting the back-off, and timed out: 3 tries in 3)."""
    async with serving(tmp_path, password="right", login_timeout=6.0) as server:
        server.backoff = Backoff(first=0.5, longest=1.5)

        async def guess() -> None:
            while True:
                try:
                    await asyncssh.connect("127.0.0.1", server.port, **client_options(
                        local_addr=(ATTACKER, 0), username="mallory", password="wrong", preferred_auth="password"))
                except (asyncssh.Error, OSError):
                    pass

        guessers = [asyncio.create_task(guess()) for _ in range(3)]
        try:
            await asyncio.sleep(2.0)  # the back-off of the address is at its longest
            for _ in range(2):
                started = time.monotonic()
                client = await bounded(attendee(server, ATTACKER, username="alice", password="right"), 20)
                assert time.monotonic() - started < 1.5 + 2.5  # its own answer's wait, and the tutor's start
                await client.close()
        finally:
            for task in guessers:
                task.cancel()
            await asyncio.gather(*guessers, return_exceptions=True)


FORGING_TUTOR = r'''
import os, sys
with open(".error.log", "w") as f:  # a file an attendee's save prompt can write in the session folder
    f.write('Traceback (most recent call last):\n  File "/x/forged.py", line 1, in forged\nRuntimeError: forged\n')
sys.exit(int(sys.argv[1]))
'''


@pytest.mark.parametrize("status", [0, 3])
async def test_a_file_the_attendee_saves_cannot_forge_an_internal_error(tmp_path, caplog, status):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    script = tmp_path / "forge.py"
    script.write_text(FORGING_TUTOR)
    await one_session_until_it_closes([sys.executable, "-P", str(script), str(status)])
    assert not [m for m in logged(caplog) if "internal error" in m or "forged" in m]


async def test_tutor_starts_are_rate_limited_per_address_with_a_reason(tmp_path, caplog):
    """Attack: one address (who knows the password) connects and quits in a loop, each a tutor
    start. Past a burst it is told to wait; another address is not."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path, start_burst=2, start_interval=1.0) as server:
        for _ in range(2):
            client = await bounded(attendee(server, ATTACKER))
            await client.close()
        refused = await bounded(TerminalClient().connect(server.port, local_addr=(ATTACKER, 0)))
        assert await refused.wait_for("Too many tutors started from your address just now; try again in", 20)
        assert await wait_until(lambda: refused.closed, 10)
        other = await bounded(attendee(server, OTHER))
        await other.close()
        await asyncio.sleep(1.1)  # the bucket refills: one more start
        again = await bounded(attendee(server, ATTACKER))
        await again.close()
    assert any("Too many tutors started" in m for m in logged(caplog))


async def test_an_attendees_exports_stop_at_the_session_disk_budget(tmp_path):
    """Attack: export after export into the session folder (the server's /tmp). The tutor is
    told its budget (--session-disk) and refuses past it in one line; the folder stays within."""
    from tui_attention.serve.child import Limits, tutor_argv
    from tui_attention.tui.files import export_bytes
    from tui_attention.core import compute
    from tui_attention.core.scenario import Overrides, build_config

    bound = export_bytes(compute(build_config(None, Overrides())), "md")
    budget_mb = (bound + 8192) / 2**20  # one Markdown export of the notebook's scenario, and a little
    server = TutorSSHServer(tutor_argv(), port=0, limits=Limits(session_disk_mb=budget_mb))
    await server.start()
    try:
        client = await bounded(TerminalClient().connect(server.port))
        assert await client.wait_for("word 1/5", 30), client.text()
        (session,) = server.sessions
        workdir = session.child.workdir
        for name in ("one.md", "two.md"):
            client.send("x")
            assert await client.wait_for("Export what you see", 20)
            client.send(name + "\r")
            await asyncio.sleep(0.5)
        assert await client.wait_for("Could not export", 20), client.text()
        assert os.path.exists(os.path.join(workdir, "one.md")) and not os.path.exists(os.path.join(workdir, "two.md"))
        client.send("\x1b")  # the refused export's prompt came back with the reason: closed first
        await asyncio.sleep(0.5)
        client.send("qq")  # the second q answers "Quit?"
        assert await wait_until(lambda: client.closed, 20)
    finally:
        await server.close()


# -- key exchanges: only cheap ones, not too often, and not too many connections a second ------


def plain_packet(payload: bytes) -> bytes:
    """`payload` as an SSH packet before any key exchange: no MAC, padded to 8 bytes."""
    padding = 8 - (len(payload) + 5) % 8
    padding += 8 if padding < 4 else 0
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


def name_list(*names: str) -> bytes:
    text = ",".join(names).encode()
    return struct.pack(">I", len(text)) + text


def client_kexinit(kex: str) -> bytes:
    """The first packet of a client offering the key exchange `kex` alone."""
    return plain_packet(bytes([20]) + os.urandom(16) + name_list(kex) + name_list("ssh-ed25519")
                        + name_list("aes128-ctr") * 2 + name_list("hmac-sha2-256") * 2 + name_list("none") * 2
                        + name_list() * 2 + b"\0" + bytes(4))


def server_payloads(data: bytes) -> list[bytes]:
    """The whole packets' payloads in what a server sent before its keys were in use."""
    data = data.partition(b"\n")[2]
    payloads = []
    while len(data) >= 5:
        length, padding = struct.unpack(">IB", data[:5])
        if len(data) < 4 + length:
            break
        payloads.append(data[5:4 + length - padding])
        data = data[4 + length:]
    return payloads


def kex_reply(data: bytes) -> bool:
    """Whether the server has answered a key exchange: KEXRSA_PUBKEY or KEX_ECDH_REPLY (30, 31)."""
    return any(p[:1] in (b"\x1e", b"\x1f") for p in server_payloads(data))


async def handshake(port: int, source: str, kex: str) -> bytes:
    """What the server sends a client at `source` who sends a version line and a KEXINIT
    offering `kex` alone (and for curve25519 its public key), until the server answers the key
    exchange, closes, or 5 s pass; the client then hangs up, as a flood's clients do."""
    loop = asyncio.get_running_loop()
    first = b"SSH-2.0-flood\r\n" + client_kexinit(kex)
    if kex.startswith("curve25519"):
        first += plain_packet(b"\x1e" + struct.pack(">I", 32) + os.urandom(32))
    received = b""
    with socket.socket() as sock:
        sock.bind((source, 0))
        sock.setblocking(False)
        try:
            async with asyncio.timeout(5):
                await loop.sock_connect(sock, ("127.0.0.1", port))
                await loop.sock_sendall(sock, first)
                while not kex_reply(received) and (data := await loop.sock_recv(sock, 65536)):
                    received += data
        except (TimeoutError, ConnectionError):
            pass
    return received


async def test_only_cheap_key_exchanges_are_offered_and_an_rsa_only_client_is_refused(tmp_path):
    """asyncssh's defaults include rsa2048-sha256, which makes a new 2048-bit RSA key per
    connection (about 40 ms, before login): 30 such handshakes a second from one address held
    another attendee's keys for seconds. The server offers only key exchanges of under a
    millisecond, and a client that offers nothing else gets no key."""
    async with serving(tmp_path) as server:
        (kexinit, *_) = server_payloads(await bounded(handshake(server.port, ATTACKER, "rsa2048-sha256"), 20))
        (length,) = struct.unpack(">I", kexinit[17:21])  # after the message type and the cookie
        offered = kexinit[21:21 + length].decode().split(",")
        assert {"curve25519-sha256", "curve25519-sha256@libssh.org"} <= set(offered)
        assert set(offered) - set(CHEAP_KEX) <= {"ext-info-s", "kex-strict-s-v00@openssh.com"}, offered
        assert not [k for k in offered if k.startswith(("rsa", "diffie-hellman", "gss"))], offered
        for kex in ("rsa2048-sha256", "rsa1024-sha1", "diffie-hellman-group18-sha512",
                    "diffie-hellman-group-exchange-sha256"):
            with pytest.raises(asyncssh.KeyExchangeFailed):
                await bounded(asyncssh.connect("127.0.0.1", server.port, **client_options(kex_algs=[kex])), 20)
        client = await bounded(attendee(server, OTHER))  # asyncssh's defaults: a cheap one
        await client.close()


async def key_round_trip(client: TerminalClient) -> float:
    """Seconds from a key to the stand-in tutor's echo of it."""
    echoes = client.screen.raw.count(b"KEY 6b")
    started = time.monotonic()
    client.send("k")
    assert await wait_until(lambda: client.screen.raw.count(b"KEY 6b") > echoes, 20, 0.005)
    return time.monotonic() - started


# A flood in a process of its own, as from another machine: in the server's own loop it slowed
# down with the server and never reached its rate. It stops when its stdin closes (at most 60 s).
FLOOD_CLIENT = r"""
import asyncio, json, sys
sys.path[:0] = sys.argv[1:3]
from test_ssh_hardening import handshake, kex_reply

async def main(port, source, kex, rate):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_reader(0, stop.set)
    tasks, end = [], loop.time() + 60
    print("flooding", flush=True)
    while not stop.is_set() and loop.time() < end:
        tasks.append(asyncio.create_task(handshake(port, source, kex)))
        await asyncio.sleep(1 / rate)
    answers = await asyncio.gather(*tasks)
    print(json.dumps({"handshakes": len(answers), "keys": sum(map(kex_reply, answers)), "unread": answers.count(b"")}))

asyncio.run(main(int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6])))
"""


@asynccontextmanager
async def flooding(port: int, source: str, kex: str, rate: float):
    """A handshake flood from `source` while the block runs; yields a dict that gets its counts
    (handshakes, keys: how many got a key exchange reply, unread: closed before a byte)."""
    here = os.path.dirname(os.path.abspath(__file__))
    support = os.path.join(os.path.dirname(here), "support")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FLOOD_CLIENT, here, support, str(port), source, kex, str(rate),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    counts: dict = {}
    try:
        assert await bounded(proc.stdout.readline(), 30) == b"flooding\n"
        yield counts
    finally:
        proc.stdin.close()
        try:
            counts.update(json.loads(await bounded(proc.stdout.readline(), 30) or b"{}"))
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


async def test_a_handshake_flood_from_one_address_slows_down_no_other(tmp_path, caplog):
    """Attack: one address opens 40 connections a second, each a version line and a KEXINIT
    offering only rsa2048-sha256, reads the reply and hangs up. Before, an attendee at another
    address waited 9 s (median) for the stand-in tutor's echo of a key here, and 1.3 to 2 s,
    up to 7 s, with the real tutor at 30 a second, where a new login took 19 to 48 s. Now no
    such handshake gets a key, those past the address's rate are closed unread, and the
    others' keys and logins take what they take without it."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path) as server:
        other = await bounded(attendee(server, OTHER))
        async with flooding(server.port, ATTACKER, "rsa2048-sha256", 40) as flood:
            # past the address's 20 connections at once (before the fix: never, and 10 s of flood)
            await wait_until(lambda: any("new connections at once" in m for m in logged(caplog)), 10)
            await asyncio.sleep(0.5)
            keys = [await bounded(key_round_trip(other), 30) for _ in range(10)]
            started = time.monotonic()
            third = await bounded(attendee(server, THIRD), 60)
            login = time.monotonic() - started
        print(f"keys: median {sorted(keys)[5] * 1000:.0f} ms, max {max(keys) * 1000:.0f} ms; login {login:.2f} s; "
              f"flood {flood}")
        assert max(keys) < 1.0 and login < 3.0, (keys, login)
        assert flood["handshakes"] >= 40 and flood["keys"] == 0, flood
        assert flood["unread"] >= flood["handshakes"] - 30, flood  # all but the first 20 (and 2 a second)
        await other.close()
        await third.close()
    refusals = [m for m in logged(caplog) if m.startswith("refused a connection from 127.0.0.1")]
    assert 1 <= len(refusals) <= 3 and "20 new connections at once" in refusals[0], refusals


async def test_connections_past_the_rate_of_one_address_are_closed_before_any_key_exchange(tmp_path, caplog):
    """Cheap key exchanges cost the server's loop too, about a millisecond each with asyncssh's
    own work: an address may open twice the connections it may hold waiting (20), then 2 a
    second. Those past it are closed before the server sends a byte, logged once per burst;
    another address is not counted with it."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path) as server:
        answers = await bounded(asyncio.gather(*[handshake(server.port, ATTACKER, "curve25519-sha256")
                                                 for _ in range(40)]), 60)
        served = [a for a in answers if a]  # the others were closed before the server's version line
        assert 20 <= len(served) <= 22, [len(a) for a in answers]
        assert sum(kex_reply(a) for a in served) >= 10  # the waiting cap (10) drops the oldest of the rest
        others = await bounded(asyncio.gather(*[handshake(server.port, OTHER, "curve25519-sha256")
                                                for _ in range(10)]), 60)
        assert all(kex_reply(a) for a in others)
        client = await bounded(attendee(server, THIRD))
        await client.close()
    refusals = [m for m in logged(caplog) if "new connections at once" in m]
    assert 1 <= len(refusals) <= 3 and all("127.0.0.1" in m for m in refusals), refusals


async def test_a_room_behind_one_address_may_all_connect_at_once(tmp_path):
    """The opening rate follows --max-per-address, as the waiting cap does: a room of 25 behind
    one NAT address, served with --max-per-address 25, connects all at once (and may retry as
    many again at once: 50)."""
    async with serving(tmp_path, max_sessions=30, max_per_address=25) as server:
        answers = await bounded(asyncio.gather(*[handshake(server.port, OTHER, "curve25519-sha256")
                                                 for _ in range(25)]), 60)
        assert all(kex_reply(a) for a in answers)


async def test_a_client_re_keying_in_a_loop_is_disconnected(tmp_path, caplog):
    """Attack: a client starts a new key exchange after every packet (asyncssh's rekey_bytes=1),
    7 to 20 a second per connection, each about a millisecond of the server's loop; ten such
    connections raised another attendee's key latency from 20 to 220 ms (median). asyncssh
    answers every KEXINIT a client sends (its rekey options bound only its own), so the server
    counts them: past KEX_BURST, one a minute, and the client is disconnected. Clients re-key
    after an hour or a gigabyte."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    async with serving(tmp_path) as server:
        other = await bounded(attendee(server, OTHER))
        client = await bounded(TerminalClient().connect(server.port, local_addr=(ATTACKER, 0), rekey_bytes=1))
        started = time.monotonic()
        while not client.closed and time.monotonic() - started < 5:
            client.send("k")
            await asyncio.sleep(0.01)
        assert client.closed
        await bounded(key_round_trip(other), 20)
        await other.close()
    (line,) = [m for m in logged(caplog) if "key exchanges" in m and "closing" in m]
    assert f"more than {KEX_BURST} key exchanges" in line and "127.0.0.1" in line


async def test_a_client_that_stops_reading_holds_a_bounded_buffer_on_the_server(tmp_path):
    # Security audit: a client that granted a 2**31 window and stopped reading made the server
    # buffer its tutor's output, 2 MB a second per connection, until memory ran out (asyncssh
    # ignores the socket's flow control; the window is the client's to set).
    async with serving(tmp_path, password="pw") as server:
        async with asyncssh.connect("127.0.0.1", server.port, local_addr=(ATTACKER, 0),
                                    **client_options(password="pw")) as conn:
            chan, _ = await conn.create_session(asyncssh.SSHClientSession, term_type="xterm", window=2**31,
                                                encoding=None)
            await asyncio.sleep(0.5)
            conn._transport.pause_reading()  # the client reads no more
            chan.write(b"F")  # the stand-in writes 64 MiB (without the bound, all of it waited here in 2 s)
            await asyncio.sleep(2.5)
            (held,) = [c.conn._transport.get_write_buffer_size() for c in server.connections]
            # The buffer's limit, one read of the terminal, one SSH packet's framing: not 64 MiB.
            assert held <= OUTPUT_BUFFER + 2 * 65536, held
            conn._transport.resume_reading()
