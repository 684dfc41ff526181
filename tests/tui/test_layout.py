"""The layout rule at 80x24 and up: every step's title and formula are on screen without
scrolling, and so are the matrices a matrix step reads and writes (each at least its header
and the current word's row)."""

import re

import pytest

from tui_attention.core import Overrides
from tui_attention.steps import matrix_step_kinds
from tui_attention.steps.state import TutorState
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.layout import plan_walkthrough, token_line, window
from tui_attention.tui.widgets.matrix_grid import MatrixGrid

SIZES = [(80, 24), (100, 30), (120, 40)]
SCENARIOS = {
    "notebook": Overrides(),
    "masked and scaled, 2 heads": Overrides(scale="sqrt_dk", mask="causal", heads=2),
    "40 words": Overrides(sentence=" ".join(f"w{i}" for i in range(40))),
}


def screen_lines(app) -> list[str]:
    """The characters on screen, line by line (from the screenshot the learner would see)."""
    svg = app.export_screenshot()
    rows: dict[float, list[str]] = {}
    for m in re.finditer(r'<text[^>]*\by="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        rows.setdefault(float(m.group(1)), []).append(m.group(2))
    return ["".join(rows[y]).replace("&#160;", " ").replace("&#x27;", "'").replace("&quot;", '"')
            .replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">") for y in sorted(rows)]


def on_screen(text: str, lines: list[str]) -> bool:
    squeezed = " ".join(text.split())
    whole = "\n".join(lines)
    return squeezed[:40] in " ".join(whole.split())


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_every_walkthrough_step_shows_its_title_and_formula(size, scenario):
    app = AttentionApp(TutorState(overrides=SCENARIOS[scenario]))
    async with app.run_test(size=size) as pilot:
        if scenario == "40 words":
            app.state.word = 20
        for k in range(9):
            app.state.step = k
            app.tutor.refresh_view()
            await pilot.pause()
            step = app.state.current
            lines = screen_lines(app)
            assert on_screen(step.title, lines), (k, step.title)
            plan = app.query_one("WalkthroughView").plan(app.state)
            for formula_line in step.formula_window(plan.formula_lines):
                assert on_screen(formula_line, lines), (k, formula_line)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_every_matrix_step_shows_its_text_and_its_matrices(size, scenario):
    app = AttentionApp(TutorState(overrides=SCENARIOS[scenario]))
    async with app.run_test(size=size) as pilot:
        await pilot.press("m")
        await pilot.pause()
        for k, kind in enumerate(matrix_step_kinds(app.state.config.heads)):
            app.state.matrix_step = k
            app.tutor.refresh_view()
            await pilot.pause()
            await pilot.pause()
            step = app.state.current_matrix
            lines = screen_lines(app)
            assert on_screen(step.title, lines), kind
            for formula_line in step.formula:
                assert on_screen(formula_line, lines), (kind, formula_line)
            view = app.query_one("MatrixView")
            screen_height = app.size.height - 1  # above the footer
            for grid in view.scene.grids:
                region = grid.region  # its title line, the column header and at least one row
                assert region.height >= 3 and region.bottom <= screen_height, (kind, grid.border_title, region)
                if grid.highlight_row is not None:
                    top = grid.scroll_offset.y
                    assert top <= grid.highlight_row < top + grid.scrollable_content_region.height - 1


def test_the_plan_gives_the_text_first_and_the_panes_the_rest():
    def plan(height, lines, formula):
        return plan_walkthrough(height, narration_lines=lines, formula_heights=lambda k: k,
                                formula_count=formula, vectors=5, vector_notes=0, multiplies=True, d_model=4,
                                n=5, weights_filled=True, left_column=True)

    small, large = plan(22, 4, 6), plan(38, 4, 6)
    assert large.formula_lines == 6 and large.narration_height == 2 + 4 + 6
    assert small.narration_height + small.middle_height <= 22 - 3
    assert small.result_rows >= 1 and small.formula_lines >= 1
    long_text = plan(22, 14, 6)  # the paragraph is never cut; the formula gives way
    assert long_text.formula_lines == 1


def test_windows_and_token_lines():
    assert list(window(10, 0, 3)) == [0, 1, 2] and list(window(10, 9, 3)) == [7, 8, 9]
    assert list(window(10, 5, 4)) == [4, 5, 6, 7] and list(window(3, 1, 9)) == [0, 1, 2]
    tokens = [f"w{i}" for i in range(40)]
    shown = token_line(tokens, 20, 76)
    assert 20 in shown and len(shown) < 40
    assert sum(len(f" {i + 1} {tokens[i]} ") + 2 for i in shown) <= 76 - 4
    assert list(token_line(["me", "gusta"], 0, 76)) == [0, 1]
