"""The learn view, driven by Pilot at 80x24: opening it, training by steps and in play,
speed, tasks, reset, the gradient equations, and using the trained weights in the tutor.
Every number checked here is recomputed from the core (core.learning), never typed in."""

import re
import time

import numpy as np

from tui_attention.core import build_config, compute
from tui_attention.core import learning
from tui_attention.core.scenario import Overrides, load_scenario
from tui_attention.steps.learning import SPEEDS, STAGE_KINDS
from tui_attention.steps.state import TutorState
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.screens.learn import GRADIENT_DECIMALS, TICK, LearnScreen
from tui_attention.tui.widgets.matrix_grid import MatrixGrid

from tui_helpers import text_of

SIZE = (80, 24)


def status(app) -> str:
    return text_of(app.screen.query_one("#learn-status"))


def heat(app) -> np.ndarray:
    return app.screen.query_one("#learn-attention", MatrixGrid).values


UNITS = re.compile(r"^(\S+) \(×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)\)$")


def shown_grids(app) -> dict[str, np.ndarray]:
    """Each gradient grid shown, by name, in the units of the core: a grid titled "dW_q (×10⁻⁴)"
    shows each number divided by 10⁻⁴."""
    out = {}
    for g in app.screen.query_one("#learn-grids").query(MatrixGrid):
        if g.display:
            name, values = g.label, g.values
            if (units := UNITS.match(g.label)) is not None:
                name = units[1]
                values = values * 10.0 ** int(units[2].translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
            out[name] = values
    return out


async def open_learn(pilot, app):
    await pilot.press("T")
    await pilot.pause()
    assert isinstance(app.screen, LearnScreen)
    return app.screen


async def test_T_opens_the_learn_view_on_the_scenarios_own_attention():
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        assert "learn reverse · step 0" in status(app) and "paused" in status(app)
        # Step 0 is the notebook's own head: the same A as the tutor's trace.
        assert np.allclose(heat(app), compute(build_config(None)).heads[0].weights)
        grid = screen.query_one("#learn-attention", MatrixGrid)
        assert grid.marked == frozenset({(0, 4), (1, 3), (2, 2), (3, 1), (4, 0)})  # the anti-diagonal
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LearnScreen)
        assert app.state.config.training is None  # closing keeps the tutor's numbers


async def test_period_takes_one_step_with_the_cores_numbers():
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_learn(pilot, app)
        await pilot.press(".", ".", ".")
        await pilot.pause()
        setup = learning.make_setup(build_config(None), "reverse")
        state = learning.train(setup, 3)
        assert "step 3" in status(app)
        assert np.array_equal(heat(app), learning.sentence_pass(setup, state.params)[1].A[0])
        screen = app.screen
        assert len(screen.session.measured) == 521  # every 6th of the 3 125 sequences
        loss, acc = learning.evaluate(setup, state.params, screen.session.measured)
        assert f"accuracy {acc:.1%}" in status(app)


async def test_space_plays_keys_stay_responsive_and_space_pauses():
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        await pilot.press("plus", "plus", "plus")  # 10 -> 100 steps a second
        assert screen.session.steps_per_second == SPEEDS[6]
        redraws, started = screen.redraws, time.monotonic()
        await pilot.press("space")
        await pilot.pause(1.0)
        elapsed = time.monotonic() - started  # a loaded machine stretches the pause
        assert screen.session.state.step > 0 and "playing" in status(app)
        # At most one redraw per tick while playing (a late tick is skipped, not caught up), not
        # one per step: 100 steps a second here.
        assert screen.redraws - redraws <= elapsed / TICK + 4
        await pilot.press("right")  # a key while training runs is handled at once
        await pilot.pause()
        assert screen.session.stage == 1
        await pilot.press("space")
        await pilot.pause()
        stopped = screen.session.state.step
        await pilot.pause(0.4)
        assert screen.session.state.step == stopped and "paused" in status(app)
        await pilot.press("minus")
        assert screen.session.steps_per_second == SPEEDS[5]


async def test_training_in_play_sharpens_the_anti_diagonal():
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        for _ in range(5):
            await pilot.press("plus")  # 500 steps a second (as many as the tick's budget allows)
        await pilot.press("space")
        for _ in range(40):
            await pilot.pause(0.25)
            if screen.session.state.step >= 300:
                break
        await pilot.press("space")
        await pilot.pause()
        a = heat(app)
        assert [int(row.argmax()) for row in a] == [4, 3, 2, 1, 0]
        assert min(a[i, 4 - i] for i in range(5)) >= 0.8
        assert "✗" not in text_of(screen.query_one("#learn-predictions"))


async def test_tasks_reset_and_the_causal_mask():
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        await pilot.press(".", "2")
        await pilot.pause()
        assert screen.session.task == "previous" and screen.session.state.step == 0
        assert screen.session.setup.config.mask == "causal"
        assert np.all(np.triu(heat(app), k=1) == 0.0)  # no word sees a later one
        grid = screen.query_one("#learn-attention", MatrixGrid)
        assert grid.marked == frozenset({(1, 0), (2, 1), (3, 2), (4, 3)})
        # The title says the mask is in the formula; the legend of * stays whole beneath it.
        assert str(grid.border_title).startswith("A = softmax(Q Kᵀ + M)")
        assert str(grid.border_subtitle) == "* the task's cell"
        await pilot.press("3", ".", ".", "r")
        await pilot.pause()
        assert screen.session.task == "first" and screen.session.state.step == 0
        assert "learn first · step 0" in status(app)


async def test_the_task_keys_announce_each_task_in_a_notice_and_keep_running():
    """1, 2 and 3 reset to a task and say what it asks, in a toast (drawn: notifications on)."""
    from textual.widgets._toast import Toast

    from tui_attention.steps.learning import TASK_PATTERNS

    app = AttentionApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_learn(pilot, app)
        for key, task in (("2", "previous"), ("3", "first"), ("1", "reverse")):
            await pilot.press(key)
            await pilot.pause()
            await pilot.pause()
            assert app.is_running and app.return_code is None and screen.session.task == task
            toasts = " ".join(str(t.render()) for t in app.screen.query(Toast))
            assert TASK_PATTERNS[task].split(": ")[1].split(" (")[0] in toasts, toasts


async def test_the_gradient_equations_show_the_cores_backward_pass():
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        await pilot.press(*["."] * 20)
        await pilot.pause()
        setup = learning.make_setup(build_config(None), "reverse")
        _, fwd, grads = learning.sentence_pass(setup, learning.train(setup, 20).params)
        expected = {"d_logits": ("dY", grads.d_logits[0]), "d_a": ("dA", grads.A[0]), "d_v": ("dV", grads.V[0]),
                    "d_s": ("dS", grads.S_masked[0]), "d_q": ("dQ", grads.Q[0]), "d_k": ("dK", grads.K[0]),
                    "d_w": ("dW_q", grads.W_q), "d_e": ("dE", grads.E)}
        gradient = screen.query_one("#learn-gradient")
        for k, kind in enumerate(STAGE_KINDS):
            assert screen.session.stage == k
            assert f"gradient {k + 1}/{len(STAGE_KINDS)}" in str(gradient.border_subtitle)
            if kind in expected:
                name, values = expected[kind]
                assert np.allclose(shown_grids(app)[name], values, atol=0, rtol=1e-12), kind
            narration = text_of(screen.query_one("#learn-narration"))
            assert narration.strip() and narration.count("\n") <= 3  # a line or two, never a page
            await pilot.press("right")
            await pilot.pause()
        assert screen.session.stage == len(STAGE_KINDS) - 1  # stays on the last
        assert str(gradient.border_title).startswith("dX = dQ W_qᵀ")
        await pilot.press("left")
        await pilot.pause()
        assert str(gradient.border_title) == "dW_q = Xᵀ dQ   dW_k = Xᵀ dK   dW_v = Xᵀ dV"


async def test_use_these_weights_returns_to_the_step_through_with_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        screen.session.advance(399)
        await pilot.press(".", "u")
        await pilot.pause()
        assert not isinstance(app.screen, LearnScreen)
        s = app.state
        assert s.config.training["task"] == "reverse" and s.config.training["steps"] == 400
        assert "reverse @400" in text_of(app.query_one("#status"))  # "trained: reverse @ step 400", short at 80 columns
        assert (s.view, s.word, s.current.kind) == ("walkthrough", 0, "softmax")
        # 'me' attends to 'artificial' with weight >= 0.8, in the tutor's own trace.
        assert s.trace.heads[0].weights[0, 4] >= 0.8
        setup = learning.make_setup(build_config(None), "reverse")
        assert np.array_equal(s.trace.heads[0].W_q, learning.train(setup, 400).params["W_q"])
        # Every step works as before, and a switch keeps the trained weights.
        await pilot.press("right", "m", "s")
        await pilot.pause()
        assert s.view == "matrix" and s.config.scale == "sqrt_dk" and s.config.training is not None
        # ctrl+s saves them, [training] table included.
        await pilot.press("ctrl+s")
        app.screen.query_one("#prompt-input").value = str(tmp_path / "mine.toml")
        await pilot.press("enter")
        await pilot.pause()
    saved = load_scenario(tmp_path / "mine.toml")
    assert saved.training["task"] == "reverse" and saved.training["steps"] == 400
    assert np.array_equal(saved.weights["w_q"], s.config.weights["w_q"])


async def test_learn_option_opens_the_view_on_a_task_and_the_palette_lists_its_keys():
    app = AttentionApp(start_learn="first")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LearnScreen) and app.screen.session.task == "first"
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Play / pause training", "Use these weights in the tutor", "Reset training to step 0"} <= titles
        assert "Next" not in titles  # the tutor's keys are not the learn view's


async def test_a_lesson_holds_the_numbers_so_T_is_refused():
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        app.tutor.open_lesson(0, 0)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("T")
        await pilot.pause()
        assert not isinstance(app.screen, LearnScreen)


async def test_leaving_the_learn_view_keeps_its_run_for_the_same_scenario():
    app = AttentionApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_learn(pilot, app)
        await pilot.press("2", ".", ".", ".")  # the previous-word task, three steps
        await pilot.pause()
        assert (screen.session.task, screen.session.state.step) == ("previous", 3)
        await pilot.press("escape")
        await pilot.pause()
        again = await open_learn(pilot, app)
        assert again is not screen and again.session is screen.session  # where it was left
        assert (again.session.task, again.session.state.step) == ("previous", 3)
        assert any("step 3 of previous" in n.message for n in app._notifications)
        await pilot.press("escape", "s")  # another scenario (scaled): a run of its own, from step 0
        await pilot.pause()
        other = await open_learn(pilot, app)
        assert other.session is not screen.session and other.session.state.step == 0


async def test_a_task_a_sentence_cannot_learn_is_refused_in_a_notice(tmp_path, monkeypatch):
    # Audit: a one-word sentence, T, then 2 (the previous word) ended the tutor with ConfigError.
    app = AttentionApp(TutorState(overrides=Overrides(sentence="a")))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_learn(pilot, app)
        await pilot.press("2")
        await pilot.pause()
        assert app.screen is screen and screen.session.task == "reverse"  # the run as it was
        assert any("nothing to learn" in n.message for n in app._notifications)
        await pilot.press(".")  # and it still trains
        await pilot.pause()
        assert screen.session.state.step == 1


async def test_weights_trained_past_what_a_scenario_holds_are_refused_in_a_notice(tmp_path, monkeypatch):
    # Audit: a cell edited to -1e6 (allowed), then T . u: one Adam step moved it past ±1e6, and
    # u ended the tutor with ConfigError, the edits lost.
    monkeypatch.chdir(tmp_path)
    app = AttentionApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.state.edit_cell("W_q", 2, 0, -1e6)
        screen = await open_learn(pilot, app)
        await pilot.press(".", "u")
        await pilot.pause()
        assert app.screen is screen  # still in the learn view, the tutor running
        assert any("cannot be used" in n.message and "1e+06" in n.message for n in app._notifications)
        await pilot.press("escape")
        await pilot.pause()
        assert ("W_q", 2, 0) in app.state.edited  # the edit is kept


def test_small_gradients_show_in_units_of_a_power_of_ten():
    from tui_attention.tui.screens.learn import in_units

    values = np.array([[8.8e-4, -2.0e-5], [0.0, -np.inf]])
    shown, title = in_units(values, "dW_q")
    assert title == "dW_q (×10⁻⁴)"
    assert np.allclose(shown[np.isfinite(values)] * 1e-4, values[np.isfinite(values)], rtol=1e-12)
    assert abs(shown[0, 0]) >= 1  # the largest reads d.ddd, not +0.001
    assert in_units(np.array([[0.5, -0.01]]), "dA")[1] == "dA"  # large enough as it is
    assert in_units(np.array([[0.0, 0.0]]), "dS")[1] == "dS"  # nothing to scale
    assert in_units(np.array([[0.02, 0.01]]), "A", heat=True)[1] == "A"  # weights stay weights
    assert in_units(np.array([[0.033]]), "dZ")[1] == "dZ (×10⁻²)"


async def test_at_80x24_every_gradient_grid_is_whole_readable_or_named():
    # Audit: at 80x24 dW_v was drawn cut off at the box's edge, and every gradient read ±0.000.
    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        box = screen.query_one("#learn-gradient")
        for k, kind in enumerate(STAGE_KINDS):
            stage = screen.session.stages()[k]
            grids = [g for g in screen.query_one("#learn-grids").query(MatrixGrid) if g.display]
            assert grids
            for g in grids:
                assert g.region.right <= box.region.right - 1, (kind, g.label)  # inside the box's border
                finite = np.abs(g.values[np.isfinite(g.values)])
                if finite.size and finite.max() > 0 and not g.heat:
                    assert finite.max() >= 10 ** -GRADIENT_DECIMALS * 100, (kind, g.label)  # shows digits
            names = {UNITS.match(g.label)[1] if UNITS.match(g.label) else g.label for g in grids}
            missing = {m.title for m in (*stage.writes, *stage.reads)} - names
            subtitle = str(box.border_subtitle)
            for name in missing:
                assert name in subtitle.split(" not shown")[0], (kind, name, subtitle)
            if not missing:
                assert "not shown" not in subtitle, (kind, subtitle)
            await pilot.press("right")
            await pilot.pause()


async def test_the_footer_shows_the_way_back_and_every_learn_key_whole_at_80x24():
    # Audit: the footer ended "→ Next gradient e▏^p palette": the way back was never on it.
    from tui_attention.tui.bindings import LEARN_KEYS

    app = AttentionApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_learn(pilot, app)
        await pilot.pause()
        footer = "".join(seg.text for seg in app.screen._compositor.render_strips()[-1] if not seg.control)
        assert footer.split()[:2] == ["esc", "Back"]
        for key in LEARN_KEYS:
            if key.footer:
                assert f" {key.binding().description} " in f" {footer} ", (key.id, footer)
        assert footer.rstrip().endswith("q Quit"), footer


async def test_a_long_sentence_s_attention_grid_stays_on_screen_at_80x24():
    # New-user audit: with seven words at 80x24 the grid lost its last column and right border.
    app = AttentionApp(TutorState(overrides=Overrides(sentence="the cat sat on the mat now")))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        await pilot.pause()
        grid = screen.query_one("#learn-attention", MatrixGrid)
        assert grid.region.right <= SIZE[0]
        assert screen.query_one("#learn-curve").region.width >= 24


async def test_a_served_learn_view_redraws_at_most_every_served_redraw_while_playing(tmp_path):
    # Slow-link audit: ten redraws a second sent 88 KB/s at 80x24 to each attendee playing.
    from tui_attention.infra.served import Served
    from tui_attention.tui.screens.learn import SERVED_REDRAW

    app = AttentionApp(served=Served(root=tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learn(pilot, app)
        await pilot.press("plus", "plus", "plus")
        redraws, started = screen.redraws, time.monotonic()
        await pilot.press("space")
        await pilot.pause(1.6)
        elapsed = time.monotonic() - started
        steps = screen.session.state.step
        assert steps > 20  # training keeps its pace: 50 steps a second (the served top), drawn in fewer frames
        assert screen.redraws - redraws <= elapsed / SERVED_REDRAW + 3, (screen.redraws - redraws, elapsed)
        await pilot.press("space")  # paused: the last steps are drawn and measured
        await pilot.pause()
        assert f"step {screen.session.state.step}" in status(app)
        assert screen.session.steps_at[-1] == screen.session.state.step


async def test_a_served_learn_view_trains_at_most_served_fastest_steps_a_second(tmp_path):
    # Security audit: served, one attendee playing at 500 steps a second took 15 % of a core
    # until the idle timeout, with no key pressed.
    from tui_attention.infra.served import Served
    from tui_attention.tui.screens.learn import SERVED_FASTEST

    for served, top in ((Served(root=tmp_path), SERVED_FASTEST), (None, SPEEDS[-1])):
        app = AttentionApp(served=served)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_learn(pilot, app)
            await pilot.press(*["plus"] * len(SPEEDS))
            await pilot.pause()
            assert screen.session.steps_per_second == top
            said = [n.message for n in app._notifications]
            assert any("At most 50 steps a second" in m for m in said) == (served is not None), said
