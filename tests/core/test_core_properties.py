"""Property tests (hypothesis) of softmax, masking, and the per-word / matrix agreement."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tui_attention.core import Config, compute
from tui_attention.core.attention import apply_mask, causal_mask, softmax
from tui_attention.steps import word_steps

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
score_matrices = st.integers(1, 8).flatmap(lambda n: arrays(np.float64, (n, n), elements=finite))


@given(score_matrices)
def test_rows_sum_to_one_and_no_nan(s):
    a = softmax(s)
    assert not np.isnan(a).any()
    assert np.allclose(a.sum(axis=1), 1.0)
    assert (a >= 0).all()


@given(score_matrices)
def test_masked_cells_are_exactly_zero(s):
    m = causal_mask(s.shape[0])
    a = softmax(apply_mask(s, m))
    assert (a[m] == 0.0).all()
    assert np.allclose(a.sum(axis=1), 1.0)


@given(score_matrices, st.floats(-1e3, 1e3, allow_nan=False))
def test_invariant_to_adding_a_constant_per_row_and_input_unchanged(s, c):
    before = s.copy()
    a = softmax(s)
    assert np.array_equal(s, before)
    assert np.allclose(softmax(s + c), a, atol=1e-9)


@given(st.lists(st.sampled_from([1e4, -1e4, 0.0, 5e3]), min_size=1, max_size=6))
def test_extreme_logits_do_not_overflow(row):
    a = softmax(np.array([row]))
    assert np.isfinite(a).all() and abs(a.sum() - 1) < 1e-12


words = st.sampled_from(["me", "gusta", "la", "ñandú", "猫", "🙂", "IA", "x"])


@settings(max_examples=40, deadline=None)
@given(
    tokens=st.lists(words, min_size=1, max_size=7),
    seed=st.integers(0, 2**32 - 1),
    d_model=st.integers(1, 8),
    d_k=st.integers(1, 5),
    heads=st.sampled_from([1, 2, 3]),
    scale=st.sampled_from(["none", "sqrt_dk"]),
    mask=st.sampled_from(["none", "causal"]),
    weight_scale=st.sampled_from([0.1, 1.0, 3.0]),
)
def test_matrix_row_i_equals_per_word_result(tokens, seed, d_model, d_k, heads, scale, mask, weight_scale):
    cfg = Config(tokens=tuple(tokens), seed=seed, d_model=d_model, d_k=d_k, d_v=d_k, heads=heads,
                 scale=scale, mask=mask, weight_scale=weight_scale)
    t = compute(cfg)
    for h, head in enumerate(t.heads):
        assert np.allclose(head.weights.sum(axis=1), 1.0)
        for i in range(t.n):
            # The per-word computation, written as the notebook writes it: one query against every key.
            q_i = t.X[i] @ head.W_q
            s_i = np.array([q_i @ (t.X[j] @ head.W_k) for j in range(t.n)])
            if scale == "sqrt_dk":
                s_i = s_i / np.sqrt(d_k)
            if mask == "causal":
                s_i[i + 1:] = -np.inf
            e = np.exp(s_i - s_i.max())
            alpha = e / e.sum()
            z_i = sum(alpha[j] * (t.X[j] @ head.W_v) for j in range(t.n))
            assert np.allclose(head.weights[i], alpha)
            assert np.allclose(head.output[i], z_i)
            if mask == "causal":
                assert (head.weights[i, i + 1:] == 0.0).all()
    # The walkthrough states the same per-word output as the matrix form.
    last = word_steps(t, t.n - 1)[-1]
    assert last.kind == "output" and last.writes[0].row == t.n - 1
