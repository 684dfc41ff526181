"""The learn view: train the scenario's head on a task and watch its attention sharpen.

    status: learn reverse · step 120 · loss 0.00123 · accuracy 100.0% · 10 steps/s · playing
    ┌ loss, log scale ──────┐ ┌ A = softmax(Q Kᵀ), the sentence ┐
    │ ▇▆▅▃▂▁▁               │ │ heat grid; * the cell the task needs │
    │ loss 1.61 → 0.00123   │ └──────────────────────────────────┘
    └───────────────────────┘
    predicts: 1→artificial✓ 2→inteligencia✓ ...
    ┌ dS = A ⊙ (dA − rowsum(A ⊙ dA)) ────────── gradient 6/11 ┐
    │ one line of narration                                   │
    │ [A] [dA]  ->  [dS]                                      │
    └─────────────────────────────────────────────────────────┘

Training runs in small chunks on a 0.1 s timer: each tick takes the steps its speed asks
for (at most TICK_BUDGET seconds of them), then redraws once, so keys stay responsive
and the screen updates at most ten times a second. The session (`steps.learning`) holds
the numbers and the words; this screen only shows them. "Use these weights" writes the
trained scenario to the state folder and dismisses with its path.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from tui_attention.core import learning
from tui_attention.core.config import Config, ConfigError
from tui_attention.core.scenario import dumps_scenario
from tui_attention.i18n import _
from tui_attention.infra.files import write_atomic
from tui_attention.infra.paths import state_dir
from tui_attention.steps.labels import attention_label
from tui_attention.steps.learning import SPEEDS, LearnSession, Stage, log_curve, word_labels
from tui_attention.tui.bindings import LEARN_KEYS, bindings
from tui_attention.tui.compositor import RepaintsMoves
from tui_attention.tui.dismissed_once import DismissedOnce
from tui_attention.tui.widgets.matrix_grid import MatrixGrid
from tui_attention.tui.widgets.render import plain

TICK = 0.1  # seconds between redraws while playing: at most ten a second
# Served, at most every SERVED_REDRAW seconds while playing (training keeps its pace): at ten a
# second a playing learn view sent 88 KB/s at 80x24 (178 at 120x40), over a slow link and
# to each attendee of a room at once, and drew on the server's shared CPU.
SERVED_REDRAW = 0.4
# Served, training runs at most SERVED_FASTEST steps a second: at 500 one playing attendee's
# tutor took 15 % of a core until the idle timeout, with no key pressed (security audit); at
# 50 about 2.5 %, and the pattern still forms in a few seconds.
SERVED_FASTEST = 50
TICK_BUDGET = 0.04  # seconds of training per tick, so that a key never waits long
GRID_FRAME = 3  # a grid's border (2) and its vertical scrollbar
CURVE_MIN_WIDTH = 24  # the loss curve's box at its narrowest (#learn-curve's min-width)
GRID_POOL = 6  # the most matrices a row of grids shows (a stage reads at most six: dQ, W_q, dK, W_k, dV, W_v)
GRID_FRAME_ROWS = 3  # a grid's rows of border and column labels
GRADIENT_DECIMALS = 3  # three decimals keep two 5x5 grids side by side
SMALL = 0.1  # a grid whose largest number is below this shows in units of a power of ten
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def in_units(values: np.ndarray, title: str, heat: bool = False) -> tuple[np.ndarray, str]:
    """(values, title) as a gradient grid shows them: a grid whose largest finite |value| m is
    below SMALL shows values / 10^k, k = floor(log10 m), and says so in its title ("dW_q
    (×10⁻⁴)": each number times 10⁻⁴), so that the largest shows as d.ddd. With three
    decimals a gradient of 8.8e-04 would read +0.001, and most read ±0.000. Attention
    weights (heat) stay as they are: they lie in [0, 1]."""
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    if heat or not 0.0 < largest < SMALL:
        return values, title
    k = math.floor(math.log10(largest))
    return values / 10.0**k, f"{title} (×10{str(k).translate(SUPERSCRIPTS)})"


def keep_trained(config: Config, folder: Path | None = None) -> Path:
    """Write the trained scenario as <state folder>/trained-<task>.toml and return its path (OSError if not)."""
    path = (folder or state_dir()) / f"trained-{config.training['task']}.toml"
    header = "# " + _("Trained in the learn view; load with: {command}").format(
        command=f"tui-attention --scenario {path}") + "\n"
    return write_atomic(path, dumps_scenario(config, header), make_parents=True)


class LearnScreen(RepaintsMoves, DismissedOnce, Screen[Path | None]):
    """Train, watch, step through one gradient; dismissed with the trained scenario's path (u) or None."""

    BINDINGS = bindings(LEARN_KEYS)
    AUTO_FOCUS = ""
    DEFAULT_CSS = """
    LearnScreen { layout: vertical; }
    LearnScreen #learn-status { height: 1; background: $primary-background; color: $text; text-style: bold; }
    LearnScreen #learn-top { height: auto; }
    LearnScreen #learn-curve { width: 1fr; min-width: 24; height: auto; border: round $primary;
        border-title-color: $foreground; padding: 0 1; }
    LearnScreen #learn-spark { height: 3; }
    LearnScreen #learn-curve-text { height: auto; }
    LearnScreen #learn-attention { border: round $accent; border-title-color: $accent; max-height: 12; }
    LearnScreen #learn-predictions { height: auto; max-height: 2; padding: 0 1; }
    LearnScreen #learn-gradient { height: 1fr; border: round $accent; border-title-color: $foreground;
        border-title-style: bold; padding: 0 1; }
    LearnScreen #learn-narration { height: auto; }
    LearnScreen #learn-grids { height: 1fr; }
    LearnScreen .learn-grid-row { height: auto; max-height: 100%; }
    LearnScreen #learn-grids MatrixGrid { margin: 0 1 0 0; border: round $primary; max-height: 100%;
        border-title-color: $foreground; }
    LearnScreen #learn-grids MatrixGrid.-written { border: round $accent; border-title-color: $accent;
        border-title-style: bold; }
    """

    def __init__(self, config: Config, task: str = "reverse", session: LearnSession | None = None) -> None:
        """`session`: a run on this scenario to go on with (the view was left and opened again)."""
        super().__init__(id="learn")
        # ConfigError if this scenario cannot be trained
        self.session = session if session is not None else LearnSession(config, task)
        self.playing = False
        self._carry = 0.0  # steps owed but not yet taken (slow speeds take less than one per tick)
        self._last = time.perf_counter()
        self._rest_until = 0.0  # after a long tick (a long sentence), the loop is left to the keys a while
        self.redraws = 0  # for tests: how often the screen was updated
        self._shown_at = 0.0  # when training last redrew the screen
        self._probe = MatrixGrid()  # never mounted: measures a grid before it is placed

    def compose(self) -> ComposeResult:
        yield Static(id="learn-status")
        with Horizontal(id="learn-top"):
            with Vertical(id="learn-curve"):
                yield Sparkline([], summary_function=min, id="learn-spark")
                yield Static(id="learn-curve-text")
            yield MatrixGrid(id="learn-attention")
        yield Static(id="learn-predictions")
        with Vertical(id="learn-gradient"):
            yield Static(id="learn-narration")
            with Vertical(id="learn-grids"):
                for _row in range(2):
                    with Horizontal(classes="learn-grid-row"):
                        for _k in range(GRID_POOL):
                            yield MatrixGrid()
        yield Footer(compact=True)

    def on_resize(self, event: Resize) -> None:
        # Below 100 columns "^p palette" would push the learn keys past the edge; ctrl+p still works.
        self.query_one(Footer).show_command_palette = event.size.width >= 100

    def on_mount(self) -> None:
        curve = self.query_one("#learn-curve")
        curve.border_title = plain(_("loss, log scale"))
        curve.border_subtitle = plain(_("task: 1 2 3"))
        self._timer = self.set_interval(TICK, self._tick)
        self.show()
        if self.session.state.step:
            self.notify(_("Back where you left this run: step {step} of {task}. r starts it again.").format(
                step=self.session.state.step, task=self.session.task), timeout=5, markup=False)

    # --- training -------------------------------------------------------------------------
    def _tick(self) -> None:
        now = time.perf_counter()
        if not self.playing or now < self._rest_until:
            self._last = now
            return
        elapsed, self._last = now - self._last, now
        self._carry += min(elapsed, 1.0) * self.session.steps_per_second
        due = int(self._carry)
        if not due:
            return
        taken = 0
        while taken < due and time.perf_counter() - now < TICK_BUDGET:
            self.session.advance(1)
            taken += 1
        # What the budget could not take is dropped, not owed: a slow machine trains slower, it never falls behind.
        self._carry = 0.0 if taken < due else self._carry - due
        redraw_every = SERVED_REDRAW if self.app.served is not None else TICK
        if now - self._shown_at >= redraw_every - 0.01:  # the steps between are drawn with the next
            self.session.measure()
            self.show()
            self._shown_at = now
        # One step of a long sentence can outlast the tick: rest as long as the tick took, so that
        # training never takes more than about half of the time and keys are handled in between.
        self._rest_until = time.perf_counter() + (time.perf_counter() - now)

    # --- drawing ----------------------------------------------------------------------------
    def show(self) -> None:
        s = self.session
        self.redraws += 1
        self.query_one("#learn-status", Static).update(plain(s.status(self.playing, self.size.width or self.app.size.width)))
        self.query_one("#learn-spark", Sparkline).data = log_curve(s.losses)
        self.query_one("#learn-curve-text", Static).update(plain(s.curve_text()))
        self._show_attention()
        self.query_one("#learn-predictions", Static).update(plain(s.predictions()))
        self._show_stage(s.stages()[s.stage])

    def _show_attention(self) -> None:
        s = self.session
        grid = self.query_one("#learn-attention", MatrixGrid)
        c = s.setup.config
        grid.set_data(s.attention(), word_labels(c.tokens), [str(k + 1) for k in range(c.n)], decimals=2,
                      heat=True, masked=learning.mask_of(c))
        grid.label = attention_label(c)
        grid.border_subtitle = plain(_("* the task's cell"))
        grid.marked = {(i, int(j)) for i, j in enumerate(s.setup.targets_at) if j >= 0}
        # Beside the curve at its narrowest; a wider grid scrolls (a long sentence at 80 columns)
        # rather than lose its last columns and border past the screen's edge.
        room = (self.size.width or self.app.size.width) - CURVE_MIN_WIDTH
        grid.styles.width = min(grid.virtual_size.width + GRID_FRAME, max(GRID_FRAME + 12, room))

    def _show_stage(self, stage: Stage) -> None:
        box = self.query_one("#learn-gradient")
        box.border_title = plain(stage.title)

        rows = [list(row.query(MatrixGrid)) for row in self.query(".learn-grid-row")]
        room = (self.size.width or self.app.size.width) - 4
        # Where the box has the height for two rows of grids, what the stage reads goes above
        # and what it writes below; else one row: what it writes first, and what it reads while
        # there is room beside it. One grid always shows. A grid that does not fit is named
        # below, never drawn cut off.
        tallest = max(len(g.rows) for g in (*stage.reads, *stage.writes)) + GRID_FRAME_ROWS
        two_rows = self.query_one("#learn-grids").size.height >= 2 * tallest
        if two_rows:
            packs = [self._pack([(g, False) for g in stage.reads], room),
                     self._pack([(g, True) for g in stage.writes], room)]
        else:
            packs = [self._pack([(g, True) for g in stage.writes] + [(g, False) for g in stage.reads], room), []]
            packs[0].sort(key=lambda item: (item[1], 0))  # reads first, then writes, as in the matrix view
        shown = packs[0] + packs[1]
        # A read that is the same matrix as a grid shown (dS unchanged) is not missing.
        left_out = [g.title for g in (*stage.writes, *stage.reads)
                    if all(g is not x and g.title != x.title for x, _w, _n in shown)]
        subtitle = _("gradient {k}/{n} at step {step}").format(k=stage.index + 1, n=stage.total,
                                                                step=self.session.state.step)
        if left_out:
            subtitle = _("{names} not shown: too narrow").format(names=", ".join(left_out)) + " · " + subtitle
        box.border_subtitle = plain(subtitle)
        self.query_one("#learn-narration", Static).update(plain(stage.narration))
        for row, pack in zip(rows, packs):
            row[0].parent.display = bool(pack)
            for k, grid in enumerate(row):
                if k < len(pack):
                    data, written, width = pack[k]
                    values, title = in_units(data.values, data.title, data.heat)
                    grid.set_data(values, data.rows, data.cols, decimals=GRADIENT_DECIMALS, heat=data.heat,
                                  masked=data.masked)
                    grid.label = title
                    grid.set_class(written, "-written")
                    grid.styles.width = width
                    grid.display = True
                else:
                    grid.display = False

    def _pack(self, needs: list[tuple], room: int) -> list[tuple]:
        """(grid data, written, width) of the `needs` that fit side by side in `room` cells, in
        order, a grid that does not fit passed over for a narrower one after it; the first always."""
        packed: list[tuple] = []
        used = 0
        for grid_data, written in needs:
            width = self._measure(grid_data)
            if not packed or used + width <= room:
                packed.append((grid_data, written, width))
                used += width + 1
        return packed

    def _measure(self, data) -> int:
        """The cells a grid of `data` takes: labels, one slot per column, and its frame."""
        values, title = in_units(data.values, data.title, data.heat)
        self._probe.set_data(values, data.rows, data.cols, decimals=GRADIENT_DECIMALS, heat=data.heat)
        rows, cols = values.shape
        whole_title = len(f"{title}  {rows}x{cols}") + 6  # and the border's corners and gaps: the title fits
        return max(self._probe.virtual_size.width + GRID_FRAME, whole_title)

    # --- keys -------------------------------------------------------------------------------
    def action_play(self) -> None:
        self.playing = not self.playing
        self._last = time.perf_counter()
        self._carry = 0.0
        if not self.playing:  # the steps since the last redraw (served: up to SERVED_REDRAW), measured
            self.session.measure()
        self.show()

    def action_step_once(self) -> None:
        self.session.advance(1)
        self.session.measure()
        self.show()

    def action_speed(self, delta: int) -> None:
        served = self.app.served is not None
        if not self.session.change_speed(delta, SERVED_FASTEST if served else SPEEDS[-1]) and served and delta > 0:
            self.notify(_("At most {speed} steps a second on a shared server.").format(speed=SERVED_FASTEST),
                        timeout=2.5, markup=False)
        self.show()

    def action_reset(self) -> None:
        self.playing = False
        self.session.reset()
        self.show()
        self.notify(_("Back to the scenario's own weights, step {step}.").format(step=self.session.state.step),
                    timeout=2.5, markup=False)

    def action_task(self, task: str) -> None:
        try:
            self.session.reset(task)
        except ConfigError as exc:  # e.g. a sentence of one word has no previous word to name
            self.notify(str(exc), title=_("Task: {task}").format(task=task), severity="warning", timeout=6,
                        markup=False)
            return
        self.playing = False
        self.show()
        self.notify(self.session.pattern(), title=_("Task: {task}").format(task=task), timeout=5,
                    markup=False)

    def action_stage(self, delta: int) -> None:
        self.session.move_stage(delta)
        self._show_stage(self.session.stages()[self.session.stage])

    def action_use(self) -> None:
        try:
            path = keep_trained(self.session.trained_config())
        except OSError as exc:
            self.notify(_("Cannot keep the weights: {why}").format(why=exc.strerror or exc), severity="error",
                        timeout=8, markup=False)
            return
        except ConfigError as exc:  # training moved a weight past what a scenario may hold
            self.notify(_("These weights cannot be used: {why}. Press r to start again.").format(why=exc),
                        severity="error", timeout=8, markup=False)
            return
        self.dismiss(path)

    def action_close(self) -> None:
        self.dismiss(None)
