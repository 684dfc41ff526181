"""Enter pressed twice with no pause in a prompt (a double tap, or a paste ending in a newline
followed by enter) closes it once: the tutor, the --ask-name prompt and the dashboard's prompts
go on. Both key events are queued before the app handles the first (Pilot's `press` waits for
the app to go idle between keys, which hides the race), as they arrive over SSH in one packet."""

from __future__ import annotations

import os
import socket

from textual import events

from tui_attention.infra import channel
from tui_attention.infra.served import Served
from tui_attention.tui import reporting
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.dashboard import DashboardApp
from tui_attention.tui.screens.forms import PromptScreen


def enter_twice(app) -> None:
    """Two enter keys in the app's queue at once, as one SSH packet "\\r\\r" brings them."""
    for _ in range(2):
        app.post_message(events.Key("enter", "\r"))


async def test_enter_twice_in_the_save_and_export_prompts_saves_once_and_the_tutor_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = AttentionApp(served=Served(root=tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        for key, name in (("ctrl+s", "twice.toml"), ("x", "twice.md")):
            await pilot.press(key)
            await pilot.pause()
            app.screen.query_one("#prompt-input").value = name
            enter_twice(app)
            await pilot.pause()
            await pilot.pause()
            assert app.is_running and len(app.screen_stack) == 1, key
        # The same name again asks "Replace it?": enter twice closes the prompt, the question stays.
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = "twice.toml"
        enter_twice(app)
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and len(app.screen_stack) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["twice.md", "twice.toml"]


async def test_enter_twice_in_the_name_prompt_sends_the_name_once_and_the_tutor_goes_on():
    server_end, tutor_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    server_end.setblocking(False)
    app = AttentionApp()
    app.reporting = reporting.connect(app, {channel.CHANNEL_FD_ENV: str(os.dup(tutor_end.fileno()))})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        server_end.sendall(channel.encode("ask_name"))
        await pilot.pause(0.3)
        assert getattr(app.screen, "asks_name", False)
        app.screen.query_one("#prompt-input").value = "Bob"
        enter_twice(app)
        await pilot.pause(0.2)
        assert app.is_running and len(app.screen_stack) == 1
        await pilot.press("right")  # and it still answers keys
        await pilot.pause()
        assert app.state.step == 1
    data = b""
    while True:
        try:
            data += server_end.recv(65536)
        except BlockingIOError:
            break
    names = [report["name"] for report in map(channel.decode_report, data.splitlines()) if report["kind"] == "state"]
    assert names[-1] == "Bob"
    server_end.close()
    tutor_end.close()


async def test_a_prompt_taken_off_the_stack_by_the_instructor_does_not_pop_the_tutor(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = AttentionApp(served=Served(root=tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        app.pop_screen()  # as reporting's _clear_dialogs does when the instructor leads the room
        prompt._submit()  # noqa: SLF001 - an enter it had queued before it was popped
        await pilot.pause()
        assert app.is_running and len(app.screen_stack) == 1


async def test_enter_twice_in_the_dashboards_prompts_keeps_it_running(tmp_path):
    app = DashboardApp(tmp_path / "nobody.sock")  # no server: each request is "not sent"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        for key, text in (("g", "5 2"), ("m", "Look at row 1")):
            await pilot.press(key)
            await pilot.pause()
            app.screen.query_one("#prompt-input").value = text
            enter_twice(app)
            await pilot.pause(0.2)
            assert app.is_running and len(app.screen_stack) == 1, key


async def test_a_write_the_system_refuses_brings_the_prompt_back_with_the_reason(tmp_path, monkeypatch):
    # The name passed every check, then the write failed (permission, a full disk): the prompt
    # comes back with the name and why, so the next keys (a corrected name) are not the tutor's.
    from tui_attention.tui import files

    def refused(path, content):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(files, "write_atomic", refused)
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+u", *"mine.toml", "enter")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, PromptScreen) and prompt.query_one("Input").value == "mine.toml"
        assert "Could not save mine.toml: Permission denied" in str(prompt.query_one("#prompt-error").render())
        await pilot.press("n", "s")  # typed into the field, not a step and a switch
        await pilot.pause()
        assert (app.state.step, app.state.config.scale) == (0, "none")
        monkeypatch.undo()
        monkeypatch.chdir(tmp_path)
        await pilot.press("ctrl+u", *"mine.toml", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen) and (tmp_path / "mine.toml").is_file()
