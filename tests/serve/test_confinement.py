"""What a served tutor may read, write, execute and connect to (Landlock), and what it is told.

Probes run `python -P -m tui_attention.serve._exec --confine DIR -- python -P -c PROBE`,
exactly as the servers start a tutor (same environment, `child_environment`);
the real tutor runs under `PtyChild`. Landlock-dependent tests are skipped
where the kernel has none. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from serve_helpers import Screen, bounded, wait_until
from tui_attention.serve import control, landlock, seccomp
from tui_attention.serve.child import (
    ERROR_FD,
    ERROR_LOG,
    MAX_ERROR_REPORT,
    SERVED,
    UNCONFINED,
    Limits,
    child_environment,
    clean_term,
    confinement,
    confinement_status,
    make_error_report,
    make_workdir,
    read_error_report,
    tutor_argv,
    wrapped_argv,
)
from tui_attention.serve.control import ControlSocket
from tui_attention.serve.pty_child import PtyChild
from tui_attention.serve.room import Room

pytestmark = pytest.mark.serve

needs_landlock = pytest.mark.skipif(landlock.kernel_abi() == 0, reason="this kernel has no Landlock")

# Runs each operation of the JSON list in argv[1]; prints {index: "ok", an errno name, "env=VALUE"
# or, for "control", the kind of the reply to a status request a child of the probe sent.
PROBE = r"""
import errno, json, os, socket, sys
def run(op, arg):
    if op == "read":
        with open(arg, "rb") as f:
            f.read(1)
    elif op == "list":
        os.listdir(arg)
    elif op == "write":
        with open(arg, "w") as f:
            f.write("x")
    elif op == "rw":
        os.close(os.open(arg, os.O_RDWR | os.O_NOCTTY))
    elif op == "exec":
        pid = os.fork()
        if pid == 0:
            try:
                os.execv(arg, [arg, "-c", "exit 0"])
            except OSError as exc:
                os._exit(100 + exc.errno)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if code >= 100:
            raise OSError(code - 100, "exec")
    elif op == "tcp":
        socket.create_connection(("127.0.0.1", int(arg)), timeout=5).close()
    elif op == "unix":
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(arg)
        s.close()
    elif op == "udp":
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", int(arg)))
    elif op == "socketpair":
        a, b = socket.socketpair()
        a.sendall(b"x")
        assert b.recv(1) == b"x"
    elif op == "env":
        return "env=%s" % os.environ.get(arg)
    elif op == "control":
        r, w = os.pipe()
        if os.fork() == 0:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(10)
                s.connect(arg)
                s.sendall(b'{"v": 1, "kind": "status"}\n')
                os.write(w, s.recv(4096).split(b"\n")[0] or b'{"kind": "hung up"}')
            except OSError as exc:
                os.write(w, json.dumps({"kind": errno.errorcode.get(exc.errno, "?")}).encode())
            os._exit(0)
        os.close(w)
        os.wait()
        return "reply=%s" % json.loads(os.read(r, 4096))["kind"]
out = {}
for k, (op, arg) in enumerate(json.loads(sys.argv[1])):
    try:
        out[k] = run(op, arg) or "ok"
    except OSError as exc:
        out[k] = errno.errorcode.get(exc.errno, str(exc.errno))
print(json.dumps(out))
"""


def run_probe(workdir: str, ops: list[tuple[str, str]], *, env_extra: dict | None = None) -> list[str]:
    """Each operation's outcome in a child confined to `workdir`, started as the servers start tutors."""
    argv = wrapped_argv([sys.executable, "-P", "-c", PROBE, json.dumps(ops)], Limits(), tty=False, confine=workdir)
    env = child_environment(workdir)
    env.update(env_extra or {})
    done = subprocess.run(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return [result[str(k)] for k in range(len(ops))]


@pytest.fixture
def server_account(tmp_path, monkeypatch):
    """The server's folders as a test sees them: a host key under XDG_DATA_HOME, a keymap beside
    another file in XDG_CONFIG_HOME, and a file the instructor keeps in the test's folder."""
    data = tmp_path / "xdg-data" / "tui-attention"
    data.mkdir(parents=True)
    key = data / "ssh_host_ed25519_key"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n")
    key.chmod(0o600)
    config = tmp_path / "xdg-config"
    (config / "tui-attention").mkdir(parents=True)
    (config / "tui-attention" / "keymap.toml").write_text("")
    (config / "other-app.toml").write_text("token = 'secret'\n")
    (tmp_path / "notes.txt").write_text("the instructor's notes\n")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv(landlock.SWITCH, raising=False)
    return {
        "host_key": str(key),
        "keymap": str(config / "tui-attention" / "keymap.toml"),
        "other_config": str(config / "other-app.toml"),
        "notes": str(tmp_path / "notes.txt"),
    }


@pytest.fixture
def workdirs():
    made: list[str] = []

    def make() -> str:
        made.append(make_workdir())
        return made[-1]

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def _free_listener() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


# -- the allow-list, probed -----------------------------------------------------------


@needs_landlock
async def test_a_confined_tutors_child_cannot_use_the_control_socket(server_account, workdirs, monkeypatch):
    """Attack: Landlock does not govern connect() to a pathname socket, and a tutor is the
    instructor's user, so a child of a confined tutor would reach the control socket. The
    seccomp filter refuses it the socket (where the architecture has the filter); without it,
    it cannot read the server's key, so its `status` gets an error, not the room. The
    instructor's client still gets the room."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="ctl-", dir="/tmp"))
    sockets = ControlSocket(Room(), "ssh")
    path = await sockets.start()
    try:
        key = str(control.key_path(path))
        outcome = await asyncio.to_thread(run_probe, workdirs(), [("read", key), ("control", str(path))])
        assert outcome == ["EACCES", "reply=EACCES" if seccomp.supported() else "reply=error"]
        assert (await asyncio.to_thread(control.request, path, "status"))["kind"] == "status"
    finally:
        await sockets.close()
        shutil.rmtree(os.environ["XDG_RUNTIME_DIR"], ignore_errors=True)


@needs_landlock
def test_confined_child_reads_nothing_of_the_instructor_nor_another_session(server_account, workdirs):
    mine, other = workdirs(), workdirs()
    Path(other, "progress.json").write_text("{}")
    home = os.path.expanduser("~")
    ops = [
        ("read", server_account["host_key"]),
        ("list", os.path.dirname(server_account["host_key"])),
        ("read", "/etc/passwd"),
        ("read", os.path.join(other, "progress.json")),
        ("list", other),
        ("list", tempfile.gettempdir()),
        ("list", "/tmp"),
        ("list", "/root" if os.path.isdir("/root") else home),
        ("list", home),
        ("read", server_account["other_config"]),
        ("read", server_account["notes"]),
        ("write", os.path.join(other, "planted.txt")),
    ]
    assert run_probe(mine, ops) == ["EACCES"] * len(ops)
    assert not os.path.exists(os.path.join(other, "planted.txt"))


@needs_landlock
def test_confined_child_executes_nothing_and_connects_nowhere(server_account, workdirs):
    mine = workdirs()
    script = Path(mine, "run.sh")
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    listener = _free_listener()
    try:
        port = listener.getsockname()[1]
        env_program = shutil.which("env") or "/usr/bin/env"
        ops = [("exec", "/bin/sh"), ("exec", str(script)), ("exec", env_program), ("tcp", str(port))]
        assert run_probe(mine, ops) == ["EACCES"] * len(ops)
    finally:
        listener.close()


needs_seccomp = pytest.mark.skipif(not seccomp.supported(), reason="no seccomp filter for this architecture")


@needs_landlock
@needs_seccomp
def test_confined_child_reaches_no_unix_socket_by_name_and_sends_no_udp(workdirs, tmp_path):
    """Security audit: Landlock leaves connect() to a named Unix socket open, so a tutor taken
    over through a bug reached the instructor's ssh-agent (and would the systemd user bus,
    tmux, docker.sock), and sent UDP. It gets no socket at all; socketpair() (asyncio's
    self-pipe) still works."""
    agent = socket.socket(socket.AF_UNIX)  # stands for the instructor's ssh-agent
    agent.bind(str(tmp_path / "agent.sock"))
    agent.listen(1)
    os.chmod(tmp_path, 0o755)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    try:
        ops = [("unix", str(tmp_path / "agent.sock")), ("udp", str(udp.getsockname()[1])), ("socketpair", "")]
        assert run_probe(workdirs(), ops) == ["EACCES", "EACCES", "ok"]
        # Unconfined (Landlock switched off, as without a kernel that has it) the same child reaches it:
        # the probe is able to tell.
        assert run_probe(workdirs(), ops[:1], env_extra={landlock.SWITCH: "off"}) == ["ok"]
    finally:
        agent.close()
        udp.close()


def test_the_filter_refuses_other_abis_and_io_uring(tmp_path):
    """The filter's program, run in a child (no Landlock needed): a socket through the x32
    numbers or io_uring (which can make sockets itself) fails too; and setsid and setpgid,
    by which a forked process left the tutor's process group and outlived its session."""
    if not seccomp.supported():
        pytest.skip("no seccomp filter for this architecture")
    arch = seccomp.ARCHES[os.uname().machine]
    code = (
        "import ctypes, json, socket\n"
        "from tui_attention.serve.seccomp import refuse_sockets\n"
        "assert refuse_sockets()\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def call(nr, *args):\n"
        "    return libc.syscall(ctypes.c_long(nr), *args), ctypes.get_errno()\n"
        f"out = [call({arch.socket}, 1, 1, 0), call({arch.io_uring_setup}, 8, None), call({arch.setsid}),\n"
        f"       call({arch.setpgid}, 0, 0)]\n"
        + (f"out.append(call({arch.foreign_from | arch.socket}, 1, 1, 0))\n" if arch.foreign_from else "")
        + "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert all(result == [-1, 13] for result in json.loads(done.stdout)), done.stdout  # EACCES


@needs_landlock
def test_confined_child_cannot_open_another_terminal(workdirs):
    master, slave = os.openpty()  # stands for another attendee's pseudo-terminal
    try:
        assert run_probe(workdirs(), [("rw", os.ttyname(slave))]) == ["EACCES"]
    finally:
        os.close(master)
        os.close(slave)


@needs_landlock
def test_confined_child_reads_its_package_keymap_and_writes_its_own_directory(server_account, workdirs):
    import tui_attention.tui.app as app_module
    from tui_attention.lessons.parser import lessons_dir

    mine = workdirs()
    lesson = sorted(lessons_dir().glob("*.md"))[0]
    ops = [
        ("read", app_module.__file__),
        ("list", os.path.dirname(app_module.__file__)),
        ("read", str(lesson)),
        ("read", server_account["keymap"]),
        ("write", server_account["keymap"]),  # read-only
        ("write", os.path.join(mine, "scenario.toml")),
        ("read", os.path.join(mine, "scenario.toml")),
        ("list", mine),
        ("rw", "/dev/null"),
        ("read", "/dev/urandom"),
    ]
    assert run_probe(mine, ops) == ["ok", "ok", "ok", "ok", "EACCES", "ok", "ok", "ok", "ok", "ok"]


@needs_landlock
def test_files_named_on_the_command_line_are_readable_only(tmp_path, workdirs):
    scenario = tmp_path / "my.toml"
    scenario.write_text("")
    beside = tmp_path / "beside.toml"
    beside.write_text("")
    argv = wrapped_argv([sys.executable, "-P", "-m", "tui_attention", "run", "--scenario", str(scenario)],
                        Limits(), tty=True, confine="/x")
    assert argv[argv.index("--read") + 1] == str(scenario)
    assert argv.index("--read") < argv.index("--")
    assert "--read" not in wrapped_argv([sys.executable, "-P", "x.py"], Limits(), tty=True, confine="/x")
    assert "--read" not in wrapped_argv([sys.executable, str(scenario)], Limits(), tty=True)  # not confined

    mine = workdirs()
    ops = [("read", str(scenario)), ("write", str(scenario)), ("read", str(beside))]
    argv = wrapped_argv([sys.executable, "-P", "-c", PROBE, json.dumps(ops), str(scenario)],
                        Limits(), tty=False, confine=mine)
    done = subprocess.run(argv, cwd=mine, env=child_environment(mine), capture_output=True, timeout=60)
    assert json.loads(done.stdout) == {"0": "ok", "1": "EACCES", "2": "EACCES"}, done.stderr


# -- in force or not: the switch, the status, what the tutor is told ------------------------


def test_landlock_off_switch_makes_abi_0_and_confinement_not_in_force(monkeypatch, workdirs, tmp_path):
    monkeypatch.setenv("TUI_ATTENTION_LANDLOCK", "off")
    assert landlock.abi() == 0
    assert landlock.confine(workdirs()) == 0  # nothing done
    in_force, line = confinement_status()
    assert not in_force
    assert line.startswith("WARNING") and "\n" not in line
    assert confinement() == line
    # The children are told, and really are unconfined.
    mine = workdirs()
    assert child_environment(mine)[UNCONFINED] == "1"
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    assert run_probe(mine, [("env", UNCONFINED), ("read", str(outside))]) == ["env=1", "ok"]


def test_landlock_switch_other_values_leave_it_on(monkeypatch):
    monkeypatch.setenv("TUI_ATTENTION_LANDLOCK", "on")
    assert landlock.abi() == landlock.kernel_abi()
    for word in ("OFF", "0", "no", "false"):
        monkeypatch.setenv("TUI_ATTENTION_LANDLOCK", word)
        assert landlock.abi() == 0


@needs_landlock
def test_confinement_status_in_force_with_the_abi_in_one_line(monkeypatch):
    monkeypatch.delenv(landlock.SWITCH, raising=False)
    in_force, line = confinement_status()
    assert in_force
    assert f"Landlock ABI {landlock.abi()}" in line and "\n" not in line and "WARNING" not in line


def test_a_failing_test_tutor_means_not_in_force(monkeypatch):
    import tui_attention.serve.child as child

    monkeypatch.delenv(landlock.SWITCH, raising=False)
    monkeypatch.setattr(landlock, "abi", lambda: 7)
    monkeypatch.setattr(child, "_probe", lambda version: "landlock_add_rule(/usr/lib) failed")
    in_force, line = confinement_status()
    assert not in_force
    assert line.startswith("WARNING: Landlock ABI 7") and "landlock_add_rule" in line and "=off" in line


def test_child_environment_says_served_error_log_and_unconfined(monkeypatch, workdirs):
    workdir = workdirs()
    monkeypatch.setenv(UNCONFINED, "1")  # a stray value of the server's is not passed on
    monkeypatch.setenv(ERROR_LOG, "/elsewhere")  # nor where the server's own errors would go
    monkeypatch.setenv(ERROR_FD, "7")
    monkeypatch.setenv("TUI_ATTENTION_LANDLOCK", "on")  # other TUI_ATTENTION_* are
    env = child_environment(workdir, unconfined=False)
    assert env[SERVED] == "1"
    assert ERROR_LOG not in env and ERROR_FD not in env
    assert child_environment(workdir, unconfined=False, error_fd=12)[ERROR_FD] == "12"
    assert child_environment(workdir, unconfined=False, disk_budget=Limits().session_disk_bytes)[
        "TUI_ATTENTION_DISK_BUDGET"] == str(64 * 2**20)
    assert "TUI_ATTENTION_DISK_BUDGET" not in env
    assert UNCONFINED not in env
    assert env["TUI_ATTENTION_LANDLOCK"] == "on"
    assert child_environment(workdir, unconfined=True)[UNCONFINED] == "1"
    measured = child_environment(workdir)  # default: what confinement_status() says
    assert (UNCONFINED in measured) == (not confinement_status()[0])


def test_the_wrapper_adds_unconfined_when_it_could_not_confine(monkeypatch, workdirs):
    def seen(mine: str, unconfined: bool) -> str:
        out = subprocess.run(
            wrapped_argv([sys.executable, "-P", "-c", "import os; print(os.environ.get('TUI_ATTENTION_UNCONFINED'))"],
                         Limits(), tty=False, confine=mine),
            cwd=mine, env=child_environment(mine, unconfined=unconfined), capture_output=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout.decode().strip()

    monkeypatch.setenv(landlock.SWITCH, "off")
    assert seen(workdirs(), unconfined=False) == "1"  # the server thought otherwise; the tutor is told the truth
    assert seen(workdirs(), unconfined=True) == "1"
    if landlock.kernel_abi():
        monkeypatch.delenv(landlock.SWITCH)
        assert seen(workdirs(), unconfined=False) == "None"
        assert seen(workdirs(), unconfined=True) == "1"  # the server's word (serve --unconfined) is kept


# -- error reports ---------------------------------------------------------------------


def test_read_error_report_bounds_its_size_and_keeps_the_end():
    fd = make_error_report()
    try:
        assert not os.get_inheritable(fd)  # a child gets it only through pass_fds
        assert read_error_report(fd) is None
        os.pwrite(fd, b"  \n", 0)
        assert read_error_report(fd) is None
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"Traceback (most recent call last):\nValueError: boom\n", 0)
        assert read_error_report(fd) == "Traceback (most recent call last):\nValueError: boom\n"
        os.pwrite(fd, b"x" * (5 * MAX_ERROR_REPORT) + b"\xff" + b"\nValueError: the end\n", 0)
        report = read_error_report(fd)
        assert report is not None and len(report) <= MAX_ERROR_REPORT
        assert report.endswith("ValueError: the end\n") and "\ufffd" in report
        assert report.startswith("[... ") and "not shown]" in report.splitlines()[0]
    finally:
        os.close(fd)


def test_the_error_report_has_no_name_in_the_session_folder(workdirs):
    workdir = workdirs()
    fd = make_error_report()
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
        assert not target.startswith(workdir) and not os.path.exists(target)  # a memfd, or an unlinked file
    finally:
        os.close(fd)


ERROR_CHILD = r"""
import os, sys
os.write(int(os.environ["TUI_ATTENTION_ERROR_FD"]), b"Traceback (most recent call last):\nRuntimeError: served tutor broke\n")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
"""


async def test_pty_child_hands_the_error_report_over_before_removing_its_directory():
    reports: list[tuple[str, bool]] = []
    exits: list[int] = []
    child: PtyChild

    def on_error_report(text: str) -> None:
        reports.append((text, os.path.isdir(child.workdir or "")))
        assert not exits  # before on_exit

    child = PtyChild([sys.executable, "-P", "-c", ERROR_CHILD], on_output=lambda data: None,
                     on_exit=exits.append, on_error_report=on_error_report)
    child.start()
    assert await bounded(wait_until(lambda: bool(exits), 30), 40)
    assert exits == [1]
    assert reports == [("Traceback (most recent call last):\nRuntimeError: served tutor broke\n", True)]
    assert not os.path.exists(child.workdir or "")


async def test_pty_child_reads_no_error_report_after_a_clean_exit():
    reports: list[str] = []
    exits: list[int] = []
    child = PtyChild([sys.executable, "-P", "-c", ERROR_CHILD, "0"], on_output=lambda data: None,
                     on_exit=exits.append, on_error_report=reports.append)
    child.start()
    assert await bounded(wait_until(lambda: bool(exits), 30), 40)
    assert exits == [0] and reports == []


async def test_a_failing_error_report_callback_still_ends_the_child_cleanly():
    exits: list[int] = []
    handled: list[dict] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda loop, context: handled.append(context))
    try:
        def broken(text: str) -> None:
            raise RuntimeError("logging failed")

        child = PtyChild([sys.executable, "-P", "-c", ERROR_CHILD], on_output=lambda data: None,
                         on_exit=exits.append, on_error_report=broken)
        child.start()
        assert await bounded(wait_until(lambda: bool(exits), 30), 40)
    finally:
        loop.set_exception_handler(None)
    assert exits == [1]
    assert not os.path.exists(child.workdir or "")
    assert [type(c.get("exception")) for c in handled] == [RuntimeError]


# -- TERM ------------------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["dumb", "DUMB", "Dumb", "unknown", "UNKNOWN", "", None, "bad term", "-x", "a" * 65])
def test_clean_term_maps_fixed_size_and_invalid_names_to_xterm_256color(term):
    assert clean_term(term) == "xterm-256color"


@pytest.mark.parametrize("term", ["xterm", "xterm-256color", "screen-256color", "tmux-256color", "linux", "vt100",
                                  "rxvt-unicode-256color", "xterm-kitty", "alacritty", "eterm-color", "dumb-ish"])
def test_clean_term_keeps_every_other_valid_name(term):
    assert clean_term(term) == term


# -- the real tutor under confinement ---------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def _real_tutor(argv: list[str], *, term: str | None, size: tuple[int, int], idle_check: bool = False):
    """Start the tutor under PtyChild, wait for its first screen, optionally measure it idle, quit with q."""
    screen = Screen(*size)
    exits: list[int] = []
    reports: list[str] = []
    child = PtyChild(argv, on_output=screen.feed, on_exit=exits.append, on_error_report=reports.append,
                     term=term, size=size)
    child.start()
    try:
        shown = await wait_until(lambda: "Next" in screen.text() and "Quit" in screen.text(), 60)
        assert shown, (screen.text(), bytes(screen.raw[-2000:]))
        idle = None
        if idle_check:
            await asyncio.sleep(1.0)  # let the first layout settle
            assert child.pid is not None
            before = _cpu_seconds(child.pid)
            await asyncio.sleep(2.0)
            idle = _cpu_seconds(child.pid) - before
        child.write(b"qq")  # the second q answers "Quit?"
        assert await wait_until(lambda: bool(exits), 30), screen.text()
        return exits[0], idle, reports, child
    finally:
        if not exits:
            child.kill()
            await wait_until(lambda: bool(exits), 10)


@needs_landlock
async def test_real_tutor_starts_under_confinement_and_quits_with_status_0(monkeypatch):
    monkeypatch.delenv(landlock.SWITCH, raising=False)
    returncode, _, reports, child = await bounded(_real_tutor(tutor_argv(), term="xterm-256color", size=(100, 30)), 120)
    assert returncode == 0
    assert reports == []
    assert not os.path.exists(child.workdir or "")


@needs_landlock
async def test_real_tutor_reads_the_scenario_file_it_is_started_with(tmp_path, monkeypatch):
    from tui_attention.core.scenario import default_scenario_path

    monkeypatch.delenv(landlock.SWITCH, raising=False)
    scenario = tmp_path / "workshop.toml"
    scenario.write_bytes(default_scenario_path().read_bytes())
    argv = tutor_argv(["--scenario", str(scenario)])
    returncode, _, reports, _ = await bounded(_real_tutor(argv, term="xterm-256color", size=(100, 30)), 120)
    assert returncode == 0 and reports == []


async def test_real_tutor_with_term_dumb_idles_and_quits_on_q():
    returncode, idle, _, _ = await bounded(_real_tutor(tutor_argv(), term="dumb", size=(100, 30), idle_check=True), 120)
    assert returncode == 0
    assert idle is not None and idle < 0.5, f"{idle:.2f} s of CPU in 2 s idle"


def test_allow_list_grants_no_root_home_or_temporary_folder_whole(workdirs):
    workdir = workdirs()
    rules = landlock.allow_list(workdir, program=sys.executable)
    paths = {os.path.realpath(path): grant for path, grant in rules}
    assert paths[os.path.realpath(workdir)] == landlock.SESSION
    home = os.path.realpath(os.path.expanduser("~"))
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    wide = ("/", "/etc", "/tmp", tempfile.gettempdir(), home, "/dev", "/dev/pts", "/proc", "/usr", "/usr/bin", "/bin")
    for path in wide:
        if os.path.realpath(path) not in prefixes:  # a system Python's /usr is read whole
            assert os.path.realpath(path) not in paths, path
    executable = {path for path, grant in rules if grant == landlock.EXECUTE}
    assert os.path.realpath(sys.executable) in executable
    assert all(os.path.isfile(path) for path in executable)


@pytest.mark.parametrize("limit", [["--as", str(10**20)], ["--cpu", str(2**63 - 1)]])
def test_a_limit_the_kernel_cannot_take_is_one_line_not_a_traceback(limit):
    # Security audit: --memory-limit 99999999999999999 reached every attendee as an OverflowError traceback.
    done = subprocess.run([sys.executable, "-P", "-m", "tui_attention.serve._exec", *limit, "--", "/bin/true"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 126
    assert done.stderr.startswith("tui-attention: cannot set the tutor's resource limits: ")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
