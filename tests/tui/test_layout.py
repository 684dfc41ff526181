"""The layout rule at 80x24 and up: every step's title and formula are on screen without
scrolling, and so are the matrices a matrix step reads and writes (each at least its header
and the current word's row)."""

import io

import pytest
from rich.console import Console
from rich.text import Text

from tui_attention.core import Overrides
from tui_attention.steps import matrix_step_kinds
from tui_attention.steps.notation import fmt
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
    """The characters on screen, line by line, each `app.size.width` cells (what the learner sees,
    composed as for a screenshot, spaces included)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text().rstrip("\n").split("\n")


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


# --- every box whole: the step-through --------------------------------------------------------

PANES = ("#tokens", "#vectors", "#weights", "#results", "#narration")


def walkthrough_problems(app) -> list[str]:
    """What is cut on the step-through: a pane whose bottom border is not on screen (below the
    footer, or under the panes' row), a narration whose text runs on out of sight."""
    lines = screen_lines(app)
    footer = app.size.height - 1
    middle = app.query_one("#middle").region
    problems = []
    for name in PANES:
        pane = app.query_one(name)
        if not pane.display or not pane.parent.display:
            continue
        r = pane.region
        limit = middle.bottom if name in ("#vectors", "#weights", "#results") else footer
        if r.height < 3 or r.bottom > limit or r.right > app.size.width:
            problems.append(f"{name} at {r} (limit {limit})")
        elif not (lines[r.bottom - 1][r.x] == "╰" and lines[r.bottom - 1][r.right - 1] == "╯"):
            problems.append(f"{name}: no bottom border on line {r.bottom - 1}: {lines[r.bottom - 1]!r}")
    narration = app.query_one("#narration")
    if narration.max_scroll_y:
        problems.append(f"narration runs on {narration.max_scroll_y} lines out of sight")
    return problems


def result_rows(app) -> list[str]:
    """The word rows of the Results table, as on screen."""
    r = app.query_one("#results").region
    lines = screen_lines(app)[r.y + 2:r.bottom - 1]  # below its border and header line
    return [line[r.x + 2:r.right - 2] for line in lines if line[r.x + 2:r.x + 5].strip()[:1].isdigit()]


WORDS = {"notebook": (0, 2, 4), "masked and scaled, 2 heads": (0, 4), "40 words": (0, 20, 39)}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_every_walkthrough_step_keeps_its_boxes_whole_and_the_words_around_the_query(size, scenario):
    """Every pane has its bottom border on screen; a cut paragraph says pgdn shows the rest; from
    the scores on, the Results show min(n, 5) words with the query word among them (audit #15, #18)."""
    app = AttentionApp(TutorState(overrides=SCENARIOS[scenario]))
    async with app.run_test(size=size) as pilot:
        for word in WORDS[scenario]:
            for k in range(9):
                app.state.word, app.state.step = word, k
                app.tutor.refresh_view()
                await pilot.pause()
                await pilot.pause()
                step, n = app.state.current, app.state.n
                where = (word + 1, k + 1)
                assert not walkthrough_problems(app), (where, walkthrough_problems(app))
                view = app.query_one("WalkthroughView")
                plan = view.plan(app.state)
                narration = app.query_one("#narration")
                if plan.paragraph_lines < len(screen_paragraph(app, step)):
                    assert "pgdn" in str(narration.border_subtitle), where
                if step.filled:
                    rows = result_rows(app)
                    assert len(rows) >= min(n, 5), (where, rows)
                    assert any(row.split()[0] == str(word + 1) for row in rows), (where, rows)


def screen_paragraph(app, step) -> list:
    """The step's paragraph wrapped to the narration's width: the lines it has in all."""
    width = app.query_one("#narration").content_region.width
    return list(Text(app.state.concealed.text(step.narration)).wrap(app.console, width))


@pytest.mark.parametrize("word", [0, 2, 4])
async def test_the_softmax_step_shows_every_weight_at_80x24(word):
    """Audit #18: at 80x24 step 8 showed 1 weight of 5; the formula gives way first."""
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.state.word, app.state.step = word, 7
        app.tutor.refresh_view()
        await pilot.pause()
        await pilot.pause()
        weights = app.state.trace.heads[0].weights[word]
        rows = result_rows(app)
        assert len(rows) == 5
        for j, row in enumerate(rows):
            assert row.split()[0] == str(j + 1) and fmt(weights[j], app.state.decimals) in row, row
        assert app.query_one("WalkthroughView").plan(app.state).formula_lines >= 1
        assert not walkthrough_problems(app)


@pytest.mark.parametrize("step", [5, 6], ids=["scale", "mask"])
async def test_steps_6_and_7_use_the_room_for_the_whole_row_of_scores(step):
    """Audit #18: steps 6-7 left blank lines while s₁ was cut with '…': with the room, the
    Vectors pane goes above the Results, the whole width, and shows every score."""
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.state.step = step
        app.tutor.refresh_view()
        await pilot.pause()
        await pilot.pause()
        r = app.query_one("#vectors").region
        text = "\n".join(line[r.x:r.right] for line in screen_lines(app)[r.y:r.bottom])
        scores = app.state.trace.heads[0].scores[0]
        assert all(fmt(s, app.state.decimals) in text for s in scores), text
        assert "…" not in text
        assert not walkthrough_problems(app)
