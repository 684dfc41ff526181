"""Behaviour of the step-through and the matrix view, driven by Pilot."""

import json

import numpy as np
import pytest

from tui_attention.cli import main as cli_main
from tui_attention.core import Overrides, build_config, compute
from tui_attention.steps.notation import fmt, fmt_vector
from tui_attention.steps.state import TutorState
from tui_attention.tui.app import AttentionApp
from tui_attention.tui.bindings import every_key
from tui_attention.tui.screens.tutor import TutorScreen
from tui_attention.tui.screens.help import HelpScreen

from tui_helpers import matrix_step, panes, text_of

NOTEBOOK = compute(build_config(None))


def trace_json(capsys, *args):
    assert cli_main(["trace", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


async def test_first_screen_is_word_1_step_1():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)):
        assert (app.state.word, app.state.step, app.state.view) == (0, 0, "walkthrough")
        shown = panes(app)
        assert "word 1/5 · step 1/9 · notebook" in shown["status"]
        assert "[1 me]" in shown["tokens"]
        assert fmt_vector(NOTEBOOK.X[0]) in shown["narration"]
        for value in NOTEBOOK.X[0]:
            assert fmt(value) in shown["vectors"]


@pytest.mark.parametrize("keys,step", [(("right",), 1), (("l",), 1), (("n",), 1), (("end",), 8),
                                       (("end", "left"), 7), (("end", "h"), 7), (("end", "p"), 7),
                                       (("end", "home"), 0), (("left",), 0), (("end", "right"), 8)])
async def test_step_keys(keys, step):
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*keys)
        assert app.state.step == step
        assert f"step {step + 1}/9" in text_of(app.query_one("#status"))


@pytest.mark.parametrize("keys,word", [(("down",), 1), (("j",), 1), (("down", "down", "up"), 1),
                                       (("j", "k"), 0), (("up",), 0), (("down",) * 9, 4)])
async def test_word_keys(keys, word):
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*keys)
        assert app.state.word == word


async def test_word_and_step_changes_update_every_pane():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        head = NOTEBOOK.heads[0]
        await pilot.press("right")  # query step of word 1
        shown = panes(app)
        assert fmt_vector(head.Q[0]) in shown["narration"]
        assert all(fmt(v) in shown["weights"] for v in head.W_q[0])
        await pilot.press("down")  # word 2, same step
        shown = panes(app)
        assert "[2 gusta]" in shown["tokens"]
        assert " ".join(fmt(v) for v in head.Q[1]) in shown["vectors"]
        assert " ".join(fmt(v) for v in NOTEBOOK.X[1]) in shown["vectors"]
        assert "gusta" in shown["narration"] and fmt_vector(head.Q[1]) in shown["narration"]
        assert all(fmt(v) in shown["weights"] for v in head.W_q[3])
        assert "word 2: 'gusta'" in app.query_one("#results").border_subtitle
        await pilot.press("end")  # output of word 2
        shown = panes(app)
        for j in range(5):
            assert fmt(head.scores[1, j]) in shown["results"]
            assert fmt(head.weights[1, j]) in shown["results"]
        assert fmt_vector(head.output[1]) in shown["results"]
        assert fmt_vector(head.output[1]) in shown["narration"]
        assert "step 9/9" in shown["status"]


async def test_results_fill_in_as_the_steps_reach_them():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        head = NOTEBOOK.heads[0]
        assert fmt(head.weights[0, 0]) not in panes(app)["results"]
        await pilot.press(*["right"] * 4)
        assert fmt(head.scores[0, 3]) in panes(app)["results"]
        assert fmt(head.weights[0, 3]) not in panes(app)["results"]
        await pilot.press(*["right"] * 3)
        assert fmt(head.weights[0, 3]) in panes(app)["results"]


async def test_similarity_formula_is_written_out():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["right"] * 4)
        narration = panes(app)["narration"]
        # factors read from earlier steps at one more decimal than the result (4 by default)
        head = NOTEBOOK.heads[0]
        terms = " + ".join(f"({q:+.5f})({k:+.5f})" for q, k in zip(head.Q[0], head.K[1]))
        assert terms == "(-0.11592)(+0.04520) + (-0.00890)(-0.00448) + (-0.08074)(+0.28487)"
        assert f"q₁·k₂ = {terms} = {head.scores[0, 1]:+.4f}" in narration


async def test_help_opens_and_closes_with_escape_or_question_mark():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = text_of(app.screen.query_one("#help-keys"))
        for key in every_key():
            assert key.id in keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app._exit or not app.is_running


def test_every_binding_has_an_id_and_a_description():
    ids = [k.id for k in every_key()]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(k.description for k in every_key())
    escape_only = [k for k in every_key() if k.keys.strip() == "escape"]
    assert not escape_only


def test_every_binding_names_a_key_a_terminal_sends():
    # Textual names a key by what its driver sends: "." arrives as "full_stop", so a binding to
    # "period" never fires (it did not: . took no training step and left no lesson).
    from textual.keys import Keys, _character_to_key

    from tui_attention.tui.bindings import LEARN_KEYS

    from tui_attention.tui.bindings import is_key_name

    names = {k.value for k in Keys} | {_character_to_key(chr(c)) for c in range(32, 127)}
    unknown = [(key.id, name) for key in (*every_key(), *LEARN_KEYS) for name in key.keys.split(",")
               if name.split("+")[-1] not in names]
    assert not unknown
    # The check the keymap file and screenshot --press make agrees.
    assert all(is_key_name(name) for key in (*every_key(), *LEARN_KEYS) for name in key.keys.split(","))
    assert not any(map(is_key_name, ["period", "nosuchkey", "ctrl+", "hyperdrive+a", ""]))


@pytest.mark.parametrize("key,options", [
    ("s", ["--scale", "sqrt_dk"]),
    ("c", ["--mask", "causal"]),
    ("w", ["--weight-scale", "1"]),
    ("H", ["--heads", "2"]),
])
async def test_each_switch_matches_trace_with_the_same_option(key, options, capsys):
    expected = trace_json(capsys, *options)
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.state.trace.heads[0].weights.copy()
        await pilot.press(key)
        for h, head in enumerate(app.state.trace.heads):
            assert np.allclose(head.weights, expected["heads"][h]["weights"], rtol=0, atol=1e-15)
        if key == "H":  # more heads: head 1 and the inputs stay, a second head is added
            assert len(app.state.trace.heads) == 2 and np.array_equal(app.state.trace.heads[0].weights, before)
        else:
            assert not np.allclose(app.state.trace.heads[0].weights, before)
        await pilot.press("m")
        assert app.state.view == "matrix"
        view = await matrix_step(pilot, app, "softmax")
        assert np.array_equal(view.grid("A").values, app.state.trace.heads[0].weights)


async def test_switches_work_in_both_views_and_carry_across():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("down", "end", "m")
        assert app.state.view == "matrix" and app.state.word == 1
        assert app.state.current_matrix.kind == "av"
        await pilot.press("s", "c")
        assert (app.state.config.scale, app.state.config.mask) == ("sqrt_dk", "causal")
        await pilot.pause()
        assert app.query_one("MatrixView").grid("A").values[0, 1] == 0.0
        await pilot.press("m")
        assert app.state.view == "walkthrough" and app.state.current.kind == "output" and app.state.word == 1
        results = panes(app)["results"]
        assert "s/√d+M" in results and "-inf" in results


async def test_weight_scale_cycles_and_softmax_saturates():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        spreads = []
        for _ in range(3):
            spreads.append(np.ptp(app.state.trace.heads[0].weights[0]))
            await pilot.press("w")
        assert app.state.config.weight_scale == 0.1
        assert spreads[0] < spreads[1] < spreads[2]


async def test_heads_cycle_over_divisors_of_d_model():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        seen = []
        for _ in range(3):
            await pilot.press("H")
            seen.append(app.state.config.heads)
        assert seen == [2, 4, 1]


async def test_decimals_plus_minus():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("plus")
        assert app.state.decimals == 5
        assert fmt(NOTEBOOK.X[0, 0], 5) in panes(app)["narration"]
        await pilot.press(*["minus"] * 10)
        assert app.state.decimals == 2
        await pilot.press(*["plus"] * 10)
        assert app.state.decimals == 8


async def test_matrix_view_shows_the_notebook_alphas_and_the_check():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await matrix_step(pilot, app, "av")
        a = view.grid("A")
        assert round(a.values[0, 0], 4) == 0.1981
        assert np.array_equal(view.grid("Z").values, NOTEBOOK.attention)
        check = text_of(app.query_one("#matrix-narration"))
        assert fmt_vector(NOTEBOOK.attention[0]) in check and "largest difference" in check
        for gid in ("A", "V", "Z"):
            assert view.grid(gid).highlight_row == 0
        await pilot.press("down", "down")
        for gid in ("A", "V", "Z"):
            assert view.grid(gid).highlight_row == 2
        assert "row 3 of A V" in text_of(app.query_one("#matrix-narration"))
        view = await matrix_step(pilot, app, "qkv")
        for gid in ("X", "Q", "K", "V"):
            assert view.grid(gid).highlight_row == 2
        assert view.grid("W_q").highlight_row is None


async def test_matrix_steps_move_and_mark_the_matrices_they_use():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m", "home")
        view = app.query_one("MatrixView")
        assert view.active_grids() == {"E", "P", "X"}
        await pilot.press("right", "right")
        assert app.state.current_matrix.kind == "qkt"
        assert view.active_grids() == {"Q", "K", "S"}
        await pilot.press("end")
        assert app.state.current_matrix.kind == "add_norm_2"


async def test_enlarge_message_below_60x20_and_recovery():
    app = AttentionApp()
    async with app.run_test(size=(59, 20)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-too-small")
        assert app.query_one("#enlarge").display and not app.query_one("#body").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not app.screen.has_class("-too-small")
        assert app.query_one("#body").display


async def test_behind_the_enlarge_message_only_q_acts():
    # Audit: at 20x8 the arrows, m and e still worked behind the message: the learner came back
    # to another word, view or an open prompt that nothing on screen had shown.
    app = AttentionApp()
    async with app.run_test(size=(20, 8)) as pilot:
        await pilot.pause()
        before = (app.state.word, app.state.step, app.state.view)
        screens = len(app.screen_stack)
        await pilot.press("right", "down", "m", "e", "L", "question_mark", "enter")
        await pilot.pause()
        assert (app.state.word, app.state.step, app.state.view) == before
        assert len(app.screen_stack) == screens
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        assert app.state.step == before[1] + 1  # enlarged, the keys work again
        await pilot.resize_terminal(20, 8)
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code is not None or not app.is_running


async def test_in_a_browser_the_enlarge_message_speaks_of_the_window(monkeypatch):
    # Audit: a small browser window said "enlarge the terminal" to someone with no terminal.
    monkeypatch.setattr(AttentionApp, "is_web", property(lambda app: True))
    app = AttentionApp()
    async with app.run_test(size=(59, 20)) as pilot:
        await pilot.pause()
        text = str(app.query_one("#enlarge").render())
        assert "window larger, or zoom out" in text and "60x20" in text and "terminal" not in text


async def test_command_palette_runs_an_action():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Mask")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.config.mask == "causal"


async def test_command_palette_lists_every_action_that_can_run_now():
    app = AttentionApp()
    lesson_only = ("choose(", "answer", "hint")
    async with app.run_test(size=(80, 24)):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for key in every_key():
            if key.action == "command_palette":
                continue
            listed = key.description in titles
            assert listed == (not key.action.startswith(lesson_only)), key.id
        app.tutor.open_lesson(4, 2)  # a choice question: its answer keys are listed now
        await app.workers.wait_for_complete()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Answer choice 1" in titles and "Answer choice 9" not in titles


async def test_command_palette_names_keys_as_the_footer_does():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)):
        helps = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert helps["Help"] == "tutor.help  (?, f1)"  # not Textual's names, "question_mark,f1"
        assert helps["Next"] == "tutor.next_step  (n, →, l)"


async def test_state_changed_messages_follow_the_keys():
    seen = []
    app = AttentionApp()

    def hook(message):
        if isinstance(message, TutorScreen.StateChanged):
            seen.append(message.snapshot)

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await pilot.press("right", "down")
        await pilot.pause()
    assert seen[-1]["word"] == 1 and seen[-1]["step"] == 1


async def test_own_sentence_form_validates_as_you_type():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        form = app.screen
        form.query_one("#form-d_model").value = "0"
        await pilot.pause()
        assert "d_model: must be between 1 and 1024" in text_of(form.query_one("#form-error"))
        await pilot.press("enter")
        assert app.screen is form  # nothing changed
        # Words counted as on screen, from 1 (new-user audit: "tokens[7]" for the eighth word).
        form.query_one("#form-d_model").value = "4"
        form.query_one("#form-sentence").value = "a b c d e f g " + "x" * 70
        await pilot.pause()
        assert text_of(form.query_one("#form-error")).startswith("word 8: longer than")
        seed = form.query_one("#form-seed").value
        form.query_one("#form-seed").value = "x" * 500
        await pilot.pause()
        assert len(text_of(form.query_one("#form-error"))) < 200  # the value shown cut, not whole
        form.query_one("#form-seed").value = seed
        assert app.state.config.d_model == 4
        form.query_one("#form-d_model").value = "6"
        form.query_one("#form-sentence").value = "el gato come pescado"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.config.tokens == ("el", "gato", "come", "pescado") and app.state.config.d_model == 6
        expected = compute(build_config(None, Overrides(sentence="el gato come pescado", d_model=6)))
        assert np.array_equal(app.state.trace.attention, expected.attention)


async def test_editing_a_weight_changes_attention_in_both_views():
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await matrix_step(pilot, app, "qkv")
        grid = view.grid("W_q")
        grid.focus()
        await pilot.pause()
        before = app.state.trace.heads[0].weights.copy()
        await pilot.press("enter")
        await pilot.pause()
        prompt = app.screen
        prompt.query_one("#prompt-input").value = "2.5"
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.config.weights["w_q"][0, 0] == 2.5
        assert ("W_q", 0, 0) in app.state.edited
        assert not np.allclose(app.state.trace.heads[0].weights, before)
        assert (0, 0) in view.grid("W_q").marked
        view = await matrix_step(pilot, app, "softmax")
        assert np.array_equal(view.grid("A").values, app.state.trace.heads[0].weights)
        await matrix_step(pilot, app, "qkv")
        await pilot.press("escape", "m")
        assert app.state.view == "walkthrough"
        assert "+2.5000*" in panes(app)["weights"]
        assert fmt(app.state.trace.heads[0].Q[0, 0]) in panes(app)["narration"]


async def test_0_asks_before_it_throws_edited_cells_away():
    from tui_attention.tui.screens.lessons import ConfirmScreen

    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.state.edit_cell("W_q", 0, 0, 2.5)
        app.tutor.refresh_view()
        await pilot.press("0")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "1 edited cell" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert app.state.edited and app.state.config.weights["w_q"][0, 0] == 2.5  # kept
        await pilot.press("0")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not app.state.edited and app.state.source() == "notebook"
        await pilot.press("0")  # nothing edited: no question
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)


async def test_quitting_asks_before_it_throws_edited_cells_away():
    # Audit: q and ctrl+q quit with edited cells, which 0 and e ask about, and lost them.
    from tui_attention.tui.screens.lessons import ConfirmScreen

    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.state.edit_cell("W_q", 0, 0, 2.5)
        app.tutor.refresh_view()
        for key in ("q", "ctrl+q"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen) and "Quit? Your 1 edited cell" in app.screen.question
            await pilot.press("n")
            await pilot.pause()
            assert app.is_running and app.state.edited
        app.tutor.open_lesson(0, 0)  # a lesson keeps the edits aside: they are still at stake
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "escape leaves the lesson, then ctrl+s" in app.screen.question
        await pilot.press("q")  # a second quit key on the question quits
        await pilot.pause()
        assert not app.is_running


async def test_quitting_with_nothing_edited_asks_nothing():
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_e_asks_before_its_scenario_replaces_edited_cells():
    from tui_attention.tui.screens.lessons import ConfirmScreen

    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.state.edit_cell("W_q", 0, 0, 2.5)
        app.tutor.refresh_view()
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")  # Apply, the form as it is
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "1 edited cell" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert app.state.edited and app.state.config.weights["w_q"][0, 0] == 2.5  # kept
        assert app.state.source() == "edited"
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not app.state.edited and app.state.source() == "seeded"


async def test_head_keys_cycle_the_head_shown_and_lay_heads_side_by_side():

    app = AttentionApp(TutorState(overrides=Overrides(heads=2)))
    async with app.run_test(size=(120, 40)) as pilot:
        view = await matrix_step(pilot, app, "softmax")
        assert np.array_equal(view.grid("A").values, app.state.trace.heads[0].weights)
        await pilot.press("t")
        assert app.state.head == 1
        assert np.array_equal(view.grid("A").values, app.state.trace.heads[1].weights)
        assert "(head 2/2)" in view.grid("A").border_title
        await pilot.press("g")
        await pilot.pause()
        side = app.query("#heads-strip MatrixGrid")
        assert len(side) == 2
        for k, grid in enumerate(side):
            assert np.array_equal(grid.values, app.state.trace.heads[k].weights)
        await pilot.press("g")
        await pilot.pause()
        assert not app.query_one("MatrixView").has_class("-all-heads")
        await pilot.press("t")
        assert app.state.head == 0


async def test_page_keys_scroll_the_narration_and_the_focused_matrix():
    sentence = " ".join(f"w{i}" for i in range(60))

    app = AttentionApp(TutorState(overrides=Overrides(sentence=sentence)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*["right"] * 4)
        narration = app.query_one("#narration")

        def lines() -> str:
            return text_of(narration.query_one("#narration-text"))

        first = lines()
        assert "q₁·k₁ =" in first and "q₁·k₃₀ =" not in first
        assert "pgdn/pgup" in narration.border_subtitle
        await pilot.press("pagedown")
        assert lines() != first and "q₁·k₁ =" not in lines()
        await pilot.press("pageup")
        assert lines() == first
        view = await matrix_step(pilot, app, "softmax")
        grid = view.grid("S")
        grid.focus()
        await pilot.pause()
        await pilot.press("pagedown")
        assert grid.scroll_y > 0
        await pilot.press("escape")
        assert app.focused is None
        before = app.state.matrix_step
        await pilot.press("right")
        assert app.state.matrix_step == before + 1


async def test_save_then_load_gives_the_same_trace(tmp_path, monkeypatch):

    monkeypatch.chdir(tmp_path)
    app = AttentionApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.state.edit_cell("E", 1, 2, -1.5)
        app.state.edit_cell("W_v", 0, 1, 0.75)
        app.tutor.refresh_view()
        await pilot.press("ctrl+s")
        app.screen.query_one("#prompt-input").value = str(tmp_path / "mine.toml")
        await pilot.press("enter")
        await pilot.pause()
        edited = app.state.trace
    loaded = TutorState(scenario=tmp_path / "mine.toml")
    assert loaded.config.same_as(edited.config)
    assert np.array_equal(loaded.trace.block.norm_2, edited.block.norm_2)
    assert loaded.trace.E[1, 2] == -1.5 and loaded.trace.heads[0].W_v[0, 1] == 0.75


async def test_export_key_writes_every_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = AttentionApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        for name in ("out.npz", "out.md", "out.py", "csvdir"):
            await pilot.press("x")
            app.screen.query_one("#prompt-input").value = name
            await pilot.press("enter")
            await pilot.pause()
            # The whole path: a name alone did not say which folder (new-user audit).
            assert any(str(tmp_path / name) in n.message for n in app._notifications), name
        await pilot.press("ctrl+s")
        app.screen.query_one("#prompt-input").value = "mine.toml"
        await pilot.press("enter")
        await pilot.pause()
        assert any(f"--scenario {tmp_path / 'mine.toml'}" in n.message for n in app._notifications)
    data = np.load(tmp_path / "out.npz")
    assert np.array_equal(data["heads.0.weights"], NOTEBOOK.heads[0].weights)
    assert "0.1981" in (tmp_path / "out.md").read_text()
    assert (tmp_path / "out.py").read_text().startswith(("#", '"""', "import"))
    assert any((tmp_path / "csvdir").iterdir())


@pytest.mark.parametrize("key, name, why", [
    ("x", "no/such/dir/out.md", "does not exist"),
    ("x", "notes.txt", "ends in .txt"),  # else a folder of CSV files named notes.txt
    # New-user audit: ctrl+s wrote TOML into x.json; train --out and export refuse such names.
    ("ctrl+s", "x.json", "ends in .toml"),
    ("ctrl+s", "scenario", "ends in .toml"),
    ("ctrl+s", "notes.TXT", "ends in .toml"),
])
async def test_export_and_save_prompts_reject_a_name_they_cannot_use(tmp_path, monkeypatch, key, name, why):
    monkeypatch.chdir(tmp_path)
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key)
        prompt = app.screen
        prompt.query_one("#prompt-input").value = name
        await pilot.pause()
        assert why in text_of(prompt.query_one("#prompt-error"))
        await pilot.press("enter")
        assert app.screen is prompt
        await pilot.press("ctrl+g")
        assert app.screen is not prompt
    assert list(tmp_path.iterdir()) == []


def keymap_file(monkeypatch, tmp_path, text: str) -> None:
    """A keymap file with `text`, where the app looks for it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "tui-attention").mkdir()
    (tmp_path / "tui-attention" / "keymap.toml").write_text(text)


async def test_keymap_file_remaps_a_binding(monkeypatch, tmp_path):
    keymap_file(monkeypatch, tmp_path, '"tutor.toggle_view" = "v"\n')
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")
        assert app.state.view == "matrix"


async def test_bad_keymap_file_is_ignored_with_a_notice(monkeypatch, tmp_path):
    keymap_file(monkeypatch, tmp_path, '"tutor.no_such" = "v"\n')
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        assert app.state.view == "matrix"
        assert any("unknown binding id" in n.message for n in app._notifications)


async def test_a_keymap_key_no_terminal_sends_is_refused_with_a_notice(monkeypatch, tmp_path):
    keymap_file(monkeypatch, tmp_path, '"tutor.toggle_view" = "v,period"\n')
    app = AttentionApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")  # the whole file is ignored: m keeps its key
        assert app.state.view == "matrix"
        assert any("'period' (tutor.toggle_view) is not a key name" in n.message for n in app._notifications)


async def test_matrix_view_keeps_the_query_row_in_view_for_a_long_sentence():
    sentence = " ".join(f"w{i}" for i in range(128))
    app = AttentionApp(TutorState(overrides=Overrides(sentence=sentence)))
    async with app.run_test(size=(120, 40)) as pilot:
        app.state.word = 63
        view = await matrix_step(pilot, app, "av")
        for gid in ("A", "V", "Z"):
            grid = view.grid(gid)
            assert grid.highlight_row == 63
            top = grid.scroll_offset.y
            assert top <= 63 < top + grid.scrollable_content_region.height - 1, gid
        assert "Check: row 64 of A V" in text_of(app.query_one("#matrix-narration"))


async def test_matrix_grids_move_only_when_the_word_would_leave_its_rows():
    """Word by word down a long sentence, a grid's rows stay put while the word's row has two
    rows beside it in view, and then re-centre on it (not a scroll at every word)."""
    sentence = " ".join(f"w{i}" for i in range(64))
    app = AttentionApp(TutorState(overrides=Overrides(sentence=sentence)))
    async with app.run_test(size=(120, 40)) as pilot:
        view = await matrix_step(pilot, app, "av")
        grids = [view.grid(gid) for gid in ("A", "V", "Z")]
        shown = {id(g): g.scrollable_content_region.height - 1 for g in grids}
        assert min(shown.values()) >= 7, shown  # room for the word and two rows on either side
        tops = {id(g): [g.scroll_offset.y] for g in grids}
        for word in range(1, 30):
            await pilot.press("down")
            await pilot.pause()
            assert app.state.word == word
            for g in grids:
                top, rows = g.scroll_offset.y, shown[id(g)]
                assert top + min(2, word) <= word <= top + rows - 3, (g.border_title, word, top)
                if top != tops[id(g)][-1]:
                    assert top == word - (rows - 1) // 2, (g.border_title, word, top)  # re-centred
                tops[id(g)].append(top)
        for g in grids:
            moves = sum(a != b for a, b in zip(tops[id(g)], tops[id(g)][1:]))
            # Scrolling at every word would move the rows about 25 times in 29 words.
            assert moves <= 29 // ((shown[id(g)] - 1) // 2 - 2 + 1) + 1, (g.border_title, tops[id(g)])


async def test_scaled_and_masked_scores_are_labelled_in_the_matrix_view():
    app = AttentionApp(TutorState(overrides=Overrides(scale="sqrt_dk", mask="causal")))
    async with app.run_test(size=(120, 40)) as pilot:
        view = await matrix_step(pilot, app, "qkt")
        raw = view.grid("S")
        assert raw.border_title.startswith("S = Q Kᵀ ") and raw.values[0, 1] > float("-inf")
        view = await matrix_step(pilot, app, "scale")
        assert [g.border_title.split("  ")[0] for g in view.scene.grids] == ["S = Q Kᵀ", "S = Q Kᵀ/√d_k"]
        view = await matrix_step(pilot, app, "softmax")
        s = view.grid("S")
        assert s.border_title.startswith("S = Q Kᵀ/√d_k, masked")
        assert s.values[0, 1] == float("-inf") and view.grid("A").values[0, 1] == 0.0
