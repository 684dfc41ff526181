"""The tutor's side of the workshop channel (tui.reporting), with Pilot and a real socket pair:
what it reports, and what the instructor's commands do on the attendee's screen."""

from __future__ import annotations

import json
import os
import socket

from serve_helpers import drain
from tests.support.tui_helpers import text_of

from tui_attention.infra import channel
from tui_attention.tui import reporting
from tui_attention.tui.app import AttentionApp


class Server:
    """The server's end of the tutor's socket pair."""

    def __init__(self) -> None:
        self.sock, self.tutor_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.setblocking(False)

    def environ(self) -> dict[str, str]:
        # A descriptor of the tutor's own, as a child inherits it: the reporter closes it, not us.
        return {channel.CHANNEL_FD_ENV: str(os.dup(self.tutor_end.fileno()))}

    def send(self, kind: str, **fields) -> None:
        self.sock.sendall(channel.encode(kind, **fields))

    def reports(self) -> list[dict]:
        data = drain(self.sock)
        return [channel.decode_report(line) for line in data.splitlines()]


def served_app(server: Server) -> AttentionApp:
    app = AttentionApp()
    app.reporting = reporting.connect(app, server.environ())
    return app


def status(app) -> str:
    return str(app.tutor.query_one("#status").render())


def test_without_a_channel_the_tutor_reports_nothing_and_binds_nothing():
    app = AttentionApp()
    assert type(app.reporting) is reporting.Reporting
    assert type(reporting.connect(app, {channel.CHANNEL_FD_ENV: "not a number"})) is reporting.Reporting
    with open("/dev/null") as f:  # a descriptor that is no socket
        assert type(reporting.connect(app, {channel.CHANNEL_FD_ENV: str(f.fileno())})) is reporting.Reporting


async def test_reports_state_and_answers_and_follows_the_instructor():
    server = Server()
    app = served_app(server)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause(0.2)
        (first,) = server.reports()
        assert (first["kind"], first["view"], first["word"], first["step"], first["lesson"]) == (
            "state", "walkthrough", 1, 1, None)
        await pilot.press("right", "down")
        await pilot.pause(0.1)
        last = server.reports()[-1]
        assert (last["word"], last["step"], last["following"]) == (2, 2, False)

        server.send("follow", on=True, locked=False)
        server.send("goto", lesson=5, page=3)
        await pilot.pause(0.5)
        assert app.lesson.active and app.lesson.lesson.number == 5 and app.lesson.page == 2
        assert status(app).startswith(" Following the instructor · f: on your own")
        state = server.reports()[-1]
        assert (state["lesson"], state["page"], state["question"], state["following"]) == (
            5, 3, "05-softmax/3", True)

        await pilot.press("]", "escape", "L")  # held while following: nothing moves, nothing opens
        await pilot.pause(0.1)
        assert app.lesson.page == 2 and len(app.screen_stack) == 1
        # Audit: the page said "] next page · [ previous", and a switch said "press escape", held keys.
        text = " ".join(text_of(app.screen.query_one("#lesson-text")).split())
        assert "The instructor turns the pages" in text and "] next page" not in text
        await pilot.press("s")  # a switch, which the lesson's numbers refuse
        await pilot.pause(0.1)
        said = [n.message for n in app._notifications]
        assert any("the instructor is leading the lesson" in m for m in said) and not any(
            "Press escape" in m for m in said), said

        right = next(k for k, c in enumerate(app.lesson.current_page.question.choices, 1) if c.correct)
        wrong = 1 if right != 1 else 2
        await pilot.press(str(wrong))  # answering still works while following
        await pilot.pause(0.1)
        (answer,) = [r for r in server.reports() if r["kind"] == "answer"]
        assert (answer["question"], answer["type"], answer["correct"], answer["choice"], answer["value"]) == (
            "05-softmax/3", "choice", False, wrong, None)

        server.send("reveal", question="05-softmax/2")  # another page's question: not this one
        await pilot.pause(0.2)
        assert not app.lesson.session.revealed
        server.send("reveal", question="05-softmax/3")
        await pilot.pause(0.2)
        assert app.lesson.session.revealed
        assert any(text.startswith("Worked answer:") for _style, text in app.lesson.feedback)
        assert server.reports()[-1]["settled"] is True
        # Audit: an answer typed after the worked answer was shown came first in the clicker.
        await pilot.press(str(right))  # no prediction now: judged on screen, not reported
        await pilot.pause(0.1)
        assert not [r for r in server.reports() if r["kind"] == "answer"]
        assert any(text.startswith("Right") for _style, text in app.lesson.feedback)

        server.send("goto", view="matrix", word=3, step=4)  # a step leaves the lesson
        await pilot.pause(0.3)
        assert not app.lesson.active
        assert (app.state.view, app.state.word, app.state.matrix_step) == ("matrix", 2, 3)

        await pilot.press("f")  # leave follow mode: the keys are the attendee's again
        await pilot.pause(0.1)
        assert not app.reporting.following and not status(app).startswith(" Following")
        server.send("goto", lesson=1, page=1)  # not following: not moved
        await pilot.pause(0.2)
        assert not app.lesson.active
        await pilot.press("right")
        await pilot.pause(0.1)
        assert app.state.matrix_step == 4


async def test_locked_follow_mode_message_and_bad_lines():
    server = Server()
    app = served_app(server)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        server.sock.sendall(b"not json\n" + json.dumps({"v": 1, "kind": "goto", "lesson": 0}).encode() + b"\n")
        server.send("follow", on=True, locked=True)
        server.send("goto", view="walkthrough", word=2, step=5)
        await pilot.pause(0.3)
        assert (app.state.word, app.state.step) == (1, 4)
        assert status(app).startswith(" Following the instructor (locked)")
        await pilot.press("f", "right")
        await pilot.pause(0.1)
        assert app.reporting.following and app.state.step == 4
        server.send("message", text="Look at the softmax row")
        await pilot.pause(0.2)
        assert any(n.message == "Look at the softmax row" and n.title == "From the instructor"
                   for n in app._notifications)  # noqa: SLF001
        server.send("follow", on=False, locked=False)
        await pilot.pause(0.2)
        await pilot.press("right")
        await pilot.pause(0.1)
        assert app.state.step == 5 and not status(app).startswith(" Following")


async def test_the_name_prompt_checks_the_name_and_reports_it():
    server = Server()
    app = served_app(server)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        server.send("ask_name")
        await pilot.pause(0.3)
        assert getattr(app.screen, "asks_name", False)
        await pilot.press("x", *("y" * 40), "enter")  # too long: refused inline, the prompt stays
        await pilot.pause(0.1)
        assert getattr(app.screen, "asks_name", False)
        assert "At most 32 characters" in str(app.screen.query_one("#prompt-error").render())
        app.screen.query_one("#prompt-input").value = ""
        await pilot.press(*"Ana", "enter")
        await pilot.pause(0.2)
        assert len(app.screen_stack) == 1
        assert server.reports()[-1]["name"] == "Ana"


async def test_the_learn_view_is_reported_as_learn_and_leaving_it_as_the_view_under_it():
    # Audit: an attendee training a head (T) showed in the dashboard as in the matrix view.
    server = Server()
    app = served_app(server)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("m")  # the matrix view, then the learn view over it
        await pilot.pause(0.1)
        assert server.reports()[-1]["view"] == "matrix"
        await pilot.press("T")
        await pilot.pause(0.5)
        assert app.screen.id == "learn"
        (report,) = server.reports()
        assert (report["view"], report["word"]) == ("learn", 1)
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert app.screen is app.tutor
        assert server.reports()[-1]["view"] == "matrix"
