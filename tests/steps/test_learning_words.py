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
