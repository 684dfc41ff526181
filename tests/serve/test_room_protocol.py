"""The workshop channel: the protocol's rules (infra.channel) and the room fed by real socket
pairs (serve.room): state and answer reports, commands out, and what a tutor may not send
(ignored, and logged escaped and rate-limited)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket

import pytest
from rich.cells import cell_len

from serve_helpers import drain, wait_until
from tui_attention.cli import room as room_cli
from tui_attention.cli.main import main
from tui_attention.infra import channel
from tui_attention.serve import room as room_module
from tui_attention.serve.room import Room

SWITCHES = {"scale": "none", "mask": "none", "heads": 1, "weight_scale": 0.1}


def state(**changes) -> dict:
    fields = dict(view="walkthrough", word=1, words=5, step=1, steps=9, switches=SWITCHES, lesson=None, page=None,
                  pages=None, question=None, settled=False, following=False, locked=False, name=None)
    fields.update(changes)
    return fields


def answer(**changes) -> dict:
    fields = dict(lesson=5, page=3, question="05-softmax/3", type="choice", correct=True, choice=3, value=None)
    fields.update(changes)
    return fields


# --- the protocol ---------------------------------------------------------------------------


def test_reports_round_trip_and_every_line_is_one_versioned_json_object():
    for kind, fields in (("state", state()), ("state", state(lesson=5, page=3, pages=4, question="05-softmax/3")),
                         ("answer", answer()), ("answer", answer(type="numeric", choice=None, value=-0.0123))):
        line = channel.encode(kind, **fields)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert json.loads(line) == {"v": channel.VERSION, "kind": kind, **fields}
        assert channel.decode_report(line) == {"v": channel.VERSION, "kind": kind, **fields}


@pytest.mark.parametrize("line, why", [
    (b"not json", "not a JSON line"),
    (b"[1, 2]", "not a JSON object"),
    (json.dumps({"v": 2, "kind": "state", **state()}).encode(), "not protocol version 1"),
    (channel.encode("goto", lesson=5, page=2), "not a report"),  # a command, from a tutor
    (channel.encode("status"), "not a report"),  # a control request, from a tutor
    (channel.encode("state", **state(word=0)), "out-of-range"),
    (channel.encode("state", **state(view="shell")), "out-of-range"),
    (channel.encode("state", **state(extra=1)), "extra"),
    (channel.encode("state", **{k: v for k, v in state().items() if k != "word"}), "missing"),
    (channel.encode("state", **state(name="\x1b[31mred")), "out-of-range"),
    (channel.encode("state", **state(name="x" * 33)), "out-of-range"),
    (channel.encode("answer", **answer(question="../../etc/passwd")), "out-of-range"),
    (channel.encode("answer", **answer(correct=1)), "out-of-range"),  # 1 is not a bool
    (b'{"v":1,"kind":"answer","lesson":5,"page":3,"question":"05-softmax/3","type":"numeric","correct":false,'
     b'"choice":null,"value":NaN}', "not a JSON line"),
    (b"x" * (channel.MAX_REPORT + 1), "longer than"),
])
def test_malformed_reports_are_refused_with_a_reason(line, why):
    with pytest.raises(channel.ChannelError, match=why):
        channel.decode_report(line)


def test_commands_and_requests_have_their_own_shapes():
    assert channel.decode_command(channel.encode("goto", lesson=5, page=2))["page"] == 2
    assert channel.decode_command(channel.encode("goto", view="matrix", word=2, step=4))["view"] == "matrix"
    with pytest.raises(channel.ChannelError):  # a goto is a place or a step, not both
        channel.decode_command(channel.encode("goto", lesson=5, page=2, view="matrix", word=1, step=1))
    with pytest.raises(channel.ChannelError):
        channel.decode_command(channel.encode("message", text="two\nlines"))
    with pytest.raises(channel.ChannelError):  # a report is no command
        channel.decode_command(channel.encode("state", **state()))
    assert channel.decode_request(channel.encode("goto", lesson=5, page=2, lock=True))["lock"] is True
    with pytest.raises(channel.ChannelError):
        channel.decode_request(channel.encode("goto", lesson=5, page=2))  # lock is required


def test_line_reader_drops_oversized_lines_without_buffering_them():
    reader = channel.LineReader(16)
    assert reader.feed(b"short\nalso sh") == [b"short"]
    assert reader.feed(b"ort\n" + b"y" * 40) == [b"also short"]
    assert reader.oversized == 1
    assert reader.feed(b"y" * 1000) == []  # still skipping: nothing kept
    assert reader.feed(b"yy\nnext\n") == [b"next"]
    assert reader.oversized == 1


def test_names_and_messages_are_one_printable_line():
    assert channel.name_problem("Ana María") is None
    assert channel.name_problem("李") is None
    assert channel.name_problem("Nguye\u0302\u0303n") is None  # two combining marks: Vietnamese
    # Security audit: blank-looking names (Hangul fillers, the blank braille pattern) and a letter
    # under 31 combining marks were taken.
    for bad in ("", "   ", "x" * 33, "a\x1b[2Jb", "a\u202eb", "a\nb", "a\u2028b", "\u3164\u3164\u3164",
                "\u2800\u2800", "Z" + "\u0489" * 31, "e\u0301\u0302\u0303"):
        assert channel.name_problem(bad) is not None, bad
    assert channel.printable_problem("Break until 10:30 ☕", channel.MAX_TEXT) is None


def test_parse_goto():
    assert channel.parse_goto("5 2") == {"lesson": 5, "page": 2}
    assert channel.parse_goto("m 2 4") == {"view": "matrix", "word": 2, "step": 4}
    for bad in ("", "5", "0 1", "x 1 2", "w 1 0", "5 2 1 1"):
        assert channel.parse_goto(bad) is None, bad


# --- the room, on real socket pairs ------------------------------------------------------------


class Tutor:
    """The tutor's end of a member's socket pair (a dup of the descriptor the child would get)."""

    def __init__(self, member) -> None:
        self.sock = socket.socket(fileno=socket.dup(member.child_fd))
        self.sock.setblocking(False)
        member.started()  # the server closes its copy of the tutor's end, as after a spawn

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def commands(self) -> list[dict]:
        data = drain(self.sock)
        return [channel.decode_command(line) for line in data.splitlines()]


async def test_state_and_answers_make_the_live_record_and_the_anonymous_table():
    room = Room(ask_name=True)
    member = room.join()
    tutor = Tutor(member)
    assert tutor.commands() == [{"v": 1, "kind": "ask_name"}]  # asked for a name at start
    tutor.send(channel.encode("state", **state(lesson=5, page=3, pages=4, question="05-softmax/3", name=" Ana ")))
    tutor.send(channel.encode("answer", **answer(correct=False, choice=1)))
    tutor.send(channel.encode("answer", **answer(correct=True, choice=3)))
    assert await wait_until(lambda: len(room.answers) == 2, 5)
    record = room.status()["sessions"][0]
    assert record["id"] == member.id
    assert record["name"] == "Ana"
    assert (record["lesson"], record["page"], record["question"]) == (5, 3, "05-softmax/3")
    assert record["answers"] == {"right": 1, "wrong": 1} and record["wrong_here"] == 1
    assert [row["choice"] for row in room.answers] == [1, 3]
    csv_text = channel.answers_csv(room.answers)
    assert csv_text.splitlines()[0] == ",".join(channel.ANSWER_COLUMNS)
    assert "Ana" not in csv_text and member.id in csv_text  # anonymous: the random id only
    room.leave(member)
    assert not room.members


async def test_a_name_is_ignored_unless_the_server_asked_for_one():
    room = Room()
    member = room.join()
    tutor = Tutor(member)
    assert tutor.commands() == []
    tutor.send(channel.encode("state", **state(name="Mallory")))
    assert await wait_until(lambda: member.state is not None, 5)
    assert member.name is None
    room.close()


async def test_commands_reach_every_tutor_and_a_newcomer_joins_the_lead():
    room = Room()
    first, second = room.join(), room.join()
    tutors = [Tutor(first), Tutor(second)]
    kind, reply = room.handle({"v": 1, "kind": "goto", "lesson": 5, "page": 2, "lock": True})
    assert (kind, reply) == ("done", {"sent": 2})
    for tutor in tutors:
        assert [(c["kind"], c.get("on"), c.get("locked"), c.get("page")) for c in tutor.commands()] == [
            ("follow", True, True, None), ("goto", None, None, 2)]
    late = Tutor(room.join())
    assert [c["kind"] for c in late.commands()] == ["follow", "goto"]
    room.handle({"v": 1, "kind": "reveal", "question": "05-softmax/2"})
    room.handle({"v": 1, "kind": "message", "text": "Look at row 1"})
    room.handle({"v": 1, "kind": "release"})
    assert [(c["kind"], c.get("question"), c.get("text"), c.get("on")) for c in tutors[0].commands()] == [
        ("reveal", "05-softmax/2", None, None), ("message", None, "Look at row 1", None),
        ("follow", None, None, False)]
    assert room.status()["lead"] == {"following": False, "locked": False, "goto": None}
    room.close()


async def test_a_message_reaches_who_joins_within_ten_minutes_of_it():
    # Audit: "Back at 10:30" was a toast for 20 s; an attendee who joined after it never saw it.
    now = [100.0]
    room = Room(clock=lambda: now[0])
    room.handle({"v": 1, "kind": "message", "text": "Back at 10:30"})
    now[0] += 599
    soon = Tutor(room.join())
    assert [(c["kind"], c.get("text")) for c in soon.commands()] == [("message", "Back at 10:30")]
    now[0] += 2
    late = Tutor(room.join())
    assert late.commands() == []
    room.close()


async def test_malformed_oversized_and_foreign_lines_are_ignored_and_logged_escaped(caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    room = Room()
    member = room.join()
    tutor = Tutor(member)
    tutor.send(b"\x1b[2J\x1b]52;c;cGF3bmVk\x07 forged\n")  # an escape flood, an OSC 52 clipboard write
    tutor.send(channel.encode("goto", lesson=1, page=1))  # a command: a tutor may not send one
    tutor.send(b"z" * (channel.MAX_REPORT * 3) + b"\n")
    tutor.send(channel.encode("state", **state(step=4)))  # and the channel still works after all that
    assert await wait_until(lambda: member.state is not None, 5)
    assert member.state["step"] == 4 and not room.answers
    text = caplog.text
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2J" in text and "not a JSON line" in text
    assert "not a report: kind 'goto'" in text
    assert f"longer than {channel.MAX_REPORT} bytes" in text
    assert all(len(line) < 400 and member.id in line for line in caplog.messages)
    room.close()


async def test_a_flood_is_logged_once_a_burst_and_stops_the_reading_for_a_while(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    monkeypatch.setattr(room_module, "REPORT_BURST", 20.0)
    monkeypatch.setattr(room_module, "FLOOD_PAUSE", 0.3)
    room = Room()
    member = room.join()
    tutor = Tutor(member)
    tutor.send(b"garbage\n" * 15)
    tutor.send(b"".join(channel.encode("state", **state(step=1 + k % 9)) for k in range(200)))
    assert await wait_until(lambda: "reports a second" in caplog.text, 5)
    assert caplog.text.count("ignored a line") == 3  # RefusalLog: a few lines a burst, not 15
    paused = member.state
    await asyncio.sleep(0.1)
    assert member.state is paused  # not reading
    tutor.send(channel.encode("state", **state(view="matrix", steps=11)))
    assert await wait_until(lambda: member.state is not None and member.state["view"] == "matrix", 5)
    room.close()


async def test_a_tutor_that_never_reads_cannot_make_the_server_buffer_without_bound():
    room = Room()
    member = room.join()
    tutor = Tutor(member)  # holds its end open, and reads nothing
    sent = sum(room.broadcast(channel.encode("message", text="x" * 190)) for _ in range(5000))
    assert sent < 5000  # the outbox is full: later commands are dropped, not queued
    assert len(member._outbox) <= room_module.MAX_OUTBOX  # noqa: SLF001
    room.close()
    tutor.sock.close()


async def test_one_session_holding_a_wrong_answer_key_cannot_fill_the_answer_table(caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    room = Room()
    flooder, other = room.join(), room.join()
    flooding, answering = Tutor(flooder), Tutor(other)
    cap = room_module.ATTEMPTS_PER_QUESTION
    flooding.send(b"".join(channel.encode("answer", **answer(correct=False, choice=1 + k % 2)) for k in range(60)))
    assert await wait_until(lambda: flooder.wrong == 60, 5)
    answering.send(channel.encode("answer", **answer(correct=True, choice=3)))
    assert await wait_until(lambda: other.right == 1, 5)
    sessions = [row["session"] for row in room.answers]
    assert sessions.count(flooder.id) == cap and sessions.count(other.id) == 1  # the room's answer is kept
    status = room.status()
    assert status["answers"] == cap + 1 and status["dropped"] == 60 - cap
    records = {record["id"]: record for record in status["sessions"]}
    assert records[flooder.id]["dropped"] == 60 - cap and records[other.id]["dropped"] == 0
    assert records[flooder.id]["answers"] == {"right": 0, "wrong": 60}  # still counted in the live table
    dropped = [m for m in caplog.messages if "out of the answer table" in m]
    assert 1 <= len(dropped) <= 3 and all(flooder.id in m for m in dropped)  # said, a few lines a burst
    assert "more than %d answers to one question" % cap in dropped[0]
    room.close()


async def test_a_session_keeps_at_most_its_cap_of_rows_over_many_questions(monkeypatch):
    monkeypatch.setattr(room_module, "ROWS_PER_SESSION", 10)
    room = Room()
    member = room.join()
    tutor = Tutor(member)
    tutor.send(b"".join(channel.encode("answer", **answer(question=f"q{k}/1")) for k in range(25)))
    assert await wait_until(lambda: member.right == 25, 5)
    assert len(room.answers) == 10 and room.status()["dropped"] == 15
    room.close()


def test_serve_status_says_when_answers_were_left_out():
    from tui_attention.cli.room import status_text

    table = {"server": {"kind": "ssh", "port": 1, "pid": 2}, "lead": {}, "answers": 5, "dropped": 55, "sessions": []}
    assert "55 more left out of the table" in status_text(table)
    assert "left out" not in status_text({**table, "dropped": 0})


def test_session_ids_are_unique_over_the_servers_life_not_only_among_those_present():
    room = Room()
    seen = set()
    for _ in range(3000):  # with 16 random bits, two of 3000 ids would share one almost surely
        member = room.join()
        assert member.id not in seen
        seen.add(member.id)
        room.leave(member)
    assert all(len(i) <= 10 for i in seen)  # still short enough for the table


def record(**changes) -> dict:
    fields = {"id": "1-ab12", "name": None, "connected": 5.0, "idle": 1.0, **state(),
              "answers": {"right": 1, "wrong": 0}, "here": 3.0, "wrong_here": 0}
    fields.update(changes)
    return fields


# --- the learn view ------------------------------------------------------------------------
def test_a_tutor_in_the_learn_view_reports_it_and_is_shown_there():
    line = channel.encode("state", **state(view="learn", word=2, step=4))
    assert channel.decode_report(line)["view"] == "learn"
    assert channel.place_text(record(view="learn", word=2, step=4)) == "learn"
    table = {"server": {"kind": "ssh", "port": 1, "pid": 2}, "lead": {}, "answers": 0,
             "sessions": [record(view="learn")]}
    assert room_cli.status_text(table).splitlines()[-1].split()[-3] == "learn"  # where; then right, wrong
    # Bounded and checked as before: only the views there are.
    for view in ("Learn", "learning", "", None, 1, "learn" * 500):
        with pytest.raises(channel.ChannelError, match="out-of-range|longer than"):
            channel.decode_report(channel.encode("state", **state(view=view)))


def test_the_room_cannot_be_led_into_the_learn_view(capsys):
    # A tutor led there would set its state.view to "learn", which no screen draws.
    for decode, extra in ((channel.decode_command, {}), (channel.decode_request, {"lock": False})):
        with pytest.raises(channel.ChannelError, match="out-of-range"):
            decode(channel.encode("goto", view="learn", word=1, step=1, **extra))
        assert decode(channel.encode("goto", view="matrix", word=1, step=1, **extra))["view"] == "matrix"
    assert channel.parse_goto("l 1 2") is None and channel.parse_goto("learn 1 2") is None
    assert main(["serve", "lead", "--view", "learn"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "--view: invalid choice: 'learn'" in err
    lead = argparse.Namespace(lesson=None, page=None, view="matrix", word=None, step=None, lock=False, release=False,
                              reveal=None, message=None)
    assert room_cli.lead_request(lead) == ("goto", {"view": "matrix", "word": 1, "step": 1, "lock": False})


# --- serve status lines up what attendees typed ---------------------------------------------
def test_serve_status_pads_by_terminal_cells_so_wide_names_keep_the_columns():
    names = ["Ana", "山田太郎", "😀 Zoë 😀", "山田太郎山田太郎山田太郎", "x" * 32, None, "😀😀😀😀😀😀😀 ok"]
    table = {"server": {"kind": "ssh", "port": 1, "pid": 2}, "lead": {}, "answers": 0,
             "sessions": [record(id=f"{k}-ab12", name=name) for k, name in enumerate(names, 1)]}
    lines = room_cli.status_text(table).splitlines()
    header, rows = lines[1], lines[2:]
    where = cell_len(header[: header.index("where")])
    connected_end = cell_len(header[: header.index("connected") + len("connected")])
    for line in rows:
        assert cell_len(line[: line.index("walkthrough")]) == where, line
        assert cell_len(line[: line.index("5s") + 2]) == connected_end, line
        assert cell_len(line) == cell_len(rows[0]), line
    # Cut to 16 cells, not 16 characters, and marked: a name cut without a mark looked whole.
    assert "山田太郎山田太… " in rows[3] and f"{'x' * 15}…" in rows[4] and "😀😀😀😀😀😀😀… " in rows[6]
    assert "Ana" in rows[0] and "😀 Zoë 😀" in rows[2]


# --- what the instructor revealed --------------------------------------------------------------
def take_state(room: Room, member, **changes) -> None:
    room.take(member, {"v": 1, "kind": "state", **state(**changes)})


def test_the_room_remembers_what_was_revealed_and_keeps_it_bounded(monkeypatch):
    room = Room()
    try:
        a, b, c = room.join(), room.join(), room.join()
        take_state(room, a, lesson=5, page=3, pages=4, question="05-softmax/3")
        take_state(room, b, lesson=6, page=2, pages=4, question="06-scale/2")
        assert room.status()["revealed"] == []
        room.handle({"v": 1, "kind": "reveal", "question": "07-mask/1"})
        assert room.status()["revealed"] == ["07-mask/1"]
        room.handle({"v": 1, "kind": "reveal", "question": None})  # whatever each session has open
        assert room.status()["revealed"] == ["07-mask/1", "05-softmax/3", "06-scale/2"]
        room.handle({"v": 1, "kind": "reveal", "question": "07-mask/1"})  # again: the most recent
        assert room.status()["revealed"] == ["05-softmax/3", "06-scale/2", "07-mask/1"]
        # Tutors report any well-formed id they like: what is kept stays bounded.
        monkeypatch.setattr(room_module, "MAX_REVEALED", 4)
        for k in range(10):
            take_state(room, c, lesson=9, page=1, pages=1, question=f"made-up/{k}")
            room.handle({"v": 1, "kind": "reveal", "question": None})
        revealed = room.status()["revealed"]
        assert len(revealed) == 4 and revealed[-1] == "made-up/9"
    finally:
        room.close()
