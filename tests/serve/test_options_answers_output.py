"""`serve answers --output FILE` against a running room: the option reached `check_output` as a
Path, which it could not read (audit: a TypeError, every time)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile

import pytest
from serve_helpers import wait_until

from tui_attention.cli import main
from tui_attention.infra import channel
from tui_attention.serve.control import RoomServer
from tui_attention.serve.room import Room


class FakeServer:
    """Stands in for TutorSSHServer in RoomServer: what it calls, nothing more."""

    port, max_sessions = 2222, 50

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def banner_lines(self) -> list[str]:
        return ["tui-attention: serving", "  Press Ctrl+C to stop."]


@pytest.fixture
def runtime(monkeypatch):
    """A short private XDG_RUNTIME_DIR (a Unix socket path has at most 107 bytes)."""
    path = tempfile.mkdtemp(prefix="h15-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_answers_output_writes_the_table_and_refuses_what_it_cannot_write(runtime, tmp_path, capsys):
    room = Room()
    served = RoomServer(FakeServer(), room, "ssh", tmp_path / "at-the-end.csv")
    await served.start()
    try:
        ana = room.join()
        end = socket.socket(fileno=socket.dup(ana.child_fd))
        ana.started()
        end.sendall(channel.encode("answer", lesson=5, page=3, question="05-softmax/3", type="choice",
                                   correct=False, choice=1, value=None))
        assert await wait_until(lambda: len(room.answers) == 1, 5)

        out = tmp_path / "now.csv"
        assert await asyncio.to_thread(main, ["serve", "answers", "--output", str(out)]) == 0
        assert out.read_text().splitlines()[1].startswith(f"{ana.id},")
        assert capsys.readouterr().out == ""

        (tmp_path / "folder").mkdir()
        for bad, why in ((str(tmp_path / "folder"), "it is a folder"), ("", "--output needs a file name"),
                         (str(tmp_path / "missing" / "a.csv"), "does not exist"), ("/dev/full", "a device")):
            assert await asyncio.to_thread(main, ["serve", "answers", "--output", bad]) == 2
            err = capsys.readouterr().err
            assert why in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        end.close()
    finally:
        await served.close()
