"""Benchmark MatrixGrid's render path.

Prints one JSON line per (size, heat, operation) with the median and p95 time
in milliseconds of:

* ``set_data``  -- replace the data, then render every visible line;
* ``highlight`` -- move ``highlight_row`` by one, then render every visible line;
* ``page``      -- scroll one page down (wrapping to the top), then render every visible
  line; the line cache is dropped before each sample (outside the timing) so every
  line is built afresh, as when scrolling to rows not seen before.

"Render every visible line" is ``for y in range(height): grid.render_line(y)``
inside a running app (``App.run_test``), i.e. the work Textual asks the widget
to do after a change. The grid fills the whole terminal (worst case).

Usage::

    python benchmarks/grid_bench.py [--repeat 60] [--terminal 120x40]

Targets: highlight / set_data <= 16 ms median at 512x64 and <= 33 ms at 512x1024.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import numpy as np
from textual.app import App, ComposeResult

from tui_attention.tui.widgets.matrix_grid import MatrixGrid

SIZES: list[tuple[int, int, bool]] = [
    (5, 4, False),
    (5, 5, True),
    (64, 64, False),
    (64, 64, True),
    (512, 64, False),
    (512, 512, False),
    (512, 512, True),
    (512, 1024, False),
]


class BenchApp(App[None]):
    CSS = """
    MatrixGrid {
        height: 1fr;
        max-height: 100%;
        width: 1fr;
    }
    """

    def __init__(self, rows: int, cols: int, heat: bool) -> None:
        super().__init__()
        self.theme = "textual-dark"
        self.shape = (rows, cols)
        self.heat = heat

    def compose(self) -> ComposeResult:
        yield MatrixGrid(label="bench", id="grid")


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


async def bench_size(rows: int, cols: int, heat: bool, repeat: int, terminal: tuple[int, int]) -> list[dict]:
    rng = np.random.default_rng(0)
    if heat:
        logits = rng.normal(size=(rows, cols))
        a = np.exp(logits - logits.max(axis=1, keepdims=True))
        arrays = [a / a.sum(axis=1, keepdims=True)]
        arrays.append(arrays[0][::-1].copy())
    else:
        arrays = [rng.normal(size=(rows, cols)), rng.normal(size=(rows, cols))]
        arrays[0][0, -1] = -np.inf
    row_labels = [f"{i + 1} tok{i}" for i in range(rows)]
    col_labels = [str(j + 1) for j in range(cols)]

    app = BenchApp(rows, cols, heat)
    results: list[dict] = []
    async with app.run_test(size=terminal) as pilot:
        grid = app.query_one(MatrixGrid)
        grid.set_data(arrays[0], row_labels, col_labels, heat=heat)
        await pilot.pause()
        height = grid.scrollable_content_region.height

        def render_visible() -> None:
            for y in range(height):
                grid.render_line(y)

        render_visible()

        def timed(change, cold: bool = False) -> float:
            if cold:
                # Lines already built for these rows would be reused; measure fresh rows.
                grid.clear_cache(styles=False)
            start = time.perf_counter()
            change()
            render_visible()
            return (time.perf_counter() - start) * 1000.0

        samples: dict[str, list[float]] = {"set_data": [], "highlight": [], "page": []}

        for i in range(repeat):
            samples["set_data"].append(
                timed(lambda i=i: grid.set_data(arrays[(i + 1) % 2], row_labels, col_labels, heat=heat))
            )
        await pilot.pause()
        render_visible()

        grid.highlight_row = 0
        render_visible()
        for i in range(repeat):
            samples["highlight"].append(timed(lambda i=i: setattr(grid, "highlight_row", (i + 1) % rows)))

        grid.scroll_to(y=0, animate=False)
        render_visible()

        def page() -> None:
            if grid.scroll_offset.y >= grid.max_scroll_y:
                grid.scroll_to(y=0, animate=False, immediate=True)
            else:
                grid.action_page_down()

        for _ in range(repeat):
            samples["page"].append(timed(page, cold=True))

        for op, values in samples.items():
            median, p95 = _stats(values)
            results.append(
                {
                    "size": f"{rows}x{cols}",
                    "heat": heat,
                    "op": op,
                    "median_ms": round(median, 3),
                    "p95_ms": round(p95, 3),
                    "n": len(values),
                    "visible_lines": height,
                    "terminal": f"{terminal[0]}x{terminal[1]}",
                }
            )
    return results


async def main_async(repeat: int, terminal: tuple[int, int]) -> None:
    for rows, cols, heat in SIZES:
        for result in await bench_size(rows, cols, heat, repeat, terminal):
            print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=60, help="samples per operation")
    parser.add_argument("--terminal", default="120x40", help="terminal size WxH")
    args = parser.parse_args()
    w, h = (int(part) for part in args.terminal.lower().split("x"))
    asyncio.run(main_async(args.repeat, (w, h)))


if __name__ == "__main__":
    main()
