"""The instructor's control socket (serve.control): only the instructor's user can attach,
several servers each have their own, and `serve status|lead|answers` speak through it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import stat
import tempfile

import pytest

from serve_helpers import wait_until
from tui_attention.cli import main
from tui_attention.infra import channel
from tui_attention.serve import control
from tui_attention.serve.control import ControlError, ControlSocket, Credentials, RoomServer
from tui_attention.serve.room import Room


@pytest.fixture
def runtime(monkeypatch):
    """A short private XDG_RUNTIME_DIR (a Unix socket path has at most 107 bytes)."""
    path = tempfile.mkdtemp(prefix="h14-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def fake_stat(mode: int, uid: int) -> os.stat_result:
    return os.stat_result((mode, 0, 0, 1, uid, 0, 0, 0, 0, 0))


def test_the_directory_and_socket_checks():
    me = os.getuid()
    assert control.dir_problem(fake_stat(stat.S_IFDIR | 0o700, me), me) is None
    assert "mode 0755" in control.dir_problem(fake_stat(stat.S_IFDIR | 0o755, me), me)
    assert "mode 0710" in control.dir_problem(fake_stat(stat.S_IFDIR | 0o710, me), me)
    assert "belongs to user" in control.dir_problem(fake_stat(stat.S_IFDIR | 0o700, me + 1), me)
    assert "not a directory" in control.dir_problem(fake_stat(stat.S_IFLNK | 0o777, me), me)
    assert control.socket_problem(fake_stat(stat.S_IFSOCK | 0o600, me), me) is None
    assert "mode 0660" in control.socket_problem(fake_stat(stat.S_IFSOCK | 0o660, me), me)
    assert "mode 0700" in control.socket_problem(fake_stat(stat.S_IFSOCK | 0o700, me), me)
    assert "belongs to user" in control.socket_problem(fake_stat(stat.S_IFSOCK | 0o600, me + 1), me)
    assert "not a socket" in control.socket_problem(fake_stat(stat.S_IFREG | 0o600, me), me)


def test_only_the_instructors_own_user_may_attach():
    me = os.getuid()
    assert control.peer_allowed(Credentials(pid=123, uid=me, gid=0), me)
    assert not control.peer_allowed(Credentials(pid=123, uid=me + 1, gid=0), me)
    assert not control.peer_allowed(Credentials(pid=1, uid=0, gid=0), 1000)  # not even root


def test_peer_credentials_come_from_the_kernel():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        assert control.peer_credentials(a) == (os.getpid(), os.getuid(), os.getgid())


async def test_the_real_socket_is_0600_in_a_0700_directory_and_answers_its_owner(runtime):
    sockets = ControlSocket(Room(), "ssh")
    path = await sockets.start()
    try:
        assert path == control.control_dir() / f"ssh-{os.getpid()}.sock"
        directory = os.lstat(path.parent)
        assert stat.S_IMODE(directory.st_mode) == 0o700 and directory.st_uid == os.getuid()
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid()
        reply = await asyncio.to_thread(control.request, path, "status")
        assert reply["kind"] == "status" and reply["sessions"] == []
        assert await asyncio.to_thread(control.discover) == [path]
    finally:
        await sockets.close()
    assert not path.exists()


def raw_status(path) -> bytes:
    """What a program of the instructor's user that has not read the key gets for `status`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(channel.encode("status"))
        reply = b""
        while not reply.endswith(b"\n") and (chunk := sock.recv(65536)):
            reply += chunk
        return reply


async def test_the_same_user_without_the_key_is_refused_and_the_instructor_still_answered(runtime, caplog):
    """Attack: a tutor runs as the instructor's user, so SO_PEERCRED lets it in; it connects and
    asks for `status` (names) or sends `message`. Without the key (0600, beside the socket) it
    gets one error line and is hung up on, and that is logged; a client that only looks whether
    anyone listens is not; the instructor's `request` reads the key and is answered."""
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    sockets = ControlSocket(Room(), "web")
    path = await sockets.start()
    try:
        key = os.lstat(control.key_path(path))
        assert stat.S_ISREG(key.st_mode) and stat.S_IMODE(key.st_mode) == 0o600 and key.st_uid == os.getuid()
        reply = json.loads(await asyncio.to_thread(raw_status, path))
        assert reply["kind"] == "error" and "no key" in reply["error"]
        assert "did not send the server's key" in caplog.text
        caplog.clear()
        assert await asyncio.to_thread(control.discover) == [path]
        assert (await asyncio.to_thread(control.request, path, "status"))["kind"] == "status"
        assert "refused" not in caplog.text
    finally:
        await sockets.close()
    assert not control.key_path(path).exists()


async def test_another_user_is_hung_up_on_and_logged(runtime, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    sockets = ControlSocket(Room(), "ssh")
    path = await sockets.start()
    stranger = Credentials(pid=4242, uid=os.getuid() + 1, gid=0)
    monkeypatch.setattr(control, "peer_credentials", lambda sock: stranger)  # as the kernel would say
    try:
        with pytest.raises(ControlError, match="hung up"):
            await asyncio.to_thread(control.request, path, "status")
        assert f"refused a control connection from pid 4242, uid {stranger.uid}: another user" in caplog.text
    finally:
        await sockets.close()


async def test_an_unsafe_directory_is_refused_in_one_line(runtime):
    os.mkdir(os.path.join(runtime, control.DIR_NAME), 0o755)
    os.chmod(os.path.join(runtime, control.DIR_NAME), 0o755)  # whatever the umask
    with pytest.raises(ControlError, match="has mode 0755: others may enter it"):
        await ControlSocket(Room(), "ssh").start()
    with pytest.raises(ControlError, match="has mode 0755"):
        control.discover()


async def test_several_servers_each_have_a_socket_and_stale_ones_are_tidied(runtime):
    ssh, web = ControlSocket(Room(), "ssh"), ControlSocket(Room(), "web")
    await ssh.start()
    await web.start()
    stale = control.control_dir() / "ssh-999999.sock"
    orphan = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    orphan.bind(str(stale))  # bound, never listening: a server killed with SIGKILL
    os.chmod(stale, 0o600)
    orphan.close()
    try:
        found = await asyncio.to_thread(control.discover)
        assert sorted(p.name for p in found) == sorted([ssh.path.name, web.path.name])
        assert not stale.exists()
    finally:
        await ssh.close()
        await web.close()


class FakeServer:
    """Stands in for TutorSSHServer in RoomServer: what it calls, nothing more."""

    port, max_sessions = 2222, 50

    def __init__(self) -> None:
        self.started = self.closed = False

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    def banner_lines(self) -> list[str]:
        return ["tui-attention: serving", "  Press Ctrl+C to stop."]


def tutor_end(member) -> socket.socket:
    sock = socket.socket(fileno=socket.dup(member.child_fd))
    member.started()
    return sock


async def test_cli_status_lead_and_answers_through_the_socket_and_the_csv_at_the_end(runtime, tmp_path, capsys):
    room = Room()
    answers = tmp_path / "answers.csv"
    served = RoomServer(FakeServer(), room, "ssh", answers)
    await served.start()
    try:
        assert any("serve dashboard" in line for line in served.banner_lines())
        ana, bo = room.join(), room.join()
        ends = [tutor_end(ana), tutor_end(bo)]
        ends[0].sendall(channel.encode("state", view="matrix", word=2, words=5, step=4, steps=11,
                                       switches={"scale": "none", "mask": "none", "heads": 1, "weight_scale": 1.0},
                                       lesson=5, page=3, pages=4, question="05-softmax/3", settled=False,
                                       following=False, locked=False, name=None))
        ends[0].sendall(channel.encode("answer", lesson=5, page=3, question="05-softmax/3", type="choice",
                                       correct=False, choice=1, value=None))
        assert await wait_until(lambda: len(room.answers) == 1, 5)

        assert await asyncio.to_thread(main, ["serve", "status", "--format", "json"]) == 0
        (table,) = json.loads(capsys.readouterr().out)
        assert table["server"]["kind"] == "ssh" and table["server"]["pid"] == os.getpid()
        by_id = {s["id"]: s for s in table["sessions"]}
        assert set(by_id) == {ana.id, bo.id}
        for key in ("id", "name", "lesson", "page", "view", "word", "step", "answers"):
            assert key in by_id[ana.id]
        assert (by_id[ana.id]["lesson"], by_id[ana.id]["page"], by_id[ana.id]["word"]) == (5, 3, 2)
        assert by_id[ana.id]["answers"] == {"right": 0, "wrong": 1}
        assert by_id[bo.id]["lesson"] is None  # no report yet

        assert await asyncio.to_thread(main, ["serve", "status"]) == 0
        text = capsys.readouterr().out
        assert "2 sessions, not leading, 1 answer" in text and "lesson 5 p3/4 ?" in text

        assert await asyncio.to_thread(main, ["serve", "lead", "--lesson", "5", "--page", "2", "--lock"]) == 0
        assert "sent to 2 sessions" in capsys.readouterr().out
        for end in ends:
            lines = await asyncio.to_thread(end.recv, 65536)
            assert [channel.decode_command(x)["kind"] for x in lines.splitlines()] == ["follow", "goto"]

        assert await asyncio.to_thread(main, ["serve", "answers"]) == 0
        assert capsys.readouterr().out.splitlines()[1].startswith(f"{ana.id},")

        assert await asyncio.to_thread(main, ["serve", "lead", "--lesson", "5", "--word", "2"]) == 2
        assert await asyncio.to_thread(main, ["serve", "lead", "--message", "a\x1b[2Jb"]) == 2
        assert await asyncio.to_thread(main, ["serve", "status", "--server", "web"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 3 and "Traceback" not in err
        # A page or question the tutors do not have is refused, not sent (audit: "sent to 4").
        for bad, why in ((["--lesson", "13"], "there is no lesson 13: the lessons are 1-12"),
                         (["--lesson", "4", "--page", "9"], "lesson 4 has pages 1-5, not 9"),
                         (["--reveal", "04-bogus/9"], "there is no question 04-bogus/9")):
            assert await asyncio.to_thread(main, ["serve", "lead", *bad]) == 2
            captured = capsys.readouterr()
            assert why in captured.err and len(captured.err.strip().splitlines()) == 1 and not captured.out
        assert await asyncio.to_thread(main, ["serve", "lead", "--reveal", "05-softmax/3"]) == 0
        assert "sent to 2 sessions" in capsys.readouterr().out
        for end in ends:
            end.close()
    finally:
        await served.close()
    assert answers.read_text().splitlines()[1].startswith(f"{ana.id},")
    assert stat.S_IMODE(answers.stat().st_mode) == 0o600
    assert await asyncio.to_thread(main, ["serve", "status"]) == 2  # gone: one line, status 2
    assert "no workshop server of yours" in capsys.readouterr().err


async def test_answers_output_writes_the_table_and_refuses_what_it_cannot_write(runtime, tmp_path, capsys):
    """Audit: `serve answers --output FILE` reached `check_output` as a Path, which it could not
    read: a TypeError, every time."""
    room = Room()
    served = RoomServer(FakeServer(), room, "ssh", tmp_path / "at-the-end.csv")
    await served.start()
    try:
        ana = room.join()
        end = tutor_end(ana)
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


# --- leading within the server's scenario, and saying when nothing was done --------------------
SCENARIO = {"words": 5, "steps": {"walkthrough": 9, "matrix": 11}}


def test_a_served_room_knows_its_scenarios_words_and_steps(tmp_path):
    from tui_attention.cli import room as room_cli
    from tui_attention.cli.main import parse

    args = parse(["serve", "ssh", "--sentence", "the cat sat on the mat today", "--heads", "2",
                  "--answers", str(tmp_path / "a.csv")])
    served = room_cli.attach(FakeServer(), args)
    assert served.room.scenario == {"words": 7, "steps": {"walkthrough": 9, "matrix": 12}}  # concat with 2 heads
    args = parse(["serve", "web", "--answers", str(tmp_path / "b.csv")])
    assert room_cli.attach(FakeServer(), args).room.scenario == SCENARIO  # the default scenario


async def test_lead_to_a_step_past_the_scenario_is_refused_naming_the_option(runtime, tmp_path, capsys, caplog):
    # Audit: --word 9 on a 5-word sentence, --step 12 and --step 50 in the matrix view (11 steps),
    # --step 10 in the walkthrough (9) said "sent to 7 sessions", and every tutor was clamped
    # without a word; --step 99 was refused as "tui-attention serve: not a valid request: ...".
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    room = Room(scenario=SCENARIO)
    served = RoomServer(FakeServer(), room, "ssh", tmp_path / "answers.csv")
    await served.start()
    try:
        end = tutor_end(room.join())
        for bad, why in ((["--view", "walkthrough", "--word", "9", "--step", "2"],
                          "--word: the sentence has words 1-5, not 9"),
                         (["--view", "matrix", "--word", "1", "--step", "12"],
                          "--step: the matrix view has steps 1-11, not 12"),
                         (["--view", "matrix", "--step", "50"], "--step: the matrix view has steps 1-11, not 50"),
                         (["--view", "walkthrough", "--step", "10"],
                          "--step: the walkthrough view has steps 1-9, not 10"),
                         (["--view", "walkthrough", "--step", "99"],
                          "--step: the walkthrough view has steps 1-9, not 99")):
            assert await asyncio.to_thread(main, ["serve", "lead", *bad]) == 2
            captured = capsys.readouterr()
            assert captured.err == f"tui-attention serve lead: {why}\n" and not captured.out, bad
        assert not room.lead["following"] and "leading" not in caplog.text
        # Sent past the command's check (the dashboard's f, say), the server refuses it itself.
        with pytest.raises(ControlError, match="the sentence has words 1-5, not 6"):
            await asyncio.to_thread(control.request, served.control.path, "goto", view="matrix", word=6, step=1,
                                    lock=False)
        assert await asyncio.to_thread(main, ["serve", "lead", "--view", "matrix", "--word", "5", "--step", "11"]) == 0
        assert "sent to 1 session" in capsys.readouterr().out
        lines = await asyncio.to_thread(end.recv, 65536)
        assert channel.decode_command(lines.splitlines()[-1]) == {"v": 1, "kind": "goto", "view": "matrix", "word": 5,
                                                                  "step": 11}
        end.close()
    finally:
        await served.close()


async def test_reveal_with_nobody_on_a_question_sends_nothing_and_says_so(runtime, tmp_path, capsys, caplog):
    # Audit: `serve lead --reveal` with no open question said "sent to 15 sessions", exit 0, and
    # logged "revealed the worked answer to 15 sessions".
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    room = Room()
    served = RoomServer(FakeServer(), room, "ssh", tmp_path / "answers.csv")
    await served.start()
    try:
        ana, bo = room.join(), room.join()
        ends = [tutor_end(ana), tutor_end(bo)]
        ends[0].sendall(channel.encode("state", view="walkthrough", word=1, words=5, step=1, steps=9,
                                       switches={"scale": "none", "mask": "none", "heads": 1, "weight_scale": 1.0},
                                       lesson=None, page=None, pages=None, question=None, settled=False,
                                       following=False, locked=False, name=None))
        assert await wait_until(lambda: ana.state is not None, 5)
        assert await asyncio.to_thread(main, ["serve", "lead", "--reveal"]) == 1
        captured = capsys.readouterr()
        assert captured.err == "tui-attention serve lead: nothing sent: no session is on a question\n"
        assert not captured.out and "revealed" not in caplog.text and room.status()["revealed"] == []
        for end in ends:
            end.setblocking(False)
            with pytest.raises(BlockingIOError):
                end.recv(65536)  # no tutor was sent anything
            end.close()
    finally:
        await served.close()


async def test_status_has_what_was_revealed_and_the_text_table_the_flags(runtime, tmp_path, capsys):
    # Audit: `serve status --format json` left out "revealed" (the server sent it), and the text
    # table had no F (following) and ! (stuck) column.
    room = Room()
    served = RoomServer(FakeServer(), room, "ssh", tmp_path / "answers.csv")
    await served.start()
    try:
        ana, bo = room.join(), room.join()
        for member, following in ((ana, True), (bo, False)):
            room.take(member, {"v": 1, "kind": "state", "view": "walkthrough", "word": 1, "words": 5, "step": 1,
                               "steps": 9, "switches": {"scale": "none", "mask": "none", "heads": 1,
                                                        "weight_scale": 1.0},
                               "lesson": 5, "page": 3, "pages": 4, "question": "05-softmax/3", "settled": False,
                               "following": following, "locked": False, "name": None})
        bo.place_since -= 3600  # an hour on one page: stuck
        room.handle({"v": 1, "kind": "reveal", "question": "05-softmax/3"})
        assert await asyncio.to_thread(main, ["serve", "status", "--format", "json"]) == 0
        (table,) = json.loads(capsys.readouterr().out)
        assert table["revealed"] == ["05-softmax/3"]
        assert await asyncio.to_thread(main, ["serve", "status"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[1].endswith("  flags")
        rows = {line.split()[0]: line for line in lines[2:]}
        assert rows[ana.id].endswith("  F") and rows[bo.id].endswith("  !")
    finally:
        await served.close()


def test_no_server_names_the_folder_it_looked_in(runtime, capsys):
    # Audit: a server started with another XDG_RUNTIME_DIR was "not running on this machine".
    assert main(["serve", "status"]) == 2
    err = capsys.readouterr().err
    assert f"({control.control_dir()} does not exist: give XDG_RUNTIME_DIR as the server had it)" in err
    os.mkdir(control.control_dir(), 0o700)
    assert main(["serve", "status"]) == 2
    err = capsys.readouterr().err
    assert f"none has its socket in {control.control_dir()}" in err and len(err.strip().splitlines()) == 1


# --- stopping the server with a dashboard attached --------------------------------------------
async def test_stopping_hangs_up_on_attached_clients_without_an_asyncio_error(runtime, caplog):
    # Audit: SIGINT with a dashboard attached logged "Exception in callback StreamReaderProtocol.
    # connection_made.<locals>.callback(<Task cancelled ...>) ... CancelledError", once a dashboard.
    caplog.set_level(logging.DEBUG)
    sockets = ControlSocket(Room(), "ssh")
    path = await sockets.start()
    readers = []
    for _ in range(2):  # two dashboards, and one client that has not sent the key yet
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(control.read_key(path) + b"\n" + channel.encode("status"))
        assert channel.decode_reply(await reader.readline())["kind"] == "status"
        readers.append((reader, writer))
    readers.append(await asyncio.open_unix_connection(str(path)))
    await asyncio.sleep(0.1)
    await sockets.close()
    for reader, writer in readers:
        assert await asyncio.wait_for(reader.read(), 5) == b""  # hung up on
        writer.close()
    await asyncio.sleep(0.1)  # where asyncio's callbacks of its tasks would have run
    assert "Exception in callback" not in caplog.text and "CancelledError" not in caplog.text, caplog.text
    assert not path.exists() and not control.key_path(path).exists()
