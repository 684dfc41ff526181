"""A keymap.toml the TOML parser chokes on (RecursionError, int()'s 4300-digit limit) is a bad
keymap like any other: ignored whole, with one notice, and the tutor starts on its defaults."""

import pytest

from tui_attention.tui.app import AttentionApp
from tui_attention.tui.keymap import load_keymap

DEFAULTS = {"tutor.next_step": "n", "tutor.toggle_view": "m"}
CASES = {
    "deep arrays": ('"tutor.next_step" = ' + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "deep inline tables": ('"tutor.next_step" = ' + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "nested too deeply"),
    "5000-digit integer": ('"tutor.next_step" = ' + "9" * 5000 + "\n", "too many digits"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_keymap_the_parser_chokes_on_is_ignored_with_one_line(case, tmp_path):
    text, expected = CASES[case]
    path = tmp_path / "keymap.toml"
    path.write_text(text)
    keymap, notice = load_keymap(DEFAULTS, path)
    assert keymap == {}
    assert notice is not None and str(path) in notice and "ignored" in notice and expected in notice
    assert len(notice.splitlines()) == 1 and len(notice) < 300


async def test_the_tutor_starts_on_its_defaults_with_a_deeply_nested_keymap(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "tui-attention").mkdir()
    (tmp_path / "tui-attention" / "keymap.toml").write_text(CASES["deep arrays"][0])
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        assert app.state.view == "matrix"
        assert any("nested too deeply" in n.message for n in app._notifications)
