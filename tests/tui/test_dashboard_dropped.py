"""The dashboard's header says when answers were left out of the room's answer table (past the
cap per session and question), instead of the clicker silently standing still."""

from __future__ import annotations

from tui_attention.tui.dashboard import DashboardApp


async def test_the_header_says_how_many_answers_were_left_out(tmp_path):
    app = DashboardApp(tmp_path / "nobody.sock")

    async def no_server() -> None:  # the tables below stand for the server's replies
        pass

    app.poll = no_server
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = {"server": {"kind": "ssh", "port": 1}, "lead": {}, "answers": 5, "dropped": 0, "sessions": []}
        app.table, app.error = table, None
        app.show()
        assert "left out" not in str(app.query_one("#room").render())
        app.table = {**table, "dropped": 42}
        app.show()
        assert "42 answers left out of the table" in str(app.query_one("#room").render())
