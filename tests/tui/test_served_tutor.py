"""The tutor as `serve` starts it: it writes only in its session folder, says when the server
is unconfined, and an internal error reaches the attendee as one line (the traceback goes to
the instructor's log)."""

import os

from tui_helpers import text_of

from tui_attention.infra.served import Served
from tui_attention.tui.app import AttentionApp


async def type_into_prompt(pilot, app, key: str, text: str) -> str:
    await pilot.press(key)
    app.screen.query_one("#prompt-input").value = text
    await pilot.pause()
    return text_of(app.screen.query_one("#prompt-error"))


async def test_served_export_and_save_stay_in_the_session_folder(tmp_path, monkeypatch):
    session = tmp_path / "session"
    session.mkdir()
    monkeypatch.chdir(session)
    app = AttentionApp(served=Served(root=session))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        for key, name in (("x", "../out.md"), ("x", str(tmp_path / "out.md")), ("ctrl+s", "~/../s.toml"),
                          ("x", "/etc/passwd"), ("ctrl+s", "/etc/nonexistent/x.toml")):
            error = await type_into_prompt(pilot, app, key, name)
            assert "session folder" in error
            prompt = app.screen
            await pilot.press("enter")
            assert app.screen is prompt  # refused inline, the prompt stays
            await pilot.press("escape")
        assert not (await type_into_prompt(pilot, app, "x", "~/mine.md")).strip()
        await pilot.press("enter")
        await pilot.pause()
        # Read before the next dialog opens: a dialog clears the notices shown before it.
        exported = [n.message for n in app._notifications]
        await type_into_prompt(pilot, app, "ctrl+s", "saved.toml")
        await pilot.press("enter")
        await pilot.pause()
        # Audit: "Load it again with: tui-attention --scenario saved.toml" to an attendee with no shell.
        said = [n.message for n in app._notifications]
        assert any(m.startswith("Saved saved.toml in your session folder on the server") for m in said), said
        assert any(m.startswith("Exported md to ~/mine.md in your session folder") for m in exported), exported
        assert not any("--scenario" in m for m in said + exported)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session"]
    assert sorted(p.name for p in session.iterdir()) == ["mine.md", "saved.toml"]


async def test_prompt_names_that_would_crash_are_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        for name in ("~nosuchuser-x/a.md", "a" * 5000, "x/" * 700 + "a.md", "a\x00b.md", "\x1b]0;x\x07.md"):
            for key in ("x", "ctrl+s"):
                error = await type_into_prompt(pilot, app, key, name)
                assert error.strip() and len(error.strip().splitlines()) == 1, (name, error)
                await pilot.press("enter")
                await pilot.press("escape")
        assert app.is_running
    assert list(tmp_path.iterdir()) == []


async def test_unconfined_server_is_said_on_the_status_line():
    app = AttentionApp(served=Served(root=os.getcwd(), unconfined=True))
    async with app.run_test(size=(80, 24)):
        status = text_of(app.query_one("#status"), 80)
        assert status.startswith(" UNCONFINED server")
        assert len(status.rstrip("\n")) <= 80
    app = AttentionApp()
    async with app.run_test(size=(80, 24)):
        assert "UNCONFINED" not in text_of(app.query_one("#status"))


async def test_served_internal_error_is_one_line_and_the_traceback_goes_to_the_log(tmp_path, capsys):
    log = tmp_path / ".error.log"
    app = AttentionApp(served=Served(root=tmp_path, error_log=log))

    def boom() -> None:
        raise ZeroDivisionError("deep inside")

    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.call_later(boom)
            await pilot.pause()
    except ZeroDivisionError:
        pass  # run_test re-raises the app's error for the test
    shown = " ".join(capsys.readouterr().err.split())  # the error console wraps at its width
    assert shown.startswith("tui-attention stopped on an internal error (ZeroDivisionError)")
    assert "instructor's log" in shown and "Traceback" not in shown and "deep inside" not in shown
    assert "ZeroDivisionError: deep inside" in log.read_text()


async def test_served_panic_is_one_line_and_the_traceback_goes_to_the_log(tmp_path, capsys):
    # Textual's driver calls panic() with a Rich Traceback when its input thread raises (a byte
    # that is not UTF-8, say): that path skips _handle_exception.
    from rich.traceback import Traceback

    log = tmp_path / ".error.log"
    app = AttentionApp(served=Served(root=tmp_path, error_log=log))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        try:
            b"\xff".decode("utf-8")
        except UnicodeDecodeError:
            app.panic(Traceback())
    shown = " ".join(capsys.readouterr().err.split())
    assert shown.startswith("tui-attention stopped on an internal error (UnicodeDecodeError)"), shown
    assert "Traceback" not in shown and "site-packages" not in shown
    assert "UnicodeDecodeError" in log.read_text() and "test_served_tutor.py" in log.read_text()


async def test_a_scenario_too_big_to_step_through_is_refused_in_the_form():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        form = app.screen
        form.query_one("#form-sentence").value = " ".join(f"w{i}" for i in range(1024))
        for field in ("d_model", "d_k", "d_v"):
            form.query_one(f"#form-{field}").value = "1024"
        form.query_one("#form-heads").value = "16"
        await pilot.pause()
        assert "MB of arrays" in text_of(form.query_one("#form-error"))
        await pilot.press("enter")
        assert app.screen is form and app.state.config.n == 5


async def test_a_served_q_asks_first_and_a_second_q_quits(tmp_path):
    # Leaving a workshop session deletes its folder (progress, saves, exports): a stray q must not.
    app = AttentionApp(served=Served(root=tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and "ends your workshop session" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.screen is app.tutor
        await pilot.press("q", "q")
        await pilot.pause()
        assert not app.is_running
