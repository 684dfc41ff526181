"""A terminal a few cells wide: the tutor asks for a larger one and crashes on no key.

Textual's OptionList (the lesson browser's list, the command palette's) measures each option by
wrapping it, and Rich's line breaker raises at a width of 0, which a 1-6 column terminal leaves
those lists; they keep a little width (CSS min-width), and the compositor crops the rest."""

from __future__ import annotations

import pytest

from tui_attention.tui.app import AttentionApp

TINY = [(1, 1), (4, 10), (6, 5)]
OPENERS = [("L",), ("L", "down", "enter"), ("ctrl+p",)]


@pytest.mark.parametrize("size", TINY, ids=[f"{w}x{h}" for w, h in TINY])
@pytest.mark.parametrize("keys", OPENERS, ids=["-".join(k) for k in OPENERS])
@pytest.mark.parametrize("when", ["opened there", "shrunk to it"])
async def test_no_key_crashes_a_tiny_terminal(size, keys, when):
    app = AttentionApp()
    async with app.run_test(size=size if when == "opened there" else (80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        if when == "shrunk to it":
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
        await pilot.press("down", "escape")
        await pilot.pause()
        assert app.is_running and app.return_code is None
