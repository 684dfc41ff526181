"""`serve ssh` and its open-file limit: it refuses to start below what --max-sessions needs,
says "out of file descriptors" once every 10 s instead of a line per failed accept(), and a
tutor that cannot start for want of descriptors leaves no session folder behind.

Before: with `ulimit -n 64` and --max-sessions 20 the server started, attendees were told
"The tutor could not be started", the log took 197 lines of "socket.accept() out of system
resource", and every failed start left an empty /tmp/tui-attention-session-<pid>-* folder.
"""

from __future__ import annotations

import asyncio
import errno
import glob
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import pytest

from serve_helpers import CliServer
from tui_attention.serve import pty_child
from tui_attention.serve.child import WORKDIR_PREFIX
from tui_attention.serve.pty_child import PtyChild

pytestmark = pytest.mark.serve


def _nofile_64():
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def test_too_few_file_descriptors_refuse_to_start_with_one_line(tmp_path):
    """`ulimit -n 64` is far below what 20 sessions need (a socket per connection, four
    descriptors per tutor, a backlog): one line, exit status 2, before listening."""
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "tui_attention", "serve", "ssh", "--port", "0", "--max-sessions", "20"],
        preexec_fn=_nofile_64, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        env=dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg")),
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=30)  # before: it started, and served until killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, out, err)
    assert len(lines) == 1 and lines[0].startswith("tui-attention: error: the open-file limit (ulimit -n) is 64"), lines
    assert "--max-sessions 20" in lines[0] and out == b""


def test_running_out_of_descriptors_is_one_warning_not_a_flood(tmp_path):
    """Attack: more connections than the server has descriptors (once it has started, its limit
    is lowered to 4 above what it uses; 60 clients from 6 addresses, within each one's opening
    rate). CPython's accept loop reports every failed accept(), more each second; the loop's
    exception handler (`descriptors.AcceptStorms`, as in `serve web`) makes that one warning per 10 s."""
    server = CliServer(["ssh", "--max-sessions", "1"], tmp_path)
    clients = []
    try:
        in_use = len(os.listdir(f"/proc/{server.proc.pid}/fd"))
        _, hard = resource.prlimit(server.proc.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(server.proc.pid, resource.RLIMIT_NOFILE, (in_use + 4, hard))
        for k in range(60):
            client = socket.socket()
            client.settimeout(5)
            client.bind((f"127.0.0.{10 + k % 6}", 0))
            client.connect(("127.0.0.1", server.port))
            clients.append(client)
        time.sleep(3)
    finally:
        for client in clients:
            client.close()
        assert server.stop() == 0
    text = server.stderr()
    lines = text.strip().splitlines()
    print(f"{len(lines)} log lines for 60 connections out of descriptors: {lines}")
    storms = [line for line in lines if "out of file descriptors" in line]
    assert len(storms) == 1 and "raise `ulimit -n`" in storms[0], lines
    assert "out of system resource" not in text.replace(storms[0], "") and "Traceback" not in text
    # Besides: connect and disconnect lines of those accepted (once the clients have gone, the
    # queued ones too), and "stopping".
    rest = [line for line in lines if line not in storms and not re.search(r" (dis)?connect 127\.0\.0\.\d+:\d+ ", line)]
    assert len(rest) == 1 and "stopping" in rest[0], lines


def session_folders() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), f"{WORKDIR_PREFIX}{os.getpid()}-*")))


def open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def out_of_descriptors(*args, **kwargs):
    raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))


@pytest.mark.parametrize("failing", ["make_error_report", "openpty", "Popen"])
async def test_a_tutor_that_cannot_start_leaves_no_folder_and_no_descriptor(monkeypatch, failing):
    """Out of descriptors, a tutor's start fails at its error report, its terminal or its
    process: it raises, and its session folder and every descriptor it opened are gone."""
    if failing == "Popen":  # pty_child's alone: the confinement probe, cached per process, starts one too
        monkeypatch.setattr(pty_child, "subprocess", SimpleNamespace(Popen=out_of_descriptors))
    else:
        monkeypatch.setattr(pty_child if failing == "make_error_report" else os, failing, out_of_descriptors)
    folders, descriptors = session_folders(), open_descriptors()
    child = PtyChild([sys.executable, "-P", "-c", "pass"], on_output=lambda data: None, on_exit=lambda code: None,
                     unconfined=False)
    with pytest.raises(OSError):
        child.start()
    await asyncio.sleep(0)
    assert session_folders() == folders and child.workdir is None
    assert open_descriptors() <= descriptors
