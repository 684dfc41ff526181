"""A served tutor's saves and exports stop at its session folder's disk budget (serve
--session-disk): each is checked before it is written, from what the folder holds and a bound
on what the write adds, and refused in one line past the budget."""

from __future__ import annotations

import pytest

from tui_attention.core import compute
from tui_attention.core.scenario import Overrides, build_config
from tui_attention.export import export_trace
from tui_attention.infra.served import Served, disk_budget
from tui_attention.infra.typed_paths import disk_usage
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.files import Destination, export_bytes

SCENARIOS = [
    Overrides(),
    Overrides(sentence=" ".join(["ñ|\\" * 21] * 6), d_model=8, d_k=4, d_v=4, heads=2, mask="causal"),
    Overrides(sentence=" ".join(f"w{i}" for i in range(40)), d_model=32, d_k=16, d_v=16, weight_scale=3.0),
]


@pytest.mark.parametrize("overrides", SCENARIOS)
@pytest.mark.parametrize("kind, name", [("npz", "a.npz"), ("csv", "c"), ("md", "a.md"), ("py", "a.py")])
def test_an_export_takes_no_more_than_its_bound(tmp_path, overrides, kind, name):
    trace = compute(build_config(None, overrides))
    export_trace(trace, kind, tmp_path / name)
    assert 0 < disk_usage(tmp_path / name) <= export_bytes(trace, kind)


def test_the_budget_comes_from_the_servers_environment_only_when_served(monkeypatch):
    assert disk_budget({"TUI_ATTENTION_SERVED": "1", "TUI_ATTENTION_DISK_BUDGET": "1048576"}) == 1048576
    assert disk_budget({"TUI_ATTENTION_DISK_BUDGET": "1048576"}) is None
    assert disk_budget({"TUI_ATTENTION_SERVED": "1", "TUI_ATTENTION_DISK_BUDGET": "-5"}) is None
    monkeypatch.setenv("TUI_ATTENTION_SERVED", "1")
    monkeypatch.setenv("TUI_ATTENTION_DISK_BUDGET", "4096")
    assert Destination().budget == 4096 and Served.from_environment().disk_budget == 4096


async def type_into(pilot, app, key: str, text: str) -> str | None:
    """Type `text` into the prompt `key` opens; the reason it was refused (the prompt comes
    back with it, and is closed here), or None."""
    await pilot.press(key)
    await pilot.pause()
    app.screen.query_one("#prompt-input").value = text
    await pilot.press("enter")
    await pilot.pause()
    if type(app.screen).__name__ == "ConfirmScreen":  # "Replace it?"
        await pilot.press("y")
        await pilot.pause()
    if type(app.screen).__name__ == "PromptScreen":
        refused = str(app.screen.query_one("#prompt-error").render())
        await pilot.press("escape")
        await pilot.pause()
        return refused
    return None


async def test_saves_and_exports_stop_at_the_budget_with_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = AttentionApp(served=Served(root=tmp_path))
    bound = export_bytes(app.state.trace, "md")
    app.destination = Destination(tmp_path, budget=bound + 8192)  # one Markdown export, and a little
    async with app.run_test(size=(80, 24)) as pilot:
        assert await type_into(pilot, app, "x", "first.md") is None
        assert (tmp_path / "first.md").exists()
        refused = await type_into(pilot, app, "x", "second.md")  # a second one would pass the budget
        assert not (tmp_path / "second.md").exists()
        assert refused.startswith("Could not export: your session folder may hold") and "\n" not in refused
        assert await type_into(pilot, app, "x", "first.md") is None  # in place of the first: no more than before
        assert await type_into(pilot, app, "ctrl+s", "mine.toml") is None  # a small save still fits
        assert (tmp_path / "mine.toml").exists()
        assert await type_into(pilot, app, "x", "third") is not None  # nor a folder of CSV files
        assert not (tmp_path / "third").exists()
        assert app.is_running
    assert disk_usage(tmp_path) <= bound + 8192
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.md", "mine.toml"]


async def test_a_served_tutor_offers_no_screenshot_that_writes_past_the_budget(tmp_path):
    # Textual's palette command "Screenshot" writes an SVG to ~/Downloads, which is the session
    # folder of a served tutor, without the budget's check: a served tutor does not offer it.
    for served, offered in ((Served(root=tmp_path), False), (None, True)):
        app = AttentionApp(served=served)
        async with app.run_test(size=(80, 24)):
            titles = [command.title for command in app.get_system_commands(app.screen)]
        assert ("Screenshot" in titles) is offered, titles
        assert "Quit" in titles  # the rest of Textual's commands stay
