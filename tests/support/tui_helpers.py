"""Reading what the panes show, as plain text."""

import io

from rich.console import Console


def text_of(widget, width: int = 120) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def panes(app) -> dict[str, str]:
    from tui_attention.tui.widgets.narration import NarrationPane

    out = {name: text_of(app.query_one(f"#{name}")) for name in ("tokens", "vectors", "weights", "results")}
    narration = app.query_one(NarrationPane)
    out["narration"] = narration.border_title + "\n" + text_of(narration.query_one("#narration-text"))
    out["status"] = text_of(app.query_one("#status"))
    return out


async def matrix_step(pilot, app, kind: str):
    """Open the matrix view at step `kind`; returns the view (its `grid(symbol)` is that scene's)."""
    if app.state.view != "matrix":
        await pilot.press("m")
        await pilot.pause()
    app.state.matrix_step = [s.kind for s in app.state.matrix_steps].index(kind)
    app.tutor.refresh_view()
    await pilot.pause()
    await pilot.pause()
    return app.query_one("MatrixView")


def on_screen_text(app) -> list[str]:
    """What the learner reads outside the lesson panel: the status line, every visible pane's
    border titles and text, and the visible lines of every matrix grid."""
    from tui_attention.tui.widgets.matrix_grid import MatrixGrid

    out = [text_of(app.query_one("#status"))]
    for widget in app.screen.query("*"):
        if not widget.display or not widget.is_on_screen or widget.id == "lesson-panel":
            continue
        for title in (widget.border_title, widget.border_subtitle):
            if title:
                out.append(str(title))
        if isinstance(widget, MatrixGrid):
            out += [widget.render_line(y).text for y in range(widget.scrollable_content_region.height)]
        elif widget.id in ("tokens", "vectors", "weights", "results", "narration-text", "matrix-narration"):
            out.append(text_of(widget))
    return out


async def quiet(app, pilot) -> None:
    """Until the app has nothing left to lay out, draw or handle."""
    for _ in range(200):
        await pilot.pause()
        screen = app.screen
        busy = (screen._dirty_widgets or screen._layout_required or screen._repaint_required
                or not app._message_queue.empty() or any(
                    not w._message_queue.empty() or w._next_callbacks or w._layout_required or w._repaint_required
                    for w in (screen, *screen.walk_children())))
        if not busy:
            await pilot.pause()
            return
    raise AssertionError("the app never settled")
