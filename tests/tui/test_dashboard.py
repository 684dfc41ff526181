"""The instructor's dashboard with Pilot, against a real `serve ssh` on loopback (its room and
control socket) and two scripted SSH attendees running the real tutor: one answers right, one
wrong, and the bars show 1 and 1; follow mode moves both; reveal, release; the CSV export."""

from __future__ import annotations

import csv
import shutil
import tempfile

import pytest

from serve_helpers import TerminalClient, bounded, wait_until
from tui_attention.serve.child import tutor_argv
from tui_attention.serve.control import RoomServer, read_key
from tui_attention.serve.room import Room
from tui_attention.serve.ssh import TutorSSHServer
from tui_attention.tui.dashboard import DashboardApp, bars, load_questions

pytestmark = pytest.mark.serve
QUESTION = "05-softmax/3"  # a choice question


@pytest.fixture
def runtime(monkeypatch):
    path = tempfile.mkdtemp(prefix="h14-", dir="/tmp")  # a Unix socket path is short
    monkeypatch.setenv("XDG_RUNTIME_DIR", path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_questions_are_read_from_the_lessons_with_their_right_answers():
    questions = load_questions()
    info = questions[QUESTION]
    assert (info.lesson, info.page, info.kind) == (5, 3, "choice")
    assert info.right is not None and 1 <= info.right <= len(info.choices)
    numeric = next(q for q in questions.values() if q.kind == "numeric")
    rows = [{"session": s, "question": numeric.id, "correct": ok, "choice": None, "value": v}
            for s, ok, v in (("a", True, numeric.value), ("b", False, 1.5), ("b", True, numeric.value),
                             ("c", False, 1.5), ("d", False, -2.0))]
    counted = bars(rows, numeric)
    assert counted[0][1:] == (1, True)  # b's second answer does not count: first answers only
    assert [(label, n) for label, n, _right in counted[1:]] == [
        (f"{-2.0:+.{numeric.decimals}f}", 1), (f"{1.5:+.{numeric.decimals}f}", 2)]
    assert bars(rows, numeric, present={"a"})[0][1] == 1 and sum(n for _l, n, _r in bars(rows, numeric, {"a"})) == 1


async def test_names_are_shown_as_typed_never_as_markup(tmp_path):
    app = DashboardApp(tmp_path / "nobody.sock")  # no server: the header says it cannot reach one
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        assert "cannot reach the server" in str(app.query_one("#room").render())
        record = {"id": "ab12", "name": "[b]Ana[/b] [u]x", "connected": 5.0, "idle": 1.0, "lesson": None,
                  "page": None, "pages": None, "question": None, "settled": None, "view": "walkthrough", "word": 1,
                  "words": 5, "step": 2, "steps": 9, "switches": None, "following": False, "locked": False,
                  "answers": {"right": 0, "wrong": 0}, "wrong_here": 0, "here": 3.0}
        table = {"server": {"kind": "ssh", "port": 1}, "lead": {}, "answers": 0, "sessions": [record]}

        class Answers:  # a server that has this one session
            async def ask(self, kind, **fields):
                return table if kind == "status" else {"since": 0, "rows": []}

            def close(self):
                pass

        app.client = Answers()
        await app.poll()
        await pilot.pause(0.1)
        grid = app.query_one("#sessions")
        assert grid.row_count == 1
        assert "[b]Ana[/b]&#160;[u]x" in app.export_screenshot()  # as typed, brackets and all


def shows_tutor(client: TerminalClient) -> bool:
    lines = client.text().splitlines()
    return bool(lines) and "word 1/5" in lines[0] and "Next" in lines[-1]


async def test_dashboard_leads_two_attendees_counts_their_answers_reveals_releases_and_exports(runtime, tmp_path):
    right = load_questions()[QUESTION].right
    wrong = 1 if right != 1 else 2
    room = Room()
    server = TutorSSHServer(tutor_argv(), port=0, room=room)
    served = RoomServer(server, room, "ssh", tmp_path / "at-stop.csv")

    async def scenario() -> None:
        await served.start()
        clients: list[TerminalClient] = []
        try:
            for _ in range(2):
                clients.append(await TerminalClient(100, 30).connect(server.port))
            assert await wait_until(lambda: all(shows_tutor(c) for c in clients), 40), clients[0].text()
            path = served.control.path
            app = DashboardApp(path, key=lambda: read_key(path), answers_dir=tmp_path / "exports")
            async with app.run_test(size=(100, 30)) as pilot:
                async def until(predicate, timeout: float = 20.0) -> bool:
                    return await wait_until(predicate, timeout, step=0.1)

                grid = app.query_one("#sessions")
                assert await until(lambda: grid.row_count == 2)
                assert "2 sessions (0 stuck) · not leading" in str(app.query_one("#room").render())

                await pilot.press("g")
                await pilot.press(*"5 3", "enter")  # bring everyone to lesson 5, page 3
                assert await until(lambda: all("Following the instructor" in c.text().splitlines()[0]
                                               and "Lesson 5" in c.text() for c in clients))
                assert await until(lambda: all(r["page"] == 3 and r["following"] for r in app.table["sessions"]))
                assert "leading lesson 5 page 3" in str(app.query_one("#room").render())

                clients[0].send(str(right))
                clients[1].send(str(wrong))
                assert await until(lambda: sum(n for _l, n, _r in bars(app.rows, app.questions[QUESTION],
                                                                          app.present())) == 2)
                await pilot.pause(0.2)
                shown = str(app.query_one("#clicker").render()).splitlines()
                right_line = next(line for line in shown if line.startswith(f"✓ {right} "))
                wrong_line = next(line for line in shown if line.startswith(f"  {wrong} "))
                assert right_line.rstrip().endswith("█ 1") and wrong_line.rstrip().endswith("█ 1")
                assert "2 of 2 sessions answered" in "\n".join(shown)

                await pilot.press("r")  # reveal: the worked answer on both screens at once
                assert await until(lambda: all("Worked answer" in c.text() for c in clients))

                await pilot.press("u")  # release
                assert await until(lambda: all("Following" not in c.text().splitlines()[0] for c in clients))
                assert await until(lambda: not any(r["following"] for r in app.table["sessions"]))

                path = app.action_export()
                with open(path, newline="") as f:
                    rows = list(csv.DictReader(f))
                assert sorted((r["question"], r["correct"], r["choice"]) for r in rows) == sorted(
                    [(QUESTION, "yes", str(right)), (QUESTION, "no", str(wrong))])
                assert {r["session"] for r in rows} == {r["id"] for r in app.table["sessions"]}
        finally:
            for client in clients:
                await client.close()
            await served.close()
        assert len((tmp_path / "at-stop.csv").read_text().splitlines()) == 3  # header and two answers

    await bounded(scenario(), 120)


def test_an_attendee_held_by_a_locked_lead_is_not_stuck_for_the_time():
    # Audit: every row of a room the instructor held on one page for a while showed "!" (stuck).
    from tui_attention.tui.dashboard import stuck

    record = {"here": 400.0, "wrong_here": 0, "following": False, "locked": False}
    assert stuck(record, 5)
    assert not stuck({**record, "following": True, "locked": True}, 5)
    assert stuck({**record, "following": True, "locked": False}, 5)  # following, free to go on
    assert stuck({**record, "following": True, "locked": True, "wrong_here": 3}, 5)
    assert not stuck({**record, "here": 200.0}, 5)


class RoomAtHand:
    """The dashboard's client, answered by a Room in the same process (no socket)."""

    def __init__(self) -> None:
        self.room, self.sent = Room(), []

    async def ask(self, kind, **fields):
        if kind not in ("status", "answers"):
            self.sent.append((kind, fields))
        return self.room.handle({"v": 1, "kind": kind, **fields})[1]

    def close(self) -> None:
        self.room.close()


async def test_the_dashboard_keeps_the_rooms_lock_and_leads_only_to_pages_that_exist(tmp_path):
    # Audit: after `serve lead --lock`, the dashboard's [ led the room unlocked (its own lock
    # was off); `g 13 1` and ] past a lesson's last page were sent, and said "Sent to 3".
    from tui_attention.lessons import load_lessons

    lessons = load_lessons(validate=False)
    last = len(lessons[4].pages)  # lesson 5's
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    at_hand.room.handle({"v": 1, "kind": "goto", "lesson": 5, "page": 2, "lock": True})  # `serve lead`
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_until(lambda: app.table is not None, 10)
        await pilot.press("left_square_bracket")
        assert await wait_until(lambda: at_hand.sent, 5)
        assert at_hand.sent[-1] == ("goto", {"lesson": 5, "page": 1, "lock": True})
        at_hand.sent.clear()
        for text, why in ((f"{len(lessons) + 1} 1", f"There is no lesson {len(lessons) + 1}"),
                          (f"5 {last + 1}", f"Lesson 5 has pages 1-{last}, not {last + 1}")):
            await pilot.press("g", *text, "enter")
            await pilot.pause(0.2)
            assert why in str(app.screen.query_one("#prompt-error").render())
            await pilot.press("escape")
            await pilot.pause(0.1)
        assert at_hand.sent == []
        await pilot.press("g", *f"5 {last}", "enter")  # lesson 5's last page
        assert await wait_until(lambda: at_hand.sent, 5)
        await pilot.press("right_square_bracket")
        await pilot.pause(0.3)
        assert at_hand.sent == [("goto", {"lesson": 5, "page": last, "lock": True})]


async def test_a_server_that_stops_answering_leaves_no_stale_sessions_and_keeps_the_answers(tmp_path):
    # Audit: after the server stopped, its last table of sessions stayed on screen as if live.
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    member = at_hand.room.join()
    at_hand.room.answers.append({"session": member.id, "seconds": 1.0, "lesson": 5, "page": 3,
                                 "question": "05-softmax/3", "type": "choice", "correct": True, "choice": 1,
                                 "value": None})
    async with app.run_test(size=(80, 24), notifications=True):
        assert await wait_until(lambda: app.query_one("#sessions").row_count == 1 and app.rows, 10)

        async def gone(kind, **fields):
            raise ConnectionError("cannot read the key of the server at /run/user/1000/tui-attention/x.key")

        at_hand.ask = gone
        assert await wait_until(lambda: app.query_one("#sessions").row_count == 0, 10)
        assert "cannot reach the server" in str(app.query_one("#room").render())
        assert any("x.key" in n.message for n in app._notifications)  # the whole reason, once
        assert len(app.rows) == 1  # the answers so far can still be written (x)
