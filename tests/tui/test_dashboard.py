"""The instructor's dashboard with Pilot, against a real `serve ssh` on loopback (its room and
control socket) and two scripted SSH attendees running the real tutor: one answers right, one
wrong, and the bars show 1 and 1; follow mode moves both; reveal, release; the CSV export."""

from __future__ import annotations

import csv
import shutil
import tempfile

import pytest
from rich.cells import cell_len

from serve_helpers import TerminalClient, bounded, wait_until
from tui_attention.serve.child import tutor_argv
from tui_attention.serve.control import RoomServer, read_key
from tui_attention.serve.room import Room
from tui_attention.serve.ssh import TutorSSHServer
from tui_attention.tui.dashboard import MIN_HEIGHT, MIN_WIDTH, SORTS, DashboardApp, bars, load_questions

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
    app = DashboardApp(tmp_path / "nobody.sock")  # no server: the header says it waits for one
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        assert "the server stopped; waiting for it to start again" in str(app.query_one("#room").render())
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
            app = DashboardApp(path, key=read_key, answers_dir=tmp_path / "exports")
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
    from tui_attention.infra.channel import stuck

    record = {"here": 400.0, "wrong_here": 0, "following": False, "locked": False}
    assert stuck(record, 5)
    assert not stuck({**record, "following": True, "locked": True}, 5)
    assert stuck({**record, "following": True, "locked": False}, 5)  # following, free to go on
    assert stuck({**record, "following": True, "locked": True, "wrong_here": 3}, 5)
    assert not stuck({**record, "here": 200.0}, 5)


class RoomAtHand:
    """The dashboard's client, answered by a Room in the same process (no socket)."""

    def __init__(self, room: Room | None = None) -> None:
        self.room, self.sent = room or Room(), []

    async def ask(self, kind, **fields):
        if kind not in ("status", "answers"):
            self.sent.append((kind, fields))
        return self.room.handle({"v": 1, "kind": kind, **fields})[1]

    def close(self) -> None:
        self.room.close()


async def refused_at_the_prompt(app, pilot, cases) -> None:
    """Each (text, why): typed at g, refused in the prompt with `why`; nothing is sent."""
    for text, why in cases:
        await pilot.press("g", *text, "enter")
        await pilot.pause(0.2)
        assert why in str(app.screen.query_one("#prompt-error").render())
        await pilot.press("escape")
        await pilot.pause(0.1)
    assert app.client.sent == []


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
        await refused_at_the_prompt(app, pilot, ((f"{len(lessons) + 1} 1", f"There is no lesson {len(lessons) + 1}"),
                                                 (f"5 {last + 1}", f"Lesson 5 has pages 1-{last}, not {last + 1}")))
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
    async with app.run_test(size=(MIN_WIDTH, MIN_HEIGHT)) as pilot:
        assert await wait_until(lambda: app.table is not None and app.rows, 10)
        await pilot.pause(0.2)
        assert app.query_one("#clicker").region.height == 14  # at its tallest
        assert app.query_one("#sessions").region.height >= 4  # the header and 3 rows


# --- the clicker's right answer ---------------------------------------------------------------
def on_the_question(tmp_path):
    """A dashboard on a room at hand, the clicker question's info and one wrong choice of it."""
    info = load_questions()[QUESTION]
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = RoomAtHand()
    return app, app.client.room, info, 1 if info.right != 1 else 2


async def test_the_right_answer_is_marked_only_once_revealed_or_asked_for(tmp_path):
    app, room, info, wrong = on_the_question(tmp_path)
    at_hand = app.client
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
        assert "a shows it here only" in "\n".join(clicker(app))

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


# --- a projected table gives no answer away --------------------------------------------------
def row_texts(app) -> dict[str, list[str]]:
    grid = app.query_one("#sessions")
    return {str(grid.get_row_at(k)[0]): [str(cell) for cell in grid.get_row_at(k)] for k in range(grid.row_count)}


async def test_the_table_says_who_answered_not_who_was_right_until_the_reveal(tmp_path):
    # Audit: with a led question open, the projected table showed "lesson 5 p3/4 ✓ 1 0" beside
    # Alice and "? 0 1" beside Bob: the room saw which clicker answer was right before the reveal.
    app, room, info, wrong = on_the_question(tmp_path)
    alice, bob, carol, dan, eve = (room.join() for _ in range(5))
    for member in (alice, bob, carol, dan):
        place(member, lesson=5, page=3, pages=4, question=QUESTION, following=True, locked=True)
    answered(room, alice, QUESTION, info.right, None, True)
    place(alice, lesson=5, page=3, pages=4, question=QUESTION, settled=True, following=True, locked=True)
    for _ in range(3):  # three wrong answers: stuck, which would say "wrong" as plainly
        answered(room, bob, QUESTION, wrong, None, False)
    answered(room, dan, QUESTION, wrong, None, False)
    place(dan, lesson=5, page=4, pages=4)  # answered, then turned the page: still kept back
    answered(room, eve, "04-scores/2", 1, None, True)  # an earlier question: shown as ever
    place(eve, lesson=4, page=2, pages=5, question="04-scores/2", settled=True)
    room.handle({"v": 1, "kind": "reveal", "question": "04-scores/2"})
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_until(lambda: app.query_one("#sessions").row_count == 5, 10)
        await pilot.pause(0.1)
        rows = row_texts(app)
        hidden = [rows[alice.id], rows[bob.id]]
        assert all(row[4] == "lesson 5 p3/4 answered" and row[5:8] == ["-", "-", "F"] for row in hidden), hidden
        assert rows[carol.id][4:7] == ["lesson 5 p3/4 ?", "0", "0"]  # not answered yet
        assert rows[dan.id][4:7] == ["lesson 5 p4/4", "-", "-"]
        assert rows[eve.id][4:7] == ["lesson 4 p2/5 ✓", "1", "0"]
        assert "(0 stuck)" in str(app.query_one("#room").render())
        assert "the table says who answered, not who was right" in "\n".join(clicker(app))
        app.sort = SORTS.index("wrong")  # nor does the order by wrong answers tell them apart
        app.show()
        order = [str(app.query_one("#sessions").get_row_at(k)[0]) for k in range(5)]
        assert order == [carol.id, eve.id, alice.id, bob.id, dan.id]

        await pilot.press("a")  # the instructor looks, here only
        await pilot.pause(0.1)
        rows = row_texts(app)
        assert rows[alice.id][4:8] == ["lesson 5 p3/4 ✓", "1", "0", "F"]
        assert rows[bob.id][4:8] == ["lesson 5 p3/4 ?", "0", "3", "F!"]
        assert rows[dan.id][5:7] == ["0", "1"]
        await pilot.press("a")
        await pilot.pause(0.1)
        assert row_texts(app)[bob.id][4:8] == ["lesson 5 p3/4 answered", "-", "-", "F"]

        room.handle({"v": 1, "kind": "reveal", "question": None})  # `serve lead --reveal`
        assert await wait_until(lambda: row_texts(app)[bob.id][4:8] == ["lesson 5 p3/4 ?", "0", "3", "F!"], 10)
        assert row_texts(app)[alice.id][4] == "lesson 5 p3/4 ✓"


# --- 80 columns: every column, the top line's markers ------------------------------------------
async def test_wide_names_are_cut_by_cells_and_every_column_and_marker_fits_80_columns(tmp_path):
    # Audit: one CJK name pushed the wrong-answer and flag columns off an 80x24 dashboard, names
    # were cut at 16 characters (32 cells) without a mark, and the top line lost "sort:" and
    # "stuck only".
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand(Room(ask_name=True))
    room = at_hand.room
    names = ["山田太郎山田太郎山田太郎", "😀😀😀😀😀😀😀 ok", "Ana"]
    members = [room.join() for _ in names]
    for member, name in zip(members, names):
        member.name = name
        place(member, view="walkthrough", word=12, words=12, step=9, steps=9, following=True)
    room.handle({"v": 1, "kind": "goto", "lesson": 12, "page": 10, "lock": True})
    for member in members:
        member.place_since -= 3600  # an hour on the same place: stuck
        member.state["locked"] = False
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_until(lambda: app.query_one("#sessions").row_count == 3, 10)
        await pilot.press("o", "o", "o", "o", "s")  # sort: wrong, only the stuck
        await pilot.pause(0.2)
        grid = app.query_one("#sessions")
        assert sum(column.get_render_width(grid) for column in grid.columns.values()) <= 80 - 2  # the scroll bar
        rows = row_texts(app)
        assert rows[members[0].id][1] == "山田太郎山田太…" and rows[members[1].id][1] == "😀😀😀😀😀😀😀…"
        assert all(row[7] == "F!" for row in rows.values())
        top = str(app.query_one("#room").render())
        assert top.endswith("· sort: wrong · stuck only") and cell_len(top) <= 80, top
        assert "leading lesson 12 page 10 (locked)" in top


async def test_sort_by_id_is_by_the_sessions_number(tmp_path):
    # Audit: ids were sorted as text, 1-48ef, 10-dde1, 11-..., 2-3289.
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    members = [at_hand.room.join() for _ in range(12)]
    async with app.run_test(size=(100, 30)):
        assert await wait_until(lambda: app.query_one("#sessions").row_count == 12, 10)
        grid = app.query_one("#sessions")
        assert [str(grid.get_row_at(k)[0]) for k in range(12)] == [m.id for m in members]


async def test_after_a_release_from_elsewhere_the_next_lead_is_not_said_to_be_locked(tmp_path):
    # Audit: after `serve lead --release` the header still said "not leading · next lead locked".
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    at_hand.room.handle({"v": 1, "kind": "goto", "lesson": 5, "page": 2, "lock": True})
    async with app.run_test(size=(100, 30)) as pilot:
        top = lambda: str(app.query_one("#room").render())  # noqa: E731
        assert await wait_until(lambda: "leading lesson 5 page 2 (locked)" in top(), 10)
        assert "next lead locked" not in top()  # the lead says it
        at_hand.room.handle({"v": 1, "kind": "release"})
        assert await wait_until(lambda: "not leading" in top(), 10)
        assert "next lead locked" not in top() and not app.lock
        await pilot.press("k")  # locked for the next lead, chosen here
        await pilot.pause(0.1)
        assert "not leading · next lead locked" in top()


async def test_choice_labels_take_the_width_there_is(tmp_path):
    # Audit: choice labels were cut at 33 characters even at 120 columns.
    info = load_questions()[QUESTION]
    longest = max(info.choices, key=len)
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    place(at_hand.room.join(), lesson=5, page=3, pages=4, question=QUESTION)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(lambda: any(longest in line for line in clicker(app)), 10)
        await pilot.resize_terminal(MIN_WIDTH, MIN_HEIGHT)
        await pilot.pause(0.2)
        bars_shown = [line for line in clicker(app) if line.rstrip().endswith(" 0")]
        assert len(bars_shown) == len(info.choices) and any("…" in line for line in bars_shown)
        assert all(cell_len(line) <= MIN_WIDTH - 4 for line in bars_shown)  # no bar wraps


# --- leading to a step the scenario has ---------------------------------------------------------
async def test_the_goto_prompt_refuses_a_step_past_the_servers_scenario(tmp_path):
    # Audit: "w 9 2" on a 5-word sentence was sent, and every tutor went to word 5 without a word.
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand(Room(scenario={"words": 5, "steps": {"walkthrough": 9, "matrix": 11}}))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_until(lambda: app.table is not None, 10)
        await refused_at_the_prompt(app, pilot, (("w 9 2", "The sentence has words 1-5, not 9."),
                                                 ("m 1 12", "The matrix view has steps 1-11, not 12."),
                                                 ("w 1 10", "The walkthrough view has steps 1-9, not 10.")))
        await pilot.press("g", *"m 5 11", "enter")
        assert await wait_until(lambda: at_hand.sent, 5)
        assert at_hand.sent == [("goto", {"view": "matrix", "word": 5, "step": 11, "lock": False})]


async def test_reveal_with_nobody_on_a_question_says_so(tmp_path):
    app = DashboardApp(tmp_path / "unused.sock")
    app.client = at_hand = RoomAtHand()
    place(at_hand.room.join())  # on a step, not a question
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        assert await wait_until(lambda: app.table is not None, 10)
        await pilot.press("r")
        assert await wait_until(lambda: app._notifications, 5)  # noqa: SLF001
        assert [n.message for n in app._notifications] == ["Nothing sent: no session is on a question."]  # noqa: SLF001
        assert at_hand.room.status()["revealed"] == []


# --- the server stops, and starts again ---------------------------------------------------------
async def test_the_dashboard_waits_for_the_server_to_start_again_and_attaches_to_it(runtime, monkeypatch):
    # Audit: after the server restarted, the top line stayed on "cannot reach the server: cannot
    # read the key of the server at /tmp/.../ssh-1189.sock: No such" (cut there), for good.
    import os

    from tui_attention.cli import room as room_cli
    from tui_attention.serve.control import ControlSocket

    first, again, other = ControlSocket(Room(), "ssh"), ControlSocket(Room(), "ssh"), ControlSocket(Room(), "web")
    path = await first.start()
    place(first.room.join())
    app = DashboardApp(path, key=room_cli.dashboard_key, find=room_cli.servers_like(path))
    try:
        async with app.run_test(size=(100, 30)):
            def top() -> str:
                return str(app.query_one("#room").render())

            assert await wait_until(lambda: app.query_one("#sessions").row_count == 1, 10)
            await first.close()
            assert await wait_until(lambda: "stopped" in top(), 10)
            assert top() == " the server stopped; waiting for it to start again (q quits)"
            await other.start()  # another kind: not the one to attach to
            with monkeypatch.context() as patch:
                patch.setattr(os, "getpid", lambda: 4_000_000)  # a server started again has another pid
                await again.start()
            for _ in range(2):
                place(again.room.join())
            assert await wait_until(lambda: app.query_one("#sessions").row_count == 2, 10)
            assert app.client.path == again.path and "2 sessions" in top()
    finally:
        for server in (first, again, other):
            await server.close()
