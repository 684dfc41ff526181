"""The Vectors pane's numbers can be selected with the mouse and copied (to check a sum in a
calculator): the pane draws Content, whose cells carry the offsets Textual's selection reads."""

from __future__ import annotations

from tui_attention.steps.notation import fmt
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.widgets.vectors import VectorsPane


async def test_the_vectors_numbers_can_be_selected():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("down")  # a word's own vectors, drawn on a key
        await pilot.pause()
        pane = app.query_one(VectorsPane)
        pane.text_select_all()
        await pilot.pause()
        selected = app.screen.get_selected_text()
        assert selected is not None
        x = app.state.trace.X[app.state.word]
        assert " ".join(fmt(v, app.state.decimals) for v in x) in " ".join(selected.split())
