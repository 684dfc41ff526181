"""`tui-attention serve ssh`, against real servers on loopback (free ports) and real clients.

Most tests run the server in-process (so they can look at its sessions and
children) with either the real tutor or a stand-in child that starts in
milliseconds; the command-line tests start `python -P -m tui_attention serve
ssh` itself. Nothing here asserts on wall-clock time; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

import asyncssh
import pytest

from serve_helpers import CliServer, Screen, TerminalClient, bounded, client_options, pid_gone, standin_argv, wait_until
from tui_attention.cli import build_parser, main
from tui_attention.serve.child import Limits, tutor_argv
from tui_attention.serve.ssh import TutorSSHServer
from tui_attention.serve.ssh_keys import load_or_create_host_key

TOKENS = ("me", "gusta", "estudiar", "inteligencia", "artificial")
RIGHT = "\x1b[C"

pytestmark = pytest.mark.serve


@pytest.fixture(autouse=True)
def _xdg(tmp_path, monkeypatch):
    """Host keys go to a temporary $XDG_DATA_HOME, never the real one."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@asynccontextmanager
async def serving(child_argv, **options):
    server = TutorSSHServer(child_argv, port=0, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def shows_tutor(text: str) -> bool:
    """The first screen: the sentence's tokens, and a footer on the last line."""
    lines = text.splitlines()
    return all(token in text for token in TOKENS) and bool(lines) and "Next" in lines[-1]


async def tutor_client(server: TutorSSHServer, cols: int = 80, rows: int = 24, **options) -> TerminalClient:
    client = await TerminalClient(cols, rows).connect(server.port, **options)
    assert await wait_until(lambda: shows_tutor(client.text()), 30), client.text()
    return client


async def standin_client(server: TutorSSHServer, **options) -> TerminalClient:
    client = await TerminalClient().connect(server.port, **options)
    assert await client.wait_for("STAND-IN READY"), client.text()
    return client


def child_of(server: TutorSSHServer, client: TerminalClient) -> int:
    """The pid of the tutor serving `client`."""
    port = client.conn.get_extra_info("sockname")[1]
    (pid,) = [s.child.pid for s in server.sessions if s.connection.conn.get_extra_info("peername")[1] == port]
    return pid


async def screen_changes(client: TerminalClient, keys: str, timeout: float = 20.0) -> bool:
    before = client.text()
    client.send(keys)
    return await wait_until(lambda: client.text() != before, timeout)


# -- the real tutor, end to end ---------------------------------------------------


async def test_real_tutor_first_screen_keys_resize_disconnect_and_child_reaped():
    async def scenario():
        async with serving(tutor_argv()) as server:
            client = await tutor_client(server)
            assert "step 1/" in client.text()
            (session,) = server.sessions
            pid, workdir = session.child.pid, session.child.workdir
            assert os.path.isdir(workdir)

            assert await screen_changes(client, RIGHT)
            assert await wait_until(lambda: "step 2/" in client.text(), 20), client.text()

            client.resize(100, 30)
            assert await wait_until(lambda: max(len(line) for line in client.text().splitlines()) > 80, 20)
            assert await wait_until(lambda: len(client.text().splitlines()) == 30 and shows_tutor(client.text()), 20)

            await client.close()
            assert await wait_until(lambda: pid_gone(pid) and not server.sessions, 20)
            assert not os.path.exists(workdir)

    await bounded(scenario())


async def test_real_tutor_quits_on_q_with_exit_status_0():
    async def scenario():
        async with serving(tutor_argv()) as server:
            client = await tutor_client(server)
            pid = server.child_pids[0]
            client.send("qq")  # the second q answers "Quit?"
            assert await client.wait_closed()
            assert client.exit_status == 0
            assert "stopped unexpectedly" not in client.text()
            assert await wait_until(lambda: pid_gone(pid), 20)

    await bounded(scenario())


async def test_cli_serve_ssh_one_command_and_nothing_left_behind(tmp_path):
    # A decoy package in the server's directory must never be what runs.
    decoy = tmp_path / "tui_attention"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise SystemExit('the decoy package was imported')\n")
    (decoy / "__main__.py").write_text("raise SystemExit('the decoy package was imported')\n")
    session_dirs = set(Path(tempfile.gettempdir()).glob("tui-attention-session-*"))
    server = CliServer(["ssh", "--max-sessions", "3"], tmp_path, cwd=tmp_path)
    try:
        assert "anyone who can reach this port gets a tutor" in server.banner
        assert "127.0.0.1" in server.banner

        async def scenario():
            client = await TerminalClient().connect(server.port)
            assert await wait_until(lambda: shows_tutor(client.text()), 30), client.text()
            (child,) = [p for p in server.descendants()]
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            assert cmdline[:5] == [sys.executable.encode(), b"-P", b"-m", b"tui_attention", b"run"]
            assert os.readlink(f"/proc/{child}/cwd") != str(tmp_path)
            assert await screen_changes(client, RIGHT)
            client.send("qq")  # the second q answers "Quit?"
            assert await client.wait_closed()
            assert client.exit_status == 0
            assert await wait_until(lambda: not server.descendants(), 20)

            # A session still open when the server stops is told so and ended, and its child reaped.
            last = await TerminalClient().connect(server.port)
            assert await wait_until(lambda: len(server.descendants()) == 1 and shows_tutor(last.text()), 30)
            children = server.descendants()
            code = await asyncio.get_running_loop().run_in_executor(None, server.stop)
            assert await last.wait_closed()
            assert "The workshop server is shutting down." in last.text()
            return code, children

        code, children = await bounded(scenario())
    finally:
        server.stop()
    assert code == 0
    assert all(pid_gone(pid) for pid in children)
    log = server.stderr()
    assert log.count(" connect 127.0.0.1:") == 2
    assert log.count(" disconnect 127.0.0.1:") == 2
    assert "Traceback" not in log
    # This server's session directories (named after its pid; other test runs may be serving meanwhile).
    mine = f"tui-attention-session-{server.proc.pid}-*"
    assert set(Path(tempfile.gettempdir()).glob(mine)) <= session_dirs


def test_stock_openssh_client_shows_tutor_and_ends_cleanly_on_q(tmp_path):
    ssh = shutil.which("ssh")
    if ssh is None:
        pytest.skip("the OpenSSH client (ssh) is not installed on this machine")
    server = CliServer(["ssh"], tmp_path)
    master, slave = os.openpty()
    try:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        proc = subprocess.Popen(
            [ssh, "-F", "/dev/null", "-tt", "-p", str(server.port),
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "127.0.0.1"],
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            env=dict(os.environ, TERM="xterm-256color"),
        )  # fmt: skip
        os.close(slave)
        slave = -1
        screen = Screen(80, 24)

        eof = False

        def pump(until, timeout=30.0) -> bool:
            nonlocal eof
            for _ in range(int(timeout / 0.05)):
                if until():
                    return True
                if eof:  # ssh closed the terminal and is on its way out
                    time.sleep(0.05)
                    continue
                ready, _, _ = select.select([master], [], [], 0.05)
                if ready:
                    try:
                        screen.feed(os.read(master, 65536))
                    except OSError:
                        eof = True
            return until()

        assert pump(lambda: shows_tutor(screen.text())), screen.text()
        before = screen.text()
        os.write(master, RIGHT.encode())
        assert pump(lambda: screen.text() != before)
        os.write(master, b"qq")  # the second q answers "Quit?"
        assert pump(lambda: proc.poll() is not None), screen.text() + repr(bytes(screen.raw[-300:]))
        assert proc.wait(timeout=10) == 0
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
        server.stop()


# -- nothing but the tutor --------------------------------------------------------


async def test_exec_request_gets_no_output_and_starts_nothing(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            async with asyncssh.connect("127.0.0.1", server.port, **client_options()) as conn:
                output = ""
                try:
                    result = await conn.run("cat /etc/passwd")
                    output = f"{result.stdout}{result.stderr}"
                except asyncssh.ChannelOpenError:
                    pass
                assert "root:" not in output
                assert not server.sessions

    await bounded(scenario())


async def test_sftp_and_other_subsystems_are_refused(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            async with asyncssh.connect("127.0.0.1", server.port, **client_options()) as conn:
                with pytest.raises(asyncssh.ChannelOpenError):
                    await conn.start_sftp_client()
                with pytest.raises(asyncssh.ChannelOpenError):
                    await conn.create_session(asyncssh.SSHClientSession, subsystem="netconf")
                assert not server.sessions

    await bounded(scenario())


async def test_port_and_socket_forwarding_are_refused(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            async with asyncssh.connect("127.0.0.1", server.port, **client_options()) as conn:
                # local forwarding (direct-tcpip), to a port that is really listening
                with pytest.raises(asyncssh.ChannelOpenError):
                    await conn.open_connection("127.0.0.1", server.port)
                # remote forwarding (tcpip-forward)
                with pytest.raises(asyncssh.ChannelListenError):
                    await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 9)
                # Unix socket forwarding, both ways
                with pytest.raises(asyncssh.ChannelOpenError):
                    await conn.open_unix_connection(str(tmp_path / "any.sock"))
                with pytest.raises(asyncssh.ChannelListenError):
                    await conn.forward_remote_path(str(tmp_path / "listen.sock"), str(tmp_path / "to.sock"))
                assert not (tmp_path / "listen.sock").exists()

    await bounded(scenario())


async def test_agent_and_x11_forwarding_are_refused(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            (tmp_path / "xauth").write_bytes(b"")
            async with asyncssh.connect("127.0.0.1", server.port, **client_options()) as conn:
                with pytest.raises(asyncssh.ChannelOpenError, match="X11"):
                    await conn.create_session(
                        asyncssh.SSHClientSession, term_type="xterm", x11_forwarding=True,
                        x11_display="localhost:10.0", x11_auth_path=str(tmp_path / "xauth"),
                    )  # fmt: skip
            options = client_options(agent_forwarding=True, agent_path=str(tmp_path / "agent.sock"))
            client = await standin_client(server, **options)
            (session,) = server.sessions
            assert session.chan.get_agent_path() is None
            environ = Path(f"/proc/{session.child.pid}/environ").read_bytes().split(b"\0")
            assert not any(item.startswith((b"SSH_AUTH_SOCK=", b"DISPLAY=")) for item in environ)
            await client.close()

    await bounded(scenario())


async def test_shell_without_a_terminal_gets_a_message_and_no_child(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            async with asyncssh.connect("127.0.0.1", server.port, **client_options()) as conn:
                process = await conn.create_process(encoding=None)  # a shell, no pty
                output = await bounded(process.stdout.read(), 20)
                await process.wait_closed()
                assert b"needs a terminal" in output
                assert process.exit_status == 1
                assert not server.sessions

    await bounded(scenario())


# -- limits, isolation, refusals --------------------------------------------------


async def test_max_sessions_refuses_the_third_while_the_first_two_keep_working(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path), max_sessions=2) as server:
            first = await standin_client(server)
            second = await standin_client(server)
            third = await TerminalClient().connect(server.port)
            assert await third.wait_closed()
            assert "server is full (2 sessions in use)" in third.text()
            assert third.exit_status == 1
            assert len(server.sessions) == 2
            for client, key in ((first, "a"), (second, "b")):
                client.send(key)
                assert await client.wait_for(f"KEY {key.encode().hex()}")
            # once one leaves, a newcomer gets in
            first.send("q")
            assert await first.wait_closed()
            assert await wait_until(lambda: len(server.sessions) == 1, 20)
            fourth = await standin_client(server)
            await fourth.close()
            await second.close()

    await bounded(scenario())


async def test_idle_timeout_closes_the_session_and_reaps_the_child(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path), idle_timeout=1.0) as server:
            client = await standin_client(server)
            pid = server.child_pids[0]
            assert await client.wait_closed(30)
            assert "without a key press" in client.text()
            assert await wait_until(lambda: pid_gone(pid) and not server.sessions, 20)

    await bounded(scenario())


async def test_an_attendee_the_instructor_leads_is_not_idle(tmp_path):
    """Audit: a locked lead left attendees nothing to press, and the idle timeout closed the
    whole room under the instructor. While the room is led no session is idle; a release
    starts the idle time afresh, and then it closes as before."""
    from tui_attention.serve.room import Room

    async def scenario():
        room = Room()
        async with serving(standin_argv(tmp_path), idle_timeout=1.0, room=room) as server:
            client = await standin_client(server)
            room.handle({"v": 1, "kind": "goto", "lesson": 5, "page": 2, "lock": True})
            await asyncio.sleep(3.0)  # three idle timeouts without a key
            assert not client.closed and server.sessions
            room.handle({"v": 1, "kind": "release"})
            assert await client.wait_closed(30)
            assert "without a key press" in client.text()

    await bounded(scenario())


async def test_child_crash_shows_one_line_and_closes_the_connection(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            client = await standin_client(server)
            client.send("!")
            assert await client.wait_closed()
            lines = [line for line in client.text().splitlines() if "stopped unexpectedly" in line]
            assert lines == ["The tutor stopped unexpectedly (exit status 3); closing the connection."]
            assert client.exit_status == 3
            assert not server.sessions

    await bounded(scenario())


async def test_killed_tutor_shows_one_line_and_the_other_session_is_untouched():
    async def scenario():
        async with serving(tutor_argv()) as server:
            victim = await tutor_client(server)
            other = await tutor_client(server)
            victim_pid = child_of(server, victim)
            os.kill(victim_pid, signal.SIGKILL)
            assert await victim.wait_closed()
            assert "The tutor stopped unexpectedly (killed by SIGKILL); closing the connection." in victim.text()
            assert await screen_changes(other, RIGHT)
            assert len(server.sessions) == 1
            await other.close()

    await bounded(scenario())


async def test_runaway_children_hit_their_memory_and_cpu_limits_alone(tmp_path):
    limits = Limits(memory_mb=256, cpu_seconds=1)

    async def scenario():
        async with serving(standin_argv(tmp_path), limits=limits) as server:
            bystander = await standin_client(server)
            pid = server.child_pids[0]
            proc_limits = Path(f"/proc/{pid}/limits").read_text()
            assert f"Max address space         {256 * 1024 * 1024}" in proc_limits
            assert "Max cpu time              1 " in proc_limits

            hog = await standin_client(server)
            hog.send("M")
            assert await hog.wait_closed(30)
            assert "MemoryError" in hog.text()
            assert "stopped unexpectedly (exit status 1)" in hog.text()

            spinner = await standin_client(server)
            spinner.send("C")
            assert await spinner.wait_closed(60)
            assert "stopped unexpectedly (killed by SIGXCPU)" in spinner.text() or "killed by SIGKILL" in spinner.text()

            bystander.send("z")
            assert await bystander.wait_for("KEY 7a")
            await bystander.close()

    await bounded(scenario())


async def test_random_bytes_and_broken_escapes_neither_crash_the_server_nor_touch_another_session():
    rng = random.Random(20240601)
    garbage = [
        b"\x1b[", b"\x1b[999999999999999999;99999999999H", b"\x1b]0;" + b"x" * 5000, b"\x1bP", b"\x1b[<0;99999;-5M",
        b"\x1b[?2026;99$y", b"\xff\xfe\xfd", b"\xc3", b"\x1b\x1b\x1b", b"\x00" * 100, b"\x03", b"\x1a", b"\x1c",
        b"\x1b[200~" + bytes(rng.randrange(256) for _ in range(2000)),
    ]  # fmt: skip
    garbage += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4096))) for _ in range(40)]
    garbage.append(bytes(rng.randrange(256) for _ in range(256 * 1024)))  # a burst past the input backlog

    async def scenario():
        async with serving(tutor_argv()) as server:
            target = await tutor_client(server)
            bystander = await tutor_client(server)
            for chunk in garbage:
                if target.closed:
                    break
                target.send(chunk)
                await asyncio.sleep(0)
            # The target may well have quit (there is a 'q' in there) or not; the rest must not care.
            assert await screen_changes(bystander, RIGHT)
            newcomer = await tutor_client(server)
            assert await screen_changes(newcomer, RIGHT)
            for client in (target, bystander, newcomer):
                await client.close()
            assert await wait_until(lambda: not server.sessions, 30)

    await bounded(scenario(), timeout=120)


async def test_bytes_that_stopped_a_tutor_are_kept_from_it():
    # Each of these ended the attendee's tutor with a traceback on their screen: a byte that is
    # not UTF-8 (a Latin-1 terminal), an X10 mouse report past column 95, numbers Textual's
    # parser cannot make a key of.
    async def scenario():
        async with serving(tutor_argv()) as server:
            client = await tutor_client(server)
            for chunk in (b"\xff", b"\x1b[M\xff\xff\xff", b"\x1b[99999999999999999999u", b"\x1b[1114112u",
                          b"\x1b[97;1:3u", b"\x1b]a" + "\u00e9".encode() * 200 + b"\x07"):
                client.send(chunk)
                await asyncio.sleep(0.2)
            assert await screen_changes(client, RIGHT)
            assert await wait_until(lambda: "step 2/" in client.text(), 20), client.text()
            assert not client.closed and "Traceback" not in client.text()
            await client.close()

    await bounded(scenario())


async def test_tutors_write_only_in_their_own_directory_and_open_no_tcp(tmp_path):
    from tui_attention.serve import landlock

    if not landlock.abi():
        pytest.skip("this kernel has no Landlock, so file writes cannot be confined (the banner warns)")

    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            client = await standin_client(server)
            (session,) = server.sessions
            workdir = session.child.workdir
            client.send("W")
            assert await client.wait_for("INSIDE")
            assert "OUTSIDE DENIED errno=13" in client.text()
            assert "INSIDE WRITTEN" in client.text()
            assert os.path.exists(os.path.join(workdir, "inside.txt"))
            client.send("N")
            assert await client.wait_for("TCP ")
            assert "TCP FAILED errno=13" in client.text()  # EACCES: forbidden, not merely refused
            await client.close()
            assert await wait_until(lambda: not os.path.exists(workdir), 20)
        assert not (tmp_path / "escaped.txt").exists()

    await bounded(scenario())


async def test_real_tutor_export_prompt_cannot_write_outside_the_session(tmp_path):
    from tui_attention.serve import landlock

    if not landlock.abi():
        pytest.skip("this kernel has no Landlock, so file writes cannot be confined (the banner warns)")
    target = tmp_path / "escape.md"

    async def scenario():
        async with serving(tutor_argv()) as server:
            client = await tutor_client(server)
            client.send("x")  # the tutor's "Export what you see" prompt, suggesting attention.md
            assert await client.wait_for("attention.md"), client.text()
            for _ in range(10):  # ctrl+u clears the suggestion once the field has the focus
                client.send("\x15")
                if await wait_until(lambda: "attention.md" not in client.text(), 2):
                    break
            assert "attention.md" not in client.text(), client.text()
            client.send(str(target))
            assert await client.wait_for("escape.md"), client.text()
            client.send("\r")
            # A served tutor refuses the path itself (TUI_ATTENTION_SERVED); Landlock would deny the write anyway.
            refused = ("Could not export", "not open here")
            assert await wait_until(lambda: any(words in client.text() for words in refused), 20), client.text()
            await client.close()

    await bounded(scenario())
    assert not target.exists()


# -- authentication -----------------------------------------------------------------


async def test_wrong_password_is_refused_and_the_right_one_works(tmp_path):
    async def scenario():
        async with serving(standin_argv(tmp_path), password="s3cret") as server:
            with pytest.raises(asyncssh.PermissionDenied):
                await asyncssh.connect("127.0.0.1", server.port, **client_options(password="wrong"))
            with pytest.raises(asyncssh.PermissionDenied):
                await asyncssh.connect("127.0.0.1", server.port, **client_options())
            assert not server.sessions
            client = await standin_client(server, password="s3cret")
            await client.close()

    await bounded(scenario())


async def test_authorized_keys_admit_listed_keys_only(tmp_path):
    allowed = asyncssh.generate_private_key("ssh-ed25519")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    keys_file = tmp_path / "authorized_keys"
    keys_file.write_bytes(allowed.export_public_key())

    async def scenario():
        async with serving(standin_argv(tmp_path), authorized_keys=str(keys_file)) as server:
            with pytest.raises(asyncssh.PermissionDenied):
                await asyncssh.connect("127.0.0.1", server.port, **client_options(client_keys=[stranger]))
            with pytest.raises(asyncssh.PermissionDenied):
                await asyncssh.connect("127.0.0.1", server.port, **client_options())
            client = await standin_client(server, client_keys=[allowed])
            await client.close()

    await bounded(scenario())


# -- the child: installed tutor, terminal, environment --------------------------------


async def test_child_is_the_installed_tutor_with_client_term_size_and_a_clean_environment(tmp_path, monkeypatch):
    assert tutor_argv() == [sys.executable, "-P", "-m", "tui_attention", "run"]
    assert tutor_argv(["--seed", "3"], lesson=2) == [sys.executable, "-P", "-m", "tui_attention", "run", "--seed", "3", "--lesson", "2"]
    monkeypatch.setenv("SERVER_SECRET", "do-not-leak")

    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            client = await TerminalClient(100, 40).connect(server.port, term="screen-256color")
            assert await client.wait_for("STAND-IN READY TERM=screen-256color SIZE 100x40")
            (session,) = server.sessions
            pid = session.child.pid
            environ = dict(
                item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in item
            )
            assert b"SERVER_SECRET" not in environ
            assert environ[b"OPENBLAS_NUM_THREADS"] == b"1" and environ[b"OMP_NUM_THREADS"] == b"1"
            assert b"COLUMNS" not in environ and b"LINES" not in environ  # they would pin the size
            cwd = os.readlink(f"/proc/{pid}/cwd")
            assert cwd == session.child.workdir and cwd != os.getcwd()
            client.resize(120, 50)
            assert await client.wait_for("SIZE 120x50")
            await client.close()
            assert await wait_until(lambda: pid_gone(pid) and not os.path.exists(cwd), 20)

    await bounded(scenario())


async def test_session_directories_of_a_killed_server_are_removed_at_the_next_start(tmp_path):
    from tui_attention.serve.child import WORKDIR_PREFIX

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer exists
    stale = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{dead.pid}-"))
    (stale / "state").mkdir()
    alive = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))  # a running server's

    async def start_and_stop():
        async with serving(standin_argv(tmp_path)):
            pass

    try:
        await bounded(start_and_stop())
        assert not stale.exists()
        assert alive.exists()
    finally:
        shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(alive, ignore_errors=True)


# -- host key, banner, logging, command line -------------------------------------------


async def test_host_key_is_generated_once_with_mode_0600_and_kept(tmp_path):
    key, path, created = load_or_create_host_key()
    assert created
    assert path == tmp_path / "xdg" / "tui-attention" / "ssh_host_ed25519_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, _, created_again = load_or_create_host_key()
    assert not created_again
    assert again.get_fingerprint() == key.get_fingerprint()

    async def seen_by_client():
        async with serving(standin_argv(tmp_path)) as server:
            async with asyncssh.connect("127.0.0.1", server.port, **client_options()) as conn:
                return conn.get_server_host_key().get_fingerprint()

    assert await bounded(seen_by_client()) == key.get_fingerprint()
    assert await bounded(seen_by_client()) == key.get_fingerprint()  # a restart keeps it


async def test_banner_warns_when_anyone_can_connect(tmp_path):
    async def banners():
        out = []
        for options in ({}, {"password": "pw"}):
            async with serving(standin_argv(tmp_path), **options) as server:
                out.append("\n".join(server.banner_lines()))
        return out

    open_banner, password_banner = await bounded(banners())
    assert "anyone who can reach this port gets a tutor" in open_banner
    assert "anyone who can reach" not in password_banner


async def test_one_log_line_per_connect_and_disconnect_with_the_peer(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")

    async def scenario():
        async with serving(standin_argv(tmp_path)) as server:
            client = await standin_client(server)
            peer = "127.0.0.1:%d" % client.conn.get_extra_info("sockname")[1]
            client.send("q")
            assert await client.wait_closed()
            await wait_until(lambda: not server.connections, 20)
            return peer

    peer = await bounded(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "tui_attention.serve"]
    assert len([m for m in messages if m.startswith(f"connect {peer}")]) == 1
    assert len([m for m in messages if m.startswith(f"disconnect {peer}")]) == 1


def test_defaults_listen_on_loopback_port_2222():
    args = build_parser().parse_args(["serve", "ssh"])
    assert (args.host, args.port, args.max_sessions, args.idle_timeout) == ("127.0.0.1", 2222, 50, 900.0)
    assert args.password is None and args.authorized_keys is None and args.lesson is None


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["serve"], "required"),
        (["serve", "ssh", "--password", "x", "--authorized-keys", "/dev/null"], "not allowed with"),
        (["serve", "ssh", "--d-model", "0"], "--d-model"),
        (["serve", "ssh", "--port", "70000"], "between 0 and 65535"),
        (["serve", "ssh", "--max-sessions", "0"], "at least 1"),
        (["serve", "ssh", "--authorized-keys", "/nonexistent/keys"], "cannot use --authorized-keys"),
        (["serve", "ssh", "--password", ""], "must not be empty"),
        (["serve", "ssh", "--lesson", "999"], "--lesson must be between 1 and"),
    ],
)
def test_bad_serve_options_exit_2_with_one_line_before_listening(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_missing_workshop_extra_exits_2_with_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "asyncssh", None)  # import asyncssh now raises ImportError
    assert main(["serve", "ssh"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'tui-attention[workshop]'" in err[0]
