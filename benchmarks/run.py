"""End-to-end performance figures of the tutor: key latency, start-up, memory.

Usage::

    python benchmarks/run.py                  # everything: about 75 s on an idle 2-core machine
    python benchmarks/run.py --samples 10     # quicker, noisier
    python benchmarks/run.py --only key_ms --repeat 3   # key_ratio as the median of 3 repeats
    python benchmarks/run.py --only key_ms    # one figure (repeatable: startup_ratio, which gives
                                              # command_startup_ratio too, peak_rss_mb);
                                              # key_ms also gives key_ratio and drawing_ratio
    python benchmarks/run.py --profile matrix:word:512x64   # cProfile one combination (stderr)

stdout gets one JSON object per line, nothing else; progress and supporting
detail (sample counts, min/max, the same samples as thread CPU time, frames per key,
first-paint times in ms, load average) go to stderr.

key_ms
    {"figure": "key_ms", "view": V, "action": A, "tokens": N, "d_model": D, "median": ms, "p95": ms}
    for the sizes (N x D) 5x4, 64x64, 512x64 and 512x1024, V in walkthrough and matrix,
    A in step (right/left), word (down/up) and switch (s, the scale switch).

    The floor: a bare Textual app whose one Static is rewritten with a new screenful of signed
    four-decimal numbers on each key, measured the same way in the same run (between the sizes,
    median of the runs), under the collector settings the tutor's first app makes for its
    process (``infra.collector.settle_start_up``, made before the first floor). key_ratio is the tutor's median CPU per key over the floor's, with the
    mean frames per key: {"figure": "key_ratio", "view": V, "action": A, "tokens": N,
    "d_model": D, "median": r, "frames_per_key": f}; with ``--repeat R`` the keys and their
    floor are measured R times, r is the median of the R ratios (each against its own repeat's
    floor) and "repeats" lists them. The matrix view builds each step's grids on
    its first visit; that visit is measured on its own ({"figure": "first_visit_ms", ...}) before
    the samples, which then revisit built steps.

    Scenario: ``TutorState(overrides=Overrides(sentence="w0 w1 ... w{N-1}", d_model=D))``,
    i.e. a generated scenario with N distinct words; d_k = d_v = 3, d_ff = 5, one head
    and seed 23 stay at their defaults (the tutor's defaults, and what the issue's sizes
    name: tokens and d_model). Terminal 120x40, headless (``App.run_test``), theme
    textual-dark. One app per size; the walkthrough samples run first, then ``m`` opens
    the matrix view (untimed) and the matrix samples run.

    One sample: the key event (``events.Key``) is posted to the app's queue, as the
    terminal driver's input thread does (minus the thread hop), and goes the real way: the app's binding lookup, the action,
    the state change, ``refresh_view``, the widgets' refreshes, the screen's layout and
    ``Compositor.render_update`` of the changed regions, for as many frames as the key
    causes (e.g. the narration's after-refresh hint), until the app is quiet again.
    The clock runs from posting the key to the end of the last frame. Excluded are the
    idle waits: the time the asyncio loop spends blocked in ``select()`` (Textual's
    1/60 s frame timer, the benchmark's own sleeps) is measured by wrapping the loop's
    selector and subtracted, and so is the benchmark's own "is the app quiet?" polling.
    Headless Textual skips writing the frame to the terminal; to count what a terminal
    would cost, each frame is also encoded to escape sequences
    (``CompositorUpdate.render_segments``), inside the clock. So key_ms is the busy
    wall-clock time the key costs in the process, up to a rendered screen. The thread
    CPU time of the same window is logged to stderr; on a loaded machine it is the
    steadier of the two (other processes' time slices count as busy wall time).

    Keys bounce: step goes right until the last step, then left, and so on; word goes
    down to the last word, then up (so at 512 words nearly every word is new, as when
    reading a long sentence). switch presses ``s`` again and again (scaling on/off), which
    recomputes the trace each time. Notifications (``s`` shows one) are cleared between
    samples, untimed. The first sample of each combination is a warm-up and is dropped.
    p95 is the nearest-rank 95th percentile.

drawing_ratio
    {"figure": "drawing_ratio", "view": V, "tokens": N, "d_model": D, "median": r,
    "rows_changed": c, "rows": 40}: how much of a word key is drawing. After each view's
    samples, six more word keys (untimed, then undone) give the screens the terminal
    showed, captured from the compositor as rows of Rich Text. A one-widget app then shows
    them in turn, going back and forth, and on each key draws again only the rows that
    differ from the screen before (c of the 40, on average), each row as `RichLines`
    draws a line; nothing is computed. r is its median CPU per key over the floor's, in
    the same repeat. The tutor's word key_ratio less r is what the tutor spends beyond
    drawing the cells that change: working out the word's step and texts, and drawing
    them as several bordered widgets.

startup_ratio
    {"figure": "startup_ratio", "value": r}: first paint of the tutor's default screen
    (``AttentionApp()``, the default scenario) over first paint of a bare Textual app
    whose compose yields a Header and a Footer. Each measurement is a fresh Python
    subprocess, so imports count: the clock starts at the top of this script (before
    Textual, numpy or the tutor is imported) and stops when the first frame of the
    app's screen has been rendered (the first ``App._display`` call, encoded as above),
    both apps run the same way (``run_test(size=(120, 40))``). Interpreter start-up is
    outside the clock for both. Rounds alternate A B, B A, A B, ...; r is the median of
    the per-round ratios.

command_startup_ratio
    {"figure": "command_startup_ratio", "value": r}: the same, for the tutor opened as
    `tui-attention` opens it: the command line imported, its arguments parsed
    (``cli.parse([])``) and the app made by ``cli.run.make_app``, with the checks and the
    settings the command makes before NumPy is imported. Measured in the same rounds,
    against the same bare app.

peak_rss_mb
    {"figure": "peak_rss_mb", "tokens": N, "d_model": D, "value": mb} for each size, each
    in a fresh subprocess: build the app at that size, show the walkthrough, press
    right and down, open the matrix view, press right, down and s, then report
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss / 1024`` (Linux: KiB -> MiB). On Linux a
    child inherits its parent's RSS as a floor of ru_maxrss across fork/exec, so the
    subprocesses (start-up and memory) run before the key_ms apps grow this process;
    the child's VmHWM (peak RSS of its own address space) is logged as a cross-check.

Targets (issue 12, 2-core machine): key_ratio <= 1.5 at 5x4 and 64x64 (step and word, both
views), <= 3 at 512x1024, <= 4 for a switch at every size, one frame per key;
startup_ratio <= 1.3 (and command_startup_ratio); peak_rss_mb <= 110 at 512x1024. Misses are printed as measured;
see docs/performance.md.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # start of the start-up clock (before Textual, numpy, the tutor)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

SIZES: list[tuple[int, int]] = [(5, 4), (64, 64), (512, 64), (512, 1024)]
TERMINAL = (120, 40)
VIEWS = ("walkthrough", "matrix")
# action -> (forward key, backward key); the keys a learner presses.
ACTIONS = {"step": ("right", "left"), "word": ("down", "up"), "switch": ("s", "s")}
# Samples per (view, action), per size (the warm-up sample comes on top).
SAMPLES = {(5, 4): 40, (64, 64): 40, (512, 64): 40, (512, 1024): 25}
STARTUP_ROUNDS = 10
FLOOR_SAMPLES = 40
CPU_MS: dict[tuple[str, str, int, int], tuple[float, float]] = {}  # (median, p95) CPU ms, for --profile and experiments
FRAMES: dict[tuple[str, str, int, int], float] = {}  # mean frames per key
SCREENS: dict[tuple[str, int, int], list] = {}  # (view, N, D) -> the screens of a few word keys (rows of Rich Text)
DRAWN_MS: dict[tuple[str, int, int], float] = {}  # (view, N, D) -> median CPU per key of drawing them alone
ROWS_CHANGED: dict[tuple[str, int, int], float] = {}  # (view, N, D) -> mean rows a word key changed on screen
SCREENS_CAPTURED = 6  # word keys whose screens the drawing figure shows in turn
SETTLE_TICK = 0.002  # seconds between "is the app quiet?" checks
SETTLE_TIMEOUT = 10.0


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(1, -(-int(q * 1000) * len(ordered) // 1000))  # ceil(q * n), exact for q = 0.95
    return ordered[min(len(ordered), k) - 1]


def sentence(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def make_app(n: int, d: int):
    from tui_attention.core.scenario import Overrides
    from tui_attention.tui.app import AttentionApp
    from tui_attention.steps.state import TutorState

    return AttentionApp(TutorState(overrides=Overrides(sentence=sentence(n), d_model=d)))


# ----------------------------------------------------------------------------- busy clock


class BusyClock:
    """Wall clock minus idle: time blocked in the loop's select() and our own polling."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.idle = 0.0
        self.overhead = 0.0
        self.overhead_cpu = 0.0
        self.frames = 0
        self.last_frame: tuple | None = None
        selector = loop._selector  # type: ignore[attr-defined]  # the default (selector) event loop
        select = selector.select

        def timed_select(timeout=None):
            start = time.perf_counter()
            try:
                return select(timeout)
            finally:
                self.idle += time.perf_counter() - start

        selector.select = timed_select

    def mark(self) -> tuple[float, float, float, float, float]:
        return time.perf_counter(), self.idle, self.overhead, time.thread_time(), self.overhead_cpu

    @staticmethod
    def busy_ms(start: tuple, end: tuple) -> float:
        """Wall time between two marks, less idle time and polling."""
        return ((end[0] - start[0]) - (end[1] - start[1]) - (end[2] - start[2])) * 1000.0

    @staticmethod
    def cpu_ms(start: tuple, end: tuple) -> float:
        """CPU time of the loop's thread between two marks, less polling (robust to other load)."""
        return ((end[3] - start[3]) - (end[4] - start[4])) * 1000.0

    def watch_frames(self, app) -> None:
        """Record the end of every frame the app renders (and encode it, as a terminal would)."""
        from textual._compositor import CompositorUpdate

        display = app._display

        def timed_display(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is None:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            self.frames += 1
            self.last_frame = self.mark()

        app._display = timed_display


def app_is_busy(app) -> bool:
    """True while the app has anything left to do for the last key (messages, refreshes, a frame)."""
    from textual.widget import Widget

    screen = app.screen
    if (screen._dirty_widgets or screen._layout_required or screen._scroll_required
            or screen._repaint_required or screen._callbacks or screen._update_timer._active.is_set()):
        return True
    if app.animator._animations:
        return True
    for pump in (app, screen, *screen.walk_children()):
        if not pump._message_queue.empty() or pump._next_callbacks:
            return True
        if isinstance(pump, Widget) and (pump._repaint_required or pump._layout_required or pump._scroll_required):
            return True
    return False


async def settle(app, clock: BusyClock) -> None:
    """Sleep (idle, not counted) until the app has been quiet for two checks in a row."""
    quiet = 0
    deadline = time.perf_counter() + SETTLE_TIMEOUT
    while quiet < 2:
        await asyncio.sleep(SETTLE_TICK)
        start, start_cpu = time.perf_counter(), time.thread_time()
        busy = app_is_busy(app)
        clock.overhead += time.perf_counter() - start
        clock.overhead_cpu += time.thread_time() - start_cpu
        quiet = 0 if busy else quiet + 1
        if time.perf_counter() > deadline:
            log(f"warning: app not quiet after {SETTLE_TIMEOUT} s; sample kept")
            return


async def press_timed(app, clock: BusyClock, key: str) -> tuple[float, float, int]:
    """(busy wall ms, CPU ms, frames) from posting `key` to the end of the last frame it causes."""
    from textual import events

    app.clear_notifications()
    await settle(app, clock)
    frames = clock.frames
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    start = clock.mark()
    app.post_message(event)
    await settle(app, clock)
    if clock.frames == frames or clock.last_frame is None:
        raise RuntimeError(f"key {key!r} rendered no frame")
    return clock.busy_ms(start, clock.last_frame), clock.cpu_ms(start, clock.last_frame), clock.frames - frames


# ----------------------------------------------------------------------------- key_ms


def _position(app, action: str) -> tuple[int, int]:
    """(current, last) index along the axis the action moves, for bouncing.

    Counted from the step kinds, not from ``state.steps``: building steps here would
    warm the app's step caches outside the clock.
    """
    from tui_attention.steps import WORD_STEP_KINDS, matrix_step_kinds

    s = app.state
    if action == "step":
        if s.view == "matrix":
            return s.matrix_step, len(matrix_step_kinds(s.config.heads)) - 1
        return s.step, len(WORD_STEP_KINDS) - 1
    return s.word, s.n - 1


def _signature(app) -> tuple:
    s = app.state
    return s.view, s.word, s.step, s.matrix_step, s.config.scale


async def bench_size(n: int, d: int, samples: int, profile: tuple[str, str] | None = None) -> list[dict]:
    app = make_app(n, d)
    results: list[dict] = []
    async with app.run_test(size=TERMINAL) as pilot:
        clock = BusyClock(asyncio.get_running_loop())
        clock.watch_frames(app)
        await pilot.pause()
        await settle(app, clock)
        for view in VIEWS:
            if view == "matrix":
                await pilot.press("m")
                await pilot.pause()
                await settle(app, clock)
                assert app.state.view == "matrix", app.state.view
                # Each matrix step's grids are built (mounted) on its first visit, once per session
                # and trace: measured here as a figure of its own, so that the samples below are
                # what a learner going back and forth pays.
                first_visits: list[float] = []
                while True:
                    current, last = _position(app, "step")
                    if current == last:
                        break
                    first_visits.append((await press_timed(app, clock, "right"))[1])
                while _position(app, "step")[0] > 0:
                    await press_timed(app, clock, "left")
                results.append({"figure": "first_visit_ms", "view": "matrix", "tokens": n, "d_model": d,
                                "median": round(statistics.median(first_visits), 2)})
                log(f"  first visit of each matrix step {n}x{d}: CPU median {statistics.median(first_visits):.2f} "
                    f"max {max(first_visits):.2f} ms")
            for action, (forward, backward) in ACTIONS.items():
                if profile is not None and profile != (view, action):
                    continue
                direction = 1
                times: list[float] = []
                cpu: list[float] = []
                frames: list[int] = []
                profiler = None
                if profile is not None:
                    import cProfile

                    profiler = cProfile.Profile()
                for k in range(samples + 1):
                    if action != "switch":
                        current, last = _position(app, action)
                        if last == 0:
                            raise RuntimeError(f"nothing to move for {action} at {n}x{d}")
                        if current + direction > last or current + direction < 0:
                            direction = -direction
                    key = forward if direction > 0 else backward
                    before = _signature(app)
                    if profiler is not None and k:
                        profiler.enable()
                    ms, cpu_ms, nframes = await press_timed(app, clock, key)
                    if profiler is not None and k:
                        profiler.disable()
                    if _signature(app) == before:
                        raise RuntimeError(f"key {key!r} changed nothing ({view}, {action}, {n}x{d})")
                    if k:  # the first sample is a warm-up
                        times.append(ms)
                        cpu.append(cpu_ms)
                        frames.append(nframes)
                assert app.state.view == view
                if profiler is not None:
                    import io
                    import pstats

                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out)
                    stats.sort_stats("cumulative").print_stats(int(os.environ.get("PROFILE_LINES", "45")))
                    stats.sort_stats("tottime").print_stats(20)
                    log(out.getvalue())
                CPU_MS[(view, action, n, d)] = (statistics.median(cpu), nearest_rank(cpu, 0.95))
                FRAMES[(view, action, n, d)] = statistics.mean(frames)
                results.append({"figure": "key_ms", "view": view, "action": action, "tokens": n, "d_model": d,
                                "median": round(statistics.median(times), 2),
                                "p95": round(nearest_rank(times, 0.95), 2)})
                log(f"  key_ms {view:11} {action:6} {n}x{d}: n={len(times)} "
                    f"min {min(times):.2f} median {statistics.median(times):.2f} max {max(times):.2f} ms; "
                    f"CPU median {statistics.median(cpu):.2f} p95 {nearest_rank(cpu, 0.95):.2f} ms; "
                    f"frames {min(frames)}-{max(frames)}")
            if profile is None:
                SCREENS[(view, n, d)] = await capture_word_screens(app, pilot, clock)
    return results


def _screen_rows(app) -> list:
    """The screen as the terminal shows it: one Rich Text per row, each segment's text in its style."""
    from rich.text import Text

    rows = []
    for strip in app.screen._compositor.render_strips():
        row = Text(no_wrap=True, overflow="crop", end="")
        for segment in strip:
            if not segment.control:
                row.append(segment.text, segment.style)
        rows.append(row)
    return rows


async def capture_word_screens(app, pilot, clock: BusyClock) -> list:
    """The screens of SCREENS_CAPTURED word keys from where the samples left the app (untimed),
    then the same keys undone, so that the next view starts where it did without this."""
    screens = []
    current, last = _position(app, "word")
    pressed = []
    direction = 1
    for _ in range(min(SCREENS_CAPTURED, 2 * last)):
        if not 0 <= _position(app, "word")[0] + direction <= last:  # bounce, as the samples do
            direction = -direction
        pressed.append("down" if direction > 0 else "up")
        await pilot.press(pressed[-1])
        await settle(app, clock)
        screens.append(_screen_rows(app))
    for key in reversed(pressed):
        await pilot.press("up" if key == "down" else "down")
    await settle(app, clock)
    assert _position(app, "word")[0] == current
    return screens


# ----------------------------------------------------------------------------- the floor


def make_floor_app():
    """The floor: a bare Textual app that rewrites a full screen of numbers on each key.

    One Static fills the terminal; each key replaces its text with a new screenful of
    signed four-decimal numbers (every cell changes), the least any tutor screen can cost:
    one Rich render of a full screen, one layout-free refresh, one frame.
    """
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    cols, rows = TERMINAL[0] // 8, TERMINAL[1]

    def screenful(k: int) -> str:
        return "\n".join(" ".join(f"{((r * cols + c + k) % 997 - 498) / 499:+.4f}" for c in range(cols))
                         for r in range(rows))

    class FloorApp(App[None]):
        CSS = "Static { width: 100%; height: 100%; }"

        def __init__(self) -> None:
            super().__init__()
            self.presses = 0

        def compose(self) -> ComposeResult:
            yield Static(screenful(0), markup=False)

        def on_key(self) -> None:
            self.presses += 1
            self.query_one(Static).update(screenful(self.presses))

    return FloorApp()


async def bench_presses(app, samples: int) -> tuple[list[float], list[int]]:
    """CPU ms and frames of each key after a warm-up one, for an app that counts its keys in
    `presses` (the floor, the drawing app), measured like the tutor's keys."""
    async with app.run_test(size=TERMINAL) as pilot:
        clock = BusyClock(asyncio.get_running_loop())
        clock.watch_frames(app)
        await pilot.pause()
        await settle(app, clock)
        cpu: list[float] = []
        frames: list[int] = []
        for k in range(samples + 1):
            before = app.presses
            _, cpu_ms, nframes = await press_timed(app, clock, "right" if k % 2 else "left")
            if app.presses == before:
                raise RuntimeError(f"{type(app).__name__} did not take the key")
            if k:
                cpu.append(cpu_ms)
                frames.append(nframes)
    return cpu, frames


async def bench_floor(samples: int) -> tuple[float, float]:
    """(median, p95) CPU ms per key of the floor app."""
    cpu, frames = await bench_presses(make_floor_app(), samples)
    log(f"  floor: CPU median {statistics.median(cpu):.2f} p95 {nearest_rank(cpu, 0.95):.2f} ms per key, "
        f"frames {min(frames)}-{max(frames)}, n={len(cpu)}")
    return statistics.median(cpu), nearest_rank(cpu, 0.95)


def make_drawing_app(screens: list):
    """The tutor's own screens (rows of Rich Text, captured after word keys) drawn alone, with
    nothing computed: one widget fills the terminal, and each key shows the next screen
    (going back and forth along them, so each key is one word key's change) by drawing
    again only the rows that differ from the screen shown, each row as the tutor's
    `RichLines` draws a line (Rich's `Text.render`, no per-cell selection offsets). What is
    left is drawing the cells that change, and the frame."""
    from rich.segment import Segment
    from textual.app import App, ComposeResult
    from textual.geometry import Region
    from textual.strip import Strip
    from textual.widget import Widget

    order = list(range(len(screens))) + list(range(len(screens) - 2, 0, -1))  # 0 1 .. k .. 1

    class Screenful(Widget):
        DEFAULT_CSS = "Screenful { width: 100%; height: 100%; }"
        rows: list = screens[0]

        def show(self, rows: list) -> None:
            changed = [y for y, (old, new) in enumerate(zip(self.rows, rows))
                       if old.plain != new.plain or old.spans != new.spans]
            self.rows = rows
            self.refresh(*(Region(0, y, self.size.width, 1) for y in changed))

        def render_line(self, y: int) -> Strip:
            if y >= len(self.rows):
                return Strip.blank(self.size.width)
            segments = self.rows[y].render(self.app.console)
            return Strip(list(Segment.apply_style(segments, self.visual_style.rich_style)))

    class DrawingApp(App[None]):
        def __init__(self) -> None:
            super().__init__()
            self.presses = 0

        def compose(self) -> ComposeResult:
            yield Screenful()

        def on_key(self) -> None:
            self.presses += 1
            self.query_one(Screenful).show(screens[order[self.presses % len(order)]])

    return DrawingApp()


async def bench_drawing(screens: list, samples: int) -> float:
    """Median CPU ms per key of `make_drawing_app(screens)`."""
    cpu, _ = await bench_presses(make_drawing_app(screens), samples)
    return statistics.median(cpu)


def rows_changed(screens: list) -> float:
    """Mean number of screen rows that differ (text or style) from the screen before."""
    def differs(a, b) -> bool:
        return a.plain != b.plain or a.spans != b.spans

    pairs = list(zip(screens, screens[1:]))
    return statistics.mean(sum(map(differs, before, after)) for before, after in pairs) if pairs else 0.0


def drawing_ratios(repeats: list[tuple[float, dict]]) -> list[dict]:
    """drawing_ratio figures: drawing a word key's screens alone, over the floor (same repeat)."""
    out = []
    for view, n, d in repeats[0][1]:
        ratios = [drawn[(view, n, d)] / floor for floor, drawn in repeats]
        figure = {"figure": "drawing_ratio", "view": view, "tokens": n, "d_model": d,
                  "median": round(statistics.median(ratios), 2),
                  "rows_changed": round(ROWS_CHANGED[(view, n, d)], 1), "rows": TERMINAL[1]}
        if len(ratios) > 1:
            figure["repeats"] = [round(r, 2) for r in ratios]
        out.append(figure)
    return out


def key_ratios(repeats: list[tuple[float, dict, dict]]) -> list[dict]:
    """key_ratio figures: the tutor's median CPU per key over the floor's, same run, same clock;
    with --repeat, each repeat's ratio against its own floor, and the median of them."""
    out = []
    for combo in repeats[0][1]:
        view, action, n, d = combo
        ratios = [cpu[combo][0] / floor for floor, cpu, _ in repeats]
        frames = [fr[combo] for _, _, fr in repeats]
        figure = {"figure": "key_ratio", "view": view, "action": action, "tokens": n, "d_model": d,
                  "median": round(statistics.median(ratios), 2), "frames_per_key": round(statistics.mean(frames), 2)}
        if len(ratios) > 1:
            figure["repeats"] = [round(r, 2) for r in ratios]
        out.append(figure)
    return out


# ----------------------------------------------------------------------------- subprocess children


def _child_startup(kind: str) -> None:
    """Time to the first frame of a fresh process: 'tutor' or 'bare'. Prints ms."""
    from textual.app import App

    if kind == "tutor":
        from tui_attention.tui.app import AttentionApp

        app = AttentionApp()
    elif kind == "command":  # as `tui-attention` opens it: the command line's imports, parsing, checks
        from tui_attention.cli import parse
        from tui_attention.cli.run import make_app

        app = make_app(parse([]))
    else:
        from textual.app import ComposeResult
        from textual.widgets import Footer, Header

        class BareApp(App[None]):
            def compose(self) -> ComposeResult:
                yield Header()
                yield Footer()

        app = BareApp()

    from textual._compositor import CompositorUpdate

    first: list[float] = []
    display = app._display

    def timed_display(screen, renderable) -> None:
        display(screen, renderable)
        if renderable is not None and not first:
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            first.append(time.perf_counter())

    app._display = timed_display

    async def run() -> None:
        async with app.run_test(size=TERMINAL) as pilot:
            while not first:
                await pilot.pause(0.01)

    asyncio.run(run())
    print(json.dumps({"first_paint_ms": (first[0] - _T0) * 1000.0}))


def _child_rss(n: int, d: int) -> None:
    import resource

    app = make_app(n, d)

    async def run() -> None:
        async with app.run_test(size=TERMINAL) as pilot:
            await pilot.pause()
            for key in ("right", "down", "m", "right", "down", "s"):
                await pilot.press(key)
                await pilot.pause()
            assert app.state.view == "matrix"

    asyncio.run(run())
    hwm = None
    try:  # the same peak, per address space (not inherited from the parent across fork/exec)
        with open("/proc/self/status") as status:
            hwm = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        pass
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "vm_hwm_mb": hwm}))


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *args],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def startup_ratio(rounds: int) -> list[dict]:
    """startup_ratio (the app) and command_startup_ratio (the command line opening it), each a
    median of per-round ratios against the bare app of the same round."""
    kinds = ("tutor", "command", "bare")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for r in range(rounds):
        order = kinds if r % 2 == 0 else kinds[::-1]
        for kind in order:
            times[kind].append(run_child("startup", kind)["first_paint_ms"])
    bare = times["bare"]
    log(f"  startup: tutor first paint median {statistics.median(times['tutor']):.0f} ms "
        f"(min {min(times['tutor']):.0f}), through the command line {statistics.median(times['command']):.0f} ms "
        f"(min {min(times['command']):.0f}), bare Header+Footer median {statistics.median(bare):.0f} ms "
        f"(min {min(bare):.0f}); {rounds} rounds")
    for kind in kinds:
        log(f"    {kind + ' ms:':12} {' '.join(f'{t:.0f}' for t in times[kind])}")
    return [{"figure": name, "value": round(statistics.median(t / b for t, b in zip(times[kind], bare)), 3)}
            for name, kind in (("startup_ratio", "tutor"), ("command_startup_ratio", "command"))]


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=None,
                        help="key_ms samples per combination (default: 40, 40, 40, 25 by size)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure the keys and their floor this many times; key_ratio is the median "
                             "of the repeats' ratios (this machine's speed drifts by tens of percent "
                             "within a minute)")
    parser.add_argument("--startup-rounds", type=int, default=STARTUP_ROUNDS)
    parser.add_argument("--only", choices=("key_ms", "startup_ratio", "peak_rss_mb"), action="append",
                        help="run only these figures (repeatable)")
    parser.add_argument("--size", metavar="NxD", action="append",
                        help="only these sizes (repeatable; default 5x4, 64x64, 512x64, 512x1024)")
    parser.add_argument("--profile", metavar="VIEW:ACTION:NxD",
                        help="cProfile the samples of one combination, print the top functions to stderr")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child[0] == "startup":
            _child_startup(args.child[1])
        else:
            _child_rss(int(args.child[1]), int(args.child[2]))
        return

    if args.profile:
        view, action, size = args.profile.split(":")
        n, d = (int(x) for x in size.lower().split("x"))
        for result in asyncio.run(bench_size(n, d, args.samples or SAMPLES.get((n, d), 20), (view, action))):
            emit(result)
        return

    only = set(args.only or ("key_ms", "startup_ratio", "peak_rss_mb"))
    sizes = [tuple(int(x) for x in size.lower().split("x")) for size in args.size] if args.size else SIZES
    started = time.perf_counter()
    log(f"benchmarks/run.py: terminal {TERMINAL[0]}x{TERMINAL[1]}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    # The subprocesses run first, while this process is small: on Linux a child's ru_maxrss
    # starts from its parent's RSS at fork, and the key_ms apps grow this process.
    later: list[dict] = []
    if "startup_ratio" in only:
        later.extend(startup_ratio(args.startup_rounds))
    if "peak_rss_mb" in only:
        for n, d in sizes:
            child = run_child("rss", str(n), str(d))
            mb, hwm = child["peak_rss_mb"], child["vm_hwm_mb"]
            log(f"  peak_rss_mb {n}x{d}: ru_maxrss {mb:.1f} MiB, VmHWM {hwm if hwm is None else round(hwm, 1)} MiB")
            if hwm is not None and abs(mb - hwm) > 0.1 * hwm:
                log(f"  warning: ru_maxrss and VmHWM differ at {n}x{d}")
            later.append({"figure": "peak_rss_mb", "tokens": n, "d_model": d, "value": round(mb, 1)})
    if "key_ms" in only:
        # The collector settings the tutor's first app makes for its process (infra/collector.py),
        # made before the first floor: the floor and the tutor's keys are then measured under the
        # same settings, and the ratio compares their drawing, not their collectors.
        from tui_attention.infra.collector import settle_start_up

        settle_start_up()
        floor_samples = args.samples or FLOOR_SAMPLES
        repeats: list[tuple[float, dict, dict]] = []
        drawn_repeats: list[tuple[float, dict]] = []
        for repeat in range(args.repeat):
            if args.repeat > 1:
                log(f"repeat {repeat + 1} of {args.repeat}")
            floors: list[float] = []
            CPU_MS.clear()
            FRAMES.clear()
            DRAWN_MS.clear()
            for n, d in sizes:
                # The floor is measured between the sizes too, so that a change of load during
                # the run shifts the floor and the tutor alike.
                floors.append(asyncio.run(bench_floor(floor_samples))[0])
                for result in asyncio.run(bench_size(n, d, args.samples or SAMPLES.get((n, d), 25))):
                    emit(result)
                for view in VIEWS:
                    screens = SCREENS.pop((view, n, d))
                    ROWS_CHANGED[(view, n, d)] = rows_changed(screens)
                    DRAWN_MS[(view, n, d)] = asyncio.run(bench_drawing(screens, floor_samples))
                    log(f"  drawing alone, {view} word screens {n}x{d}: CPU median {DRAWN_MS[(view, n, d)]:.2f} ms; "
                        f"a word key changed {ROWS_CHANGED[(view, n, d)]:.1f} of {TERMINAL[1]} rows")
            floors.append(asyncio.run(bench_floor(floor_samples))[0])
            floor = statistics.median(floors)
            log(f"  floor CPU per key: median of {len(floors)} runs {floor:.2f} ms "
                f"({' '.join(f'{f:.2f}' for f in floors)})")
            emit({"figure": "floor_ms", "median": round(floor, 2)})
            repeats.append((floor, dict(CPU_MS), dict(FRAMES)))
            drawn_repeats.append((floor, dict(DRAWN_MS)))
        for result in key_ratios(repeats):
            emit(result)
        for result in drawing_ratios(drawn_repeats):
            emit(result)
    for result in later:
        emit(result)
    log(f"wall time {time.perf_counter() - started:.1f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
