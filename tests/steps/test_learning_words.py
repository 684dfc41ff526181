"""What the learn view's gradient stages say: each gradient whose cells round to ±0 late in
training gives its size, and the last stage says that the gradient on screen is the sentence's
alone, while a training step averages a batch and Adam follows a running average."""

from tui_attention.core import build_config, learning
from tui_attention.steps.learning import _biggest, stages


def test_each_gradient_stage_gives_its_largest_size_and_the_last_says_what_training_does():
    setup = learning.make_setup(build_config(None), "reverse")
    params = learning.train(setup, 300).params
    _, _, g = learning.sentence_pass(setup, params)
    by_kind = {s.kind: s.narration for s in stages(setup, params, 300)}
    for kind, name, values in (("d_w_out", "dW_out", g.W_out), ("d_z", "dZ", g.Z), ("d_v", "dV", g.V),
                               ("d_q", "dQ", g.Q), ("d_k", "dK", g.K), ("d_w", "dW_q", g.W_q)):
        assert f"largest |{name}| {_biggest(values)}" in by_kind[kind], kind
    last = by_kind["d_e"]
    assert "this sentence alone" in last and f"averages {setup.batch} random sequences" in last
    assert "running average" in last and "(step 300)" in last


def test_the_output_gradient_says_which_way_z_moves():
    # dZ = ∂loss/∂Z: gradient descent moves z against it, not along it.
    setup = learning.make_setup(build_config(None), "reverse")
    text = next(s.narration for s in stages(setup, learning.train(setup, 5).params, 5) if s.kind == "d_z")
    assert "move against dz_i" in text and "should move:" not in text


def test_the_attention_formula_names_the_scaling_and_the_mask_in_use():
    from tui_attention.steps.labels import attention_label

    c = build_config(None)
    assert attention_label(c) == "A = softmax(Q Kᵀ)"
    assert attention_label(c.replace(mask="causal")) == "A = softmax(Q Kᵀ + M)"
    assert attention_label(c.replace(scale="sqrt_dk", mask="causal")) == "A = softmax(Q Kᵀ/√d_k + M)"


def test_the_mask_and_scale_stage_names_only_what_the_scenario_has():
    # An ML review: the reverse task with √d_k said "dS ← mask(dS) / √d_k" and "Back through the
    # mask and the scale", with no mask at all.
    expected = {("none", "none"): ("dS unchanged", "No mask and no scaling here"),
                ("none", "sqrt_dk"): ("dS = dS″ / √d_k", "Back through the scale, from dS″"),
                ("causal", "none"): ("dS = mask(dS″)", "Back through the mask, from dS″"),
                ("causal", "sqrt_dk"): ("dS = mask(dS″) / √d_k", "Back through the mask and the scale, from dS″")}
    for (mask, scale), (title, start) in expected.items():
        task = "reverse" if mask == "none" else "previous"
        setup = learning.make_setup(build_config(None).replace(mask=mask, scale=scale), task)
        stage = next(s for s in stages(setup, learning.initial_state(setup).params, 0) if s.kind == "mask_scale")
        assert stage.title == title and stage.narration.startswith(start), (mask, scale, stage.narration)
        assert ("mask" in stage.narration) == (mask == "causal" or scale == "none")
        assert ("√d_k" in stage.narration) == (scale == "sqrt_dk")


def test_the_worked_output_gradient_re_adds_and_is_never_minus_zero():
    from tui_attention.steps.notation import fmt, significant

    setup = learning.make_setup(build_config(None), "reverse")
    target = int(learning.task_targets("reverse", learning.sentence_tokens(setup))[0][0])
    for step, readds in ((0, True), (300, False)):
        params = learning.train(setup, step).params
        _, fwd, g = learning.sentence_pass(setup, params)
        p, d = fwd.probs[0, 0, target], g.d_logits[0, 0, target]
        text = next(s for s in stages(setup, params, step) if s.kind == "d_logits").narration
        shown_d = fmt(d) if step == 0 else significant(d)  # late: -1.0e-07, not -0.0000
        assert f"p = {fmt(p, 5)}, so dY = ({fmt(p, 5)} - 1)/5 = {shown_d}" in text, text
        assert "-0.0000" not in text and "−" not in text  # one minus sign, the one the numbers print
        assert ("from unrounded values" not in text) == readds  # p shows +1.00000 late: it cannot re-add
        assert "every other column of that row gets its own p/5." in text  # every word has a target
    previous = learning.make_setup(build_config(None), "previous")
    text = stages(previous, learning.initial_state(previous).params, 0)[0].narration
    assert "word 2's target is 'me'" in text and "p/4; a position without a target (word 1 here) gets 0." in text


def test_the_softmax_of_the_logits_is_not_called_P_which_is_the_positions():
    setup = learning.make_setup(build_config(None), "reverse")
    every = stages(setup, learning.initial_state(setup).params, 0)
    titles = [grid.title for s in every for grid in (*s.reads, *s.writes)]
    assert "p = softmax(Y)" in titles and not any(t.startswith("P ") for t in titles)
    assert "X = E + P, and P is fixed" in every[-1].narration


def test_the_status_line_fits_80_columns_and_always_says_playing_or_paused():
    # ML audit: at 80 columns, once the loss was printed in e-notation, "playing" was cut off.
    from tui_attention.steps.learning import LearnSession

    session = LearnSession(build_config(None), "previous")
    session.advance(300)
    session.measure()
    for playing in (True, False):
        wide = session.status(playing)
        assert "steps/s" in wide and "accuracy" in wide and len(wide) > 80  # the case that was cut
        line = session.status(playing, 80)
        assert len(line) <= 80 and line.endswith("playing" if playing else "paused")
        assert f"step {session.state.step}" in line and "loss" in line


def test_one_name_is_one_matrix_and_each_stage_shows_every_matrix_its_formula_names():
    # ML audit: with √d_k the softmax stage wrote "dS" and the next stage wrote another "dS",
    # √d_k times smaller; dW_q = Xᵀ dQ did not list dQ, and dX = dQ W_qᵀ + ... listed no W.
    import re

    import numpy as np

    for mask, scale in (("none", "none"), ("none", "sqrt_dk"), ("causal", "none"), ("causal", "sqrt_dk")):
        task = "reverse" if mask == "none" else "previous"
        setup = learning.make_setup(build_config(None).replace(mask=mask, scale=scale), task)
        params = learning.train(setup, 20).params
        seen: dict[str, np.ndarray] = {}
        for stage in stages(setup, params, 20):
            grids = {g.title.split(" = ")[0]: g.values for g in (*stage.reads, *stage.writes)}
            for name, values in grids.items():
                assert np.array_equal(seen.setdefault(name, values), values), (mask, scale, stage.kind, name)
            if stage.kind in ("mask_scale",) and stage.title == "dS unchanged":
                continue
            named = set(re.findall(r"d?(?:W_[a-z]+|[A-Z])″?", stage.title)) - {"N", "P"}
            named -= {"Xᵀ"}  # (not a match: ᵀ is not part of a name)
            assert named <= set(grids) | {"Y"} or stage.kind == "d_logits", (mask, scale, stage.kind, named - set(grids))
