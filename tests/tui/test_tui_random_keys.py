"""A seeded storm of 500 keys, from the bindings and beyond: nothing raises, the state stays consistent."""

import random

import numpy as np
import pytest

from tui_attention.core import compute
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.bindings import every_key

BOUND = sorted({k.strip() for key in every_key() for k in key.keys.split(",")} - {"q", "ctrl+p"})
BEYOND = ["tab", "shift+tab", "enter", "escape", "space", "backspace", "delete", "ctrl+a", "ctrl+e", "ctrl+g",
          "ctrl+p", "shift+up", "shift+down", "shift+left", "shift+right", "ctrl+pageup", "ctrl+pagedown",
          "f2", "f5", "insert", "z", "Q", "ctrl+x", "0", "y", "n", "r", "c", "x", "left_square_bracket",
          "right_square_bracket", "exclamation_mark", "slash", "at", "ñ", "L", "e"]


def consistent(app) -> None:
    s = app.state
    assert 0 <= s.word < s.n
    assert 0 <= s.step < 9 and 0 <= s.matrix_step < len(s.matrix_steps)
    assert 0 <= s.head < s.config.heads and 2 <= s.decimals <= 8
    assert s.config.d_model % s.config.heads == 0 or s.config.heads == 1
    again = compute(s.config)
    assert np.array_equal(again.attention, s.trace.attention)
    assert np.allclose(s.trace.heads[0].weights.sum(axis=1), 1.0)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_500_random_keys(size, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # saves and exports typed by chance land here
    rng = random.Random(20261127 + size[0])
    keys = [rng.choice(BOUND + BEYOND) for _ in range(500)]
    app = AttentionApp()
    async with app.run_test(size=size) as pilot:
        for start in range(0, len(keys), 25):
            await pilot.press(*keys[start:start + 25])
            consistent(app)
        await pilot.pause()
        consistent(app)
        assert app.is_running
