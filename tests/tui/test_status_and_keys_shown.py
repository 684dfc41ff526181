"""The status line says every setting at 80 columns before it cuts anything, and an open
question says how to answer it where it is seen."""

from tests.support.tui_helpers import quiet
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.screens.tutor import status_line


async def test_a_trained_scenario_keeps_every_setting_on_the_status_line_at_80_columns():
    # Lesson 12 runs on trained weights: "trained: reverse @ step 1000" cut the line to "1 he…".
    app = AttentionApp(start_lesson=12)
    async with app.run_test(size=(80, 24)) as pilot:
        await quiet(app, pilot)
        line = str(app.query_one("#status").render())
        assert "…" not in line, line
        assert "reverse @1000" in line and "1 head" in line and "W std" in line, line
        assert len(line) <= 80
        wide = status_line(app.state, 200)
        assert "trained: reverse @ step 1000" in wide and "dp" in wide


async def test_an_open_question_puts_its_keys_on_the_lesson_panels_border():
    # Audit: at 80x24 the question's "press a to type your answer" line was below the fold and
    # the footer has no a or i: nothing on screen said how to answer.
    app = AttentionApp(start_lesson=5)
    async with app.run_test(size=(80, 24)) as pilot:
        await quiet(app, pilot)
        panel = app.query_one("#lesson-panel")
        assert panel.border_subtitle == "a: answer · i: hint · 1/4"
        assert "a: answer" in app.export_screenshot().replace("&#160;", " ")
        app.tutor.lesson.session.hints_used = len(app.tutor.lesson.session.question.hints)
        app.tutor.refresh_view()
        await quiet(app, pilot)
        # New-user audit: with the hints used up the border dropped i, which still shows the worked answer.
        assert panel.border_subtitle == "a: answer · i: worked answer · 1/4"
        app.tutor.lesson.session.revealed = True
        app.tutor.refresh_view()
        await quiet(app, pilot)
        assert panel.border_subtitle == "page 1/4"


async def test_a_focused_grid_leaves_help_and_quit_in_the_footer_at_80_columns():
    # New-user audit: m, tab at 80x24 gave "⏎ Edit cell ... L Lessons  ? He▏^p palette": the
    # grid's edit key pushed "? Help" and "q Quit" past the edge.
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m", "tab")
        await quiet(app, pilot)
        footer = "".join(seg.text for seg in app.screen._compositor.render_strips()[-1])
        assert "Edit cell" in footer and "? Help" in footer and "q Quit" in footer, footer
        await pilot.press("escape")
        await quiet(app, pilot)
        footer = "".join(seg.text for seg in app.screen._compositor.render_strips()[-1])
        assert "^p palette" in footer and "q Quit" in footer, footer  # no grid focused: all fit
