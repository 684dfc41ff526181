"""A wrong-answer key held down (key repeat, 30 a second or more) is judged each time, but the
progress file is written, and the answer reported to a workshop server, once per answer that
changes something: not at key-repeat rate."""

from __future__ import annotations

import os
import socket

from tui_attention.infra import channel
from tui_attention.lessons import progress as progress_module
from tui_attention.tui import reporting
from tui_attention.tui.app import AttentionApp


async def test_a_held_wrong_answer_key_writes_progress_and_reports_once(monkeypatch):
    writes: list[str] = []
    real_write = progress_module.write_atomic

    def counting(path, content, **options):
        writes.append(content)
        return real_write(path, content, **options)

    monkeypatch.setattr(progress_module, "write_atomic", counting)
    server_end, tutor_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    server_end.setblocking(False)
    app = AttentionApp()
    app.reporting = reporting.connect(app, {channel.CHANNEL_FD_ENV: str(os.dup(tutor_end.fileno()))})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        app.tutor.open_lesson(4, 2)  # lesson 5, page 3: a choice question
        await pilot.pause()
        question = app.lesson.current_page.question
        assert question is not None and question.kind == "choice"
        right = next(k for k, c in enumerate(question.choices, 1) if c.correct)
        wrong, other = [k for k in range(1, len(question.choices) + 1) if k != right][:2]
        opened = len(writes)  # opening the page wrote where the learner is
        for _ in range(12):
            await pilot.press(str(wrong))
        await pilot.pause()
        assert "Not quite" in app.lesson.feedback[-1][1]  # still judged, every time
        assert len(writes) == opened + 1
        for key in (other, wrong, other) * 3:  # two wrong answers in turn: two changes
            await pilot.press(str(key))
        await pilot.pause()
        assert len(writes) == opened + 2
        await pilot.press("[", "[", "[", "[", "[")  # back to page 1, and [ on page 1 changes nothing
        await pilot.pause()
        assert len(writes) == opened + 2 + 2
        await pilot.pause(0.2)
    data = b""
    while True:
        try:
            data += server_end.recv(65536)
        except BlockingIOError:
            break
    answers = [r for r in map(channel.decode_report, data.splitlines()) if r["kind"] == "answer"]
    assert [a["choice"] for a in answers] == [wrong, other]
    assert app.lesson.progress.score(question.id).attempts == 2
    server_end.close()
    tutor_end.close()
