"""One frame per key: the step-through draws its panes for the widths the layout gives them, in
the frame the key causes, and draws no second frame after it."""

import asyncio

import pytest

from tui_attention.core import Overrides
from tui_attention.steps.state import TutorState
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.screens.walkthrough import WalkthroughView
from tui_attention.tui.widgets.narration import NarrationPane
from tui_attention.tui.widgets.results import ResultsPane
from tui_attention.tui.widgets.tokens import TokensPane
from tui_attention.tui.widgets.vectors import VectorsPane

from tests.support.tui_helpers import quiet

LONG = Overrides(sentence=" ".join(f"w{i}" for i in range(64)), d_model=64)


def count_frames(app) -> list[int]:
    """A counter of the frames the app sends to the terminal from now on."""
    frames = [0]
    display = app._display

    def counted(screen, renderable) -> None:
        display(screen, renderable)
        if renderable is not None:
            frames[0] += 1

    app._display = counted
    return frames


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (81, 24), (100, 30), (120, 40), (131, 41)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("overrides", [Overrides(), LONG], ids=["notebook", "64 words"])
async def test_vectors_and_results_are_drawn_for_the_width_they_get(size, overrides):
    """The width the view foresees for each pane is the width the layout then gives it, on
    every step (the panes stack at 64 words), with and without a lesson beside them."""
    app = AttentionApp(TutorState(overrides=overrides))
    async with app.run_test(size=size) as pilot:
        await quiet(app, pilot)
        view = app.query_one(WalkthroughView)
        checked = 0
        for lesson in (False, True):
            if lesson:
                app.tutor.open_lesson(2, 0)
                await quiet(app, pilot)
            for k in range(9):
                app.state.step = k
                app.tutor.refresh_view()
                await quiet(app, pilot)
                if app.state.view != "walkthrough":
                    continue
                plan = view.plan(app.state)
                left, results = view.columns(app.state.current)
                vectors_w, results_w = view.pane_widths(plan, left, results)
                vectors, results_pane = app.query_one(VectorsPane), app.query_one(ResultsPane)
                if vectors.display and left:
                    assert vectors.content_size.width == vectors_w, (k, lesson)
                    checked += 1
                if results_pane.display and results:
                    assert results_pane.content_size.width == results_w, (k, lesson)
                    checked += 1
        assert checked >= 9


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("overrides", [Overrides(), LONG], ids=["notebook", "64 words"])
async def test_a_step_or_word_key_draws_one_frame(size, overrides):
    """Each of n, p, down and up draws exactly one frame, through every step of a word."""
    app = AttentionApp(TutorState(overrides=overrides))
    async with app.run_test(size=size) as pilot:
        await quiet(app, pilot)
        frames = count_frames(app)
        counts = {}
        for key in ["n"] * 8 + ["down", "down", "up"] + ["p"] * 8:
            before = frames[0]
            await pilot.press(key)
            await quiet(app, pilot)
            await asyncio.sleep(0.05)  # an after-refresh callback's frame would come by now
            await quiet(app, pilot)
            counts.setdefault(key, []).append(frames[0] - before)
        assert all(c == [1] * len(c) for c in counts.values()), counts


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("overrides", [Overrides(), LONG], ids=["notebook", "64 words"])
async def test_matrix_keys_and_switches_draw_one_frame(size, overrides):
    """In the matrix view (after each step's first visit, which builds its grids) a step or word
    key draws one frame; so does a switch (s, c) in either view, its notice included."""
    app = AttentionApp(TutorState(overrides=overrides))
    async with app.run_test(size=size) as pilot:
        await quiet(app, pilot)
        frames = count_frames(app)
        counts = {}

        async def press(key: str, record: bool = True) -> None:
            before = frames[0]
            await pilot.press(key)
            await quiet(app, pilot)
            await asyncio.sleep(0.05)
            await quiet(app, pilot)
            if record:
                counts.setdefault(f"{app.state.view} {key}", []).append(frames[0] - before)

        for key in ["s", "s", "c", "c"]:
            app.clear_notifications()
            await press(key)
        await press("m", record=False)
        for _ in range(len(app.state.matrix_steps)):  # every step's first visit, not counted
            await press("n", record=False)
        for key in ["p"] * 6 + ["down", "down", "up"] + ["n"] * 6:
            await press(key)
        for key in ["s", "s"]:
            app.clear_notifications()
            await press(key)
        assert all(c == [1] * len(c) for c in counts.values()), counts


async def test_going_back_shows_the_same_panes_without_building_them_again(monkeypatch):
    """A pane shown what it showed a few keys ago shows that drawing again (no table is built or
    drawn), and what it shows is what it showed then; a switch that changes the numbers is
    built anew, not recalled."""
    import tui_attention.tui.widgets.results as results_module
    from tests.support.tui_helpers import on_screen_text

    built = [0]
    text_table = results_module.text_table

    def counted(*args, **kwargs):
        built[0] += 1
        return text_table(*args, **kwargs)

    monkeypatch.setattr(results_module, "text_table", counted)
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await quiet(app, pilot)
        seen = {}
        while True:
            seen[app.state.step] = on_screen_text(app)
            if app.state.step == len(app.state.steps) - 1:
                break
            await pilot.press("right")
            await quiet(app, pilot)
        first_pass = built[0]
        assert first_pass > 0
        while app.state.step > 0:
            await pilot.press("left")
            await quiet(app, pilot)
            assert on_screen_text(app) == seen[app.state.step], app.state.step
        assert built[0] == first_pass
        while app.state.step < len(app.state.steps) - 1:
            await pilot.press("right")
            await quiet(app, pilot)
        await pilot.press("s")  # scaling: the scores the Results show change
        await quiet(app, pilot)
        assert built[0] > first_pass
        assert on_screen_text(app)[1:] != seen[app.state.step][1:]


given: list[tuple[str, str]] = []  # (widget class, "kept" or "retitled") of each check_kept_lines check


def check_kept_lines(monkeypatch) -> list[int]:
    """Every time a pane, container or scrollbar gives lines it kept (`KeptLines.render_lines`),
    or a container its kept lines with its titles drawn again, they must be the lines Textual
    draws for it at that moment. Returns [lines asked for, given from a kept drawing], and
    lists each in `given`; mismatches fail at once, naming the widget."""
    given.clear()
    from textual.widget import Widget

    from tui_attention.tui.widgets import kept_lines

    counts = [0, 0]
    kept = kept_lines.KeptLines.render_lines

    def compared(self, crop):
        looks = self._looks
        look = self._look(crop)
        was_kept = looks is not None and look is not None and looks.get(look[1]) is not None
        got = kept(self, crop)
        drawn = Widget.render_lines(self, crop)
        assert [list(s) for s in got] == [list(s) for s in drawn], (type(self).__name__, self.id, crop)
        counts[0] += 1
        counts[1] += was_kept
        if was_kept:
            given.append((type(self).__name__, "kept"))
        return got

    retitled = kept_lines.KeptLines._retitled

    def counted(self, crop, lines):
        given.append((type(self).__name__, "retitled"))
        return retitled(self, crop, lines)

    monkeypatch.setattr(kept_lines.KeptLines, "render_lines", compared)
    monkeypatch.setattr(kept_lines.KeptLines, "_retitled", counted)
    return counts


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_kept_lines_are_the_lines_textual_draws(monkeypatch, size):
    """Lines given again from a kept drawing equal a fresh drawing, through each thing that
    changes a widget's look but not its text, one at a time, each followed by keys back over
    steps drawn before it: a pane's inline style, the background beneath the panes, a CSS rule
    that a class brings, the text colour the panes inherit, a theme, a resize, a lesson
    beside the panes, the matrix view and back."""
    counts = check_kept_lines(monkeypatch)
    app = AttentionApp()
    async with app.run_test(size=size) as pilot:

        async def keys(*names: str) -> None:
            for name in names:
                await pilot.press(name)
                await quiet(app, pilot)

        def checked_css() -> None:
            app.stylesheet.add_source("NarrationPane.-checked { border: double green; }",
                                      read_from=("test_one_frame", ""))
            app.refresh_css(animate=False)
            app.query_one(NarrationPane).add_class("-checked")

        def screen_style(**rules) -> None:
            for name, value in rules.items():
                setattr(app.screen.styles, name, value)

        changes = [
            lambda: setattr(app.query_one(TokensPane).styles, "border", ("heavy", "red")),
            lambda: screen_style(background="darkred"),
            checked_css,
            lambda: screen_style(color="yellow"),
            lambda: setattr(app, "theme", "textual-light"),
            lambda: app.tutor.open_lesson(2, 0),
        ]
        await quiet(app, pilot)
        await keys(*["right"] * 4, *["left"] * 4, "down", "up")  # steps 0-4 of words 1 and 2 drawn
        for change in changes:
            change()
            await quiet(app, pilot)
            await keys("right", "right", "down", "up", "left", "left")
        await pilot.resize_terminal(size[0] + 7, size[1] + 3)
        await quiet(app, pilot)
        await keys("right", "left", "m", "right", "left", "m", "left")
    assert counts[1] > 20, counts  # kept lines were given, and each was checked


async def test_going_back_draws_no_pane_again(monkeypatch):
    """Stepping back over steps already shown gives the panes' kept lines: no pane's text is
    drawn again (Visual.to_strips), only the status line's, whose counter changes."""
    from textual.visual import Visual

    from tui_attention.tui.widgets.one_frame import OneFrame

    drawn: list[str] = []
    to_strips = Visual.to_strips.__func__

    def counted(cls, widget, *args, **kwargs):
        drawn.append(type(widget).__name__ if isinstance(widget, OneFrame) else "other")
        return to_strips(cls, widget, *args, **kwargs)

    monkeypatch.setattr(Visual, "to_strips", classmethod(counted))
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await quiet(app, pilot)
        for key in ["right"] * 6 + ["left"] * 6:
            await pilot.press(key)
            await quiet(app, pilot)
        first = [name for name in drawn if name != "other"]
        assert len(first) > 10  # the first pass draws the panes
        drawn.clear()
        for key in ["right"] * 6 + ["left"] * 6:
            await pilot.press(key)
            await quiet(app, pilot)
        assert [name for name in drawn if name != "other"] == []


@pytest.mark.parametrize("seed", [0, 1])
async def test_kept_lines_are_the_lines_textual_draws_through_random_keys(monkeypatch, seed):
    """The same check through a seeded random walk of keys (steps, words, both views, switches,
    decimals, heads, a lesson, help) with resizes between them."""
    import random

    counts = check_kept_lines(monkeypatch)
    keys = ["right"] * 6 + ["left"] * 4 + ["down", "up", "m", "s", "c", "w", "H", "t", "g", "plus", "minus",
                                           "pagedown", "pageup", "L", "right_square_bracket", "left_square_bracket",
                                           "1", "2", "escape", "end", "home", "question_mark", "escape"]
    rnd = random.Random(seed)
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await quiet(app, pilot)
        for k in range(60):
            await pilot.press(rnd.choice(keys))
            if k % 20 == 19:
                await pilot.resize_terminal(*rnd.choice([(80, 24), (120, 40), (100, 30)]))
            await quiet(app, pilot)
    assert counts[1] > 20, counts


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_kept_scrollbars_and_retitled_boxes_are_the_lines_textual_draws(monkeypatch, size):
    """At 64 words each matrix grid scrolls to the new word and moves its scrollbars: going back
    over words gives the bars' kept lines. A step or word key changes the step-through box's
    subtitle: only its top and bottom rows are drawn again. Both equal a fresh drawing."""
    from collections import Counter

    counts = check_kept_lines(monkeypatch)
    app = AttentionApp(TutorState(overrides=LONG))
    async with app.run_test(size=size) as pilot:
        await quiet(app, pilot)
        for key in ["right", "down", "down", "down", "down", "down", "up", "up", "right", "left",
                    "m", "n", "down", "down", "down", "up", "up", "down", "down"]:
            await pilot.press(key)
            await quiet(app, pilot)
    seen = Counter(given)
    assert seen[("KeptScrollBar", "kept")] > 5, seen
    assert seen[("NarrationPane", "retitled")] >= 5, seen
    assert counts[1] > 20, counts


@pytest.mark.parametrize("kind", ["qkv", "softmax"])
async def test_a_switch_draws_again_only_the_grids_whose_numbers_change(kind):
    """At 64 words in the matrix view, a scale switch keeps the lines of every grid whose array
    the new trace shares with the old (X, the weights, Q, K, V, S), in the scene shown and in
    the scenes of the other steps when they are shown again, and draws the others again; every
    step then shows what a tutor that switched once shows, and no scene keeps an array of a
    trace that is gone."""
    import gc
    import weakref

    from tests.support.tui_helpers import matrix_step, on_screen_text
    from tui_attention.core.tensors import tensor
    from tui_attention.tui.widgets.matrix_grid import MatrixGrid

    def arrays(trace) -> list:
        return [trace.E, trace.P, trace.X, *(getattr(h, f) for h in trace.heads for f in vars(h))]

    async def keys(app, pilot, *names) -> None:
        for name in names:
            await pilot.press(name)
            await quiet(app, pilot)

    kinds = ["x", "qkv", "qkt", "scale", "mask", "softmax"]
    back = len(kinds) - 1 - kinds.index(kind)
    screens = {}
    app = AttentionApp(TutorState(overrides=LONG))
    async with app.run_test(size=(120, 40)) as pilot:
        view = await matrix_step(pilot, app, "x")
        await keys(app, pilot, "down", *["n"] * (len(kinds) - 1), *["p"] * back)  # every scene built at word 2
        first = arrays(app.state.trace)
        await keys(app, pilot, "s", "s")
        old = app.state.trace
        drawn = {id(g): g.lines_rendered for g in view.query(MatrixGrid)}
        await keys(app, pilot, "s")
        new = app.state.trace

        def of(g, trace):
            return tensor(g.key).of(trace, app.state.head if g.head is None else g.head)

        shared = {id(g): of(g, old) is of(g, new) for g in view.query(MatrixGrid)}
        gone = [weakref.ref(a) for a in first + arrays(old) if not any(a is b for b in arrays(new))]
        del first, old
        gc.collect()
        assert gone and all(ref() is None for ref in gone)  # the hidden scenes let them go
        seen = {True: 0, False: 0}
        for step in [kind, *[k for k in kinds if k != kind]]:
            await matrix_step(pilot, app, step)
            await quiet(app, pilot)
            for g in view.query(MatrixGrid):
                if g.display and g.is_on_screen and id(g) in drawn:  # (not a scene first built now)
                    assert (g.lines_rendered == drawn[id(g)]) == shared[id(g)], (step, g.key)
                    seen[shared[id(g)]] += 1
            screens[step] = on_screen_text(app)
        assert seen[True] >= 7 and seen[False] >= 3, seen  # kept: X, W, Q, K, V, S; drawn again: A and more

    fresh = AttentionApp(TutorState(overrides=LONG))
    async with fresh.run_test(size=(120, 40)) as pilot:
        await matrix_step(pilot, fresh, kind)
        await keys(fresh, pilot, "down", "s")
        for step in screens:
            await matrix_step(pilot, fresh, step)
            await quiet(fresh, pilot)
            assert on_screen_text(fresh) == screens[step], step


async def test_a_kept_scrollbar_is_drawn_again_for_new_content_or_colours(monkeypatch):
    """A bar shown again at a position it had gives its kept lines, but not after the content
    grew (a shorter thumb at the same position) or the bar took its hover colours: every bar's
    lines equal Textual's fresh drawing."""
    from collections import Counter

    from textual.app import App
    from textual.containers import VerticalScroll
    from textual.widgets import Static

    from tui_attention.tui.widgets.kept_lines import KeptScrollBars

    class Box(KeptScrollBars, VerticalScroll):
        DEFAULT_CSS = "Box { height: 10; scrollbar-color-hover: yellow; scrollbar-background-hover: blue; }"

    class BoxApp(App):
        def compose(self):
            yield Box(Static("\n".join(map(str, range(40))), id="text"))

    counts = check_kept_lines(monkeypatch)
    app = BoxApp()
    async with app.run_test(size=(40, 20)) as pilot:
        box = app.query_one(Box)

        async def at(*ys: int) -> None:
            for y in ys:
                box.scroll_to(y=y, animate=False, immediate=True)
                await quiet(app, pilot)

        await at(0, 6, 12, 6, 0)
        bars = Counter(given)[("KeptScrollBar", "kept")]
        assert bars >= 2, given  # positions drawn before: the kept lines
        app.query_one("#text").update("\n".join(map(str, range(90))))  # the same positions, a shorter thumb
        await quiet(app, pilot)
        await at(6, 12, 0)
        box.vertical_scrollbar.mouse_over = True  # the same positions, the hover colours
        await quiet(app, pilot)
        await at(6, 0)
        assert Counter(given)[("KeptScrollBar", "kept")] > bars  # kept lines given again since
    assert counts[0] > 10


async def test_fewer_heads_after_every_heads_scene_is_built():
    """A hidden scene that showed each of four heads' Z (the concatenation) meets a trace of one
    head, then two: nothing fails, and every step shows what a tutor that changed its heads
    before building any scene shows."""
    from tests.support.tui_helpers import matrix_step, on_screen_text

    kinds = ["concat", "w_o", "av", "qkv"]

    async def screens(app, pilot, keys: list[str]) -> dict:
        for key in keys:
            await pilot.press(key)
            await quiet(app, pilot)
        out = {}
        for kind in [k for k in kinds if k in [s.kind for s in app.state.matrix_steps]]:  # (one head: no concat)
            await matrix_step(pilot, app, kind)
            await quiet(app, pilot)
            out[kind] = on_screen_text(app)
        return out

    app = AttentionApp(TutorState(overrides=Overrides(heads=4)))
    async with app.run_test(size=(120, 40)) as pilot:
        await quiet(app, pilot)
        await screens(app, pilot, ["m"])  # every head's scene built
        one = await screens(app, pilot, ["H"])
        assert app.state.config.heads == 1
        two = await screens(app, pilot, ["H"])
        assert app.state.config.heads == 2
    for keys, want in ((["m", "H"], one), (["m", "H", "H"], two)):
        fresh = AttentionApp(TutorState(overrides=Overrides(heads=4)))
        async with fresh.run_test(size=(120, 40)) as pilot:
            await quiet(fresh, pilot)
            assert await screens(fresh, pilot, keys) == want
