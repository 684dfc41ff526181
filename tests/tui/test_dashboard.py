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
from tui_attention.tui.dashboard import MIN_HEIGHT, MIN_WIDTH, DashboardApp, bars, load_questions

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
                right_line = next(line for line in shown if line.startswith(f"  {right} "))  # not marked yet
                wrong_line = next(line for line in shown if line.startswith(f"  {wrong} "))
                assert right_line.rstrip().endswith("█ 1") and wrong_line.rstrip().endswith("█ 1")
                assert "2 of 2 sessions answered" in "\n".join(shown)
                assert not any(line.startswith("✓") for line in shown)

                await pilot.press("r")  # reveal: the worked answer on both screens at once
                assert await until(lambda: all("Worked answer" in c.text() for c in clients))
                shown = str(app.query_one("#clicker").render()).splitlines()  # and the right one marked
                assert next(line for line in shown if line.startswith(f"✓ {right} ")).rstrip().endswith("█ 1")

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
        # The whole reason, once, as a notice (App.notify posts it: it arrives after the table empties).
        assert await wait_until(lambda: any("x.key" in n.message for n in app._notifications), 5)
        assert len(app.rows) == 1  # the answers so far can still be written (x)


def place(member, **state) -> None:
    fields = dict(view="walkthrough", word=1, words=5, step=1, steps=9,
                  switches={"scale": "none", "mask": "none", "heads": 1, "weight_scale": 0.1}, lesson=None,
                  page=None, pages=None, question=None, settled=False, following=False, locked=False, name=None)
    member.room.take(member, {"v": 1, "kind": "state", **{**fields, **state}})


def answered(room: Room, member, question: str, choice: int | None, value: float | None, correct: bool) -> None:
    kind = "choice" if choice is not None else "numeric"
    room.take(member, {"v": 1, "kind": "answer", "lesson": 5, "page": 3, "question": question, "type": kind,
                       "correct": correct, "choice": choice, "value": value})


def clicker(app) -> list[str]:
    return str(app.query_one("#clicker").render()).splitlines()


# --- a terminal too small for the table ----------------------------------------------------
async def test_a_terminal_too_small_for_the_table_says_so_and_the_table_comes_back(tmp_path):
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    place(at_hand.room.join())
    async with app.run_test(size=(40, 12)) as pilot:
        assert await wait_until(lambda: app.table is not None, 10)
        await pilot.pause(0.1)
        grid, enlarge = app.query_one("#sessions"), app.query_one("#enlarge")
        assert grid.region.height == 0 and enlarge.region.height > 0
        said = str(enlarge.render())
        assert said == f"Please enlarge the terminal to {MIN_WIDTH}x{MIN_HEIGHT}." and len(said) <= 40  # one line
        for size in ((MIN_WIDTH, MIN_HEIGHT), (100, 30)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
            assert grid.region.height >= 2 and enlarge.region.height == 0, size  # its header and a row at least
        await pilot.resize_terminal(MIN_WIDTH - 1, 40)
        await pilot.pause(0.2)
        assert grid.region.height == 0 and enlarge.region.height > 0


async def test_the_table_keeps_rows_at_the_smallest_size_whatever_the_clicker_shows(tmp_path):
    # The enlarge line's threshold is the clicker at its tallest: at it, rows still show.
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    room = at_hand.room
    members = [room.join() for _ in range(5)]
    numeric = next(q for q in load_questions().values() if q.kind == "numeric")
    for k, member in enumerate(members):
        place(member, lesson=numeric.lesson, page=numeric.page, pages=9, question=numeric.id)
        answered(room, member, numeric.id, None, float(k * 7 + 1), False)
    room.handle({"v": 1, "kind": "reveal", "question": numeric.id})
    async with app.run_test(size=(MIN_WIDTH, MIN_HEIGHT)) as pilot:
        assert await wait_until(lambda: app.table is not None and app.rows, 10)
        await pilot.pause(0.2)
        assert app.query_one("#clicker").region.height == 14  # at its tallest
        assert app.query_one("#sessions").region.height >= 4  # the header and 3 rows


# --- the clicker's right answer ---------------------------------------------------------------
async def test_the_right_answer_is_marked_only_once_revealed_or_asked_for(tmp_path):
    info = load_questions()[QUESTION]
    wrong = 1 if info.right != 1 else 2
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    room = at_hand.room
    a, b = room.join(), room.join()
    for member in (a, b):
        place(member, lesson=5, page=3, pages=4, question=QUESTION)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_until(lambda: app.table is not None, 10)
        await pilot.pause(0.1)
        assert not any(line.startswith("✓") for line in clicker(app))  # nobody has answered
        answered(room, a, QUESTION, info.right, None, True)
        answered(room, b, QUESTION, wrong, None, False)
        assert await wait_until(lambda: "2 of 2 sessions answered" in "\n".join(clicker(app)), 10)
        assert not any(line.startswith("✓") for line in clicker(app))  # answered, not revealed
        assert "a shows the answer here" in "\n".join(clicker(app))

        await pilot.press("a")  # the instructor asks to see it (not the room)
        await pilot.pause(0.1)
        assert any(line.startswith(f"✓ {info.right} ") for line in clicker(app))
        assert at_hand.sent == []
        await pilot.press("a")  # and hides it again
        await pilot.pause(0.1)
        assert not any(line.startswith("✓") for line in clicker(app))

        room.handle({"v": 1, "kind": "reveal", "question": None})  # `serve lead --reveal`, from elsewhere
        assert await wait_until(lambda: any(line.startswith(f"✓ {info.right} ") for line in clicker(app)), 10)
        assert "revealed" in clicker(app)[-2]


def test_a_numeric_question_s_bars_do_not_give_the_value_away_before_the_reveal():
    numeric = next(q for q in load_questions().values() if q.kind == "numeric")
    d = numeric.decimals
    rows = [{"session": s, "question": numeric.id, "correct": ok, "choice": None, "value": v}
            for s, ok, v in (("a", True, numeric.value), ("b", False, 1.5), ("c", False, -2.0))]
    hidden = bars(rows, numeric, marked=False)
    assert not any(right for _label, _n, right in hidden)
    assert not any("±" in label for label, _n, _right in hidden)
    assert sum(n for _label, n, _right in hidden) == 3  # every first answer, right or wrong, in one spread
    assert f"{numeric.value:+.{d}f}" in [label for label, _n, _right in hidden]
    shown = bars(rows, numeric)
    assert shown[0][2] and "±" in shown[0][0]


# --- the learn view -----------------------------------------------------------------------------
async def test_a_session_in_the_learn_view_shows_there_and_the_room_is_not_led_into_it(tmp_path):
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    place(at_hand.room.join(), view="learn", word=2, step=3)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        assert await wait_until(lambda: app.query_one("#sessions").row_count == 1, 10)
        grid = app.query_one("#sessions")
        assert str(grid.get_row_at(0)[4]) == "learn"
        await pilot.press("f")  # everyone to the selected session's place
        await pilot.pause(0.2)
        assert at_hand.sent == []
        assert any("cannot be led into the learn view" in n.message for n in app._notifications)  # noqa: SLF001



async def test_a_poll_that_ends_after_the_dashboard_closed_draws_nothing(tmp_path):
    # Seen as a flaky NoMatches('#room'): the poll timer ran while the app's screens were closing.
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = RoomAtHand()
    async with app.run_test(size=(100, 30)):
        assert await wait_until(lambda: app.table is not None, 10)
    await app.poll()  # the screens are gone: nothing to draw, and no error
    assert app.table is not None
