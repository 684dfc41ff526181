"""Issue 10 (B): a notice never covers the step's text, in either view."""

import pytest

from textual.widgets._toast import Toast

from tui_attention.tui.app import AttentionApp


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["walkthrough", "matrix"])
async def test_a_switch_notice_leaves_the_step_text_uncovered(size, view):
    app = AttentionApp()
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.pause()
        if view == "matrix":
            await pilot.press("m")
            for _ in range(4):
                await pilot.pause()
        await pilot.press("s")
        for _ in range(4):
            await pilot.pause()
        toasts = list(app.screen.query(Toast))
        assert toasts, "the switch shows a notice"
        text = app.screen.query_one("#narration" if view == "walkthrough" else "#matrix-narration")
        assert text.region.height > 0
        for toast in toasts:
            assert not toast.region.overlaps(text.region), (toast.region, text.region)
