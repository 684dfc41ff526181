"""What a terminal shows: the app's frames applied one after another to a grid of cells, as a
terminal applies the bytes Textual writes. Textual draws a whole screen only now and then
(`LayoutUpdate`); most frames rewrite only the cells that changed (`ChopsUpdate`). A cell a
frame should have rewritten and did not keeps what an earlier screen drew there, which a full
render of the screen (`Compositor.render_strips`, what `screenshot` saves) never shows."""

from __future__ import annotations

from rich.segment import Segment
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.strip import Strip


class Terminal:
    """Cells written by the app's frames: `rows()` is what the learner sees, as text."""

    def __init__(self, app) -> None:
        self.app = app
        self.cells: list[list[str]] = []
        display = app._display

        def shown(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is not None:
                self.apply(renderable)

        app._display = shown

    def _size(self) -> None:
        width, height = self.app.size
        if len(self.cells) != height or (self.cells and len(self.cells[0]) != width):
            self.cells = [[" "] * width for _ in range(height)]

    def _write(self, x: int, y: int, strip: Strip) -> None:
        if not 0 <= y < len(self.cells):
            return
        row = self.cells[y]
        for segment in strip:
            if segment.control:
                continue
            for char in segment.text:
                cells = Segment(char).cell_length
                if 0 <= x < len(row):
                    row[x] = char
                    if cells == 2 and x + 1 < len(row):
                        row[x + 1] = ""  # the right half of a wide character
                x += cells

    def apply(self, update) -> None:
        self._size()
        if isinstance(update, LayoutUpdate):
            for y, line in enumerate(update.strips, update.region.y):
                x = update.region.x
                for strip in line:
                    self._write(x, y, strip)
                    x += strip.cell_length
        elif isinstance(update, ChopsUpdate):
            # ChopsUpdate.render_segments, cell for cell.
            for y, x1, x2 in update.spans:
                for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items()):
                    if strip is None or x > x2 or end <= x1:
                        continue
                    if not (x2 > x >= x1 and end <= x2):
                        strip = strip.crop(0, min(end, x2) - x)
                    self._write(x, y, strip)

    def rows(self) -> list[str]:
        return ["".join(row) for row in self.cells]

    def full_render(self) -> list[str]:
        """The screen drawn whole now, as `screenshot` draws it."""
        rows = []
        for strip in self.app.screen._compositor.render_strips():
            row = []
            for segment in strip:
                if segment.control:
                    continue
                for char in segment.text:
                    row.append(char)
                    if Segment(char).cell_length == 2:
                        row.append("")
            rows.append("".join(row))
        return rows

    def stale_rows(self) -> list[tuple[int, str, str]]:
        """(row, shown, drawn whole) for every row the terminal shows otherwise than a full render."""
        return [(y, shown, whole) for y, (shown, whole) in enumerate(zip(self.rows(), self.full_render()))
                if shown != whole]
