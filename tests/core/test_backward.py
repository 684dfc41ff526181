"""The hand-written backward pass against central finite differences (float64).

Every parameter gradient of `loss_and_grads`, and every intermediate gradient of the
chain (dY, dZ, dA, dV, dS'', dS', dS, dQ, dK, dX), is compared with
(L(t + h) - L(t - h)) / 2h, one coordinate at a time, over random shapes, both
scalings, both masks, all three kinds of positions and seeds.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_attention.core import Config
from tui_attention.core import backward as bw
from tui_attention.core import learning as L

H = 1e-5
REL = 1e-6
# An exactly zero gradient (W_q with one word: a softmax of one cell is 1 whatever its
# score) has no scale to be relative to; there the difference must be rounding alone.
ABS_FLOOR = 1e-9


def rel_err(numeric: np.ndarray, analytic: np.ndarray) -> float:
    scale = max(np.linalg.norm(numeric), np.linalg.norm(analytic))
    diff = np.linalg.norm(numeric - analytic)
    return 0.0 if diff <= ABS_FLOOR else diff / scale


def numeric_grad(f, x: np.ndarray) -> np.ndarray:
    """Central differences of the scalar f at x, one coordinate at a time."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        if not np.isfinite(x[idx]):
            continue  # a masked cell (-inf): the loss does not depend on it
        old = x[idx]
        x[idx] = old + H
        up = f(x)
        x[idx] = old - H
        down = f(x)
        x[idx] = old
        g[idx] = (up - down) / (2 * H)
    return g


@st.composite
def problems(draw):
    b = draw(st.integers(1, 3))
    n = draw(st.integers(1, 5))
    d_model = draw(st.integers(1, 5))
    d_k = draw(st.integers(1, 4))
    d_v = draw(st.integers(1, 4))
    vocab = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from(["none", "sqrt_dk"]))
    mask = draw(st.sampled_from(["none", "causal"]))
    kind = draw(st.sampled_from(["table", "sinusoidal", "none"]))
    rng = np.random.default_rng(seed)
    positions = rng.standard_normal((n, d_model)) if kind == "table" else None
    config = Config(tokens=tuple(f"w{i}" for i in range(n)), d_model=d_model, d_k=d_k, d_v=d_v,
                    scale=scale, mask=mask, positions_kind=kind, positions=positions)
    params = {"E": rng.standard_normal((vocab, d_model)), "W_q": rng.standard_normal((d_model, d_k)),
              "W_k": rng.standard_normal((d_model, d_k)), "W_v": rng.standard_normal((d_model, d_v)),
              "W_out": rng.standard_normal((d_v, vocab))}
    tokens = rng.integers(0, vocab, size=(b, n))
    targets = rng.integers(-1, vocab, size=(b, n))
    targets[0, rng.integers(0, n)] = rng.integers(0, vocab)  # at least one target
    return params, tokens, targets, config


@settings(max_examples=60, deadline=None)
@given(problems())
def test_every_parameter_gradient_matches_finite_differences(problem):
    params, tokens, targets, config = problem
    loss, grads = L.loss_and_grads(params, tokens, targets, config)
    assert set(grads) == set(params)
    for name, p in params.items():
        assert grads[name].shape == p.shape

        def f(value, name=name):
            return L.loss_and_grads({**params, name: value}, tokens, targets, config)[0]

        numeric = numeric_grad(f, p.copy())
        assert rel_err(numeric, grads[name]) <= REL, name


def _loss_from(stage: str, value: np.ndarray, params, tokens, targets, config, fwd) -> float:
    """The loss recomputed from one intermediate onwards, the others held at fwd's values."""
    mask = L.mask_of(config)
    c = np.sqrt(config.d_k) if config.scale == "sqrt_dk" else 1.0
    x, q, k, v = fwd.X, fwd.Q, fwd.K, fwd.V
    if stage == "X":
        x = value
        q, k, v = x @ params["W_q"], x @ params["W_k"], x @ params["W_v"]
    if stage == "Q":
        q = value
    if stage == "K":
        k = value
    if stage in ("X", "Q", "K", "S"):
        s = value if stage == "S" else q @ np.swapaxes(k, -1, -2)
        s1 = s / c
    if stage == "S_scaled":
        s1 = value
    if stage in ("X", "Q", "K", "S", "S_scaled"):
        s2 = s1 if mask is None else np.where(mask, -np.inf, s1)
    if stage == "S_masked":
        s2 = value
    if stage == "V":
        v = value
    if stage in ("A", "Z", "d_logits"):
        a = fwd.A
    else:
        a = L._softmax(s2) if stage != "V" else fwd.A
    if stage == "A":
        a = value
    z = value if stage == "Z" else a @ v
    y = value if stage == "d_logits" else z @ params["W_out"]
    y = y - y.max(axis=-1, keepdims=True)
    log_p = y - np.log(np.exp(y).sum(axis=-1, keepdims=True))
    has = targets >= 0
    picked = np.take_along_axis(log_p, np.maximum(targets, 0)[..., None], axis=-1)[..., 0]
    return float(-(picked * has).sum() / has.sum())


STAGES = {"d_logits": "Y", "Z": "Z", "A": "A", "V": "V", "S_masked": "logits", "S_scaled": "scaled",
          "S": "S", "Q": "Q", "K": "K", "X": "X"}


@settings(max_examples=40, deadline=None)
@given(problems())
def test_every_intermediate_gradient_matches_finite_differences(problem):
    params, tokens, targets, config = problem
    fwd = L.forward(params, tokens, config)
    grads = L.backward(params, tokens, targets, config, fwd)
    for stage, tensor in STAGES.items():
        start = getattr(fwd, tensor).copy()

        def f(value, stage=stage):
            return _loss_from(stage, value, params, tokens, targets, config, fwd)

        assert f(start.copy()) == pytest.approx(L.cross_entropy(fwd, targets), rel=1e-12)
        numeric = numeric_grad(f, start)
        assert rel_err(numeric, getattr(grads, stage)) <= REL, stage


@settings(max_examples=60, deadline=None)
@given(problems())
def test_softmax_backward_rows_sum_to_zero_and_masked_cells_get_nothing(problem):
    # Adding the same amount to every score of a row leaves A, so the loss, unchanged.
    params, tokens, targets, config = problem
    fwd = L.forward(params, tokens, config)
    grads = L.backward(params, tokens, targets, config, fwd)
    assert np.allclose(grads.S_masked.sum(axis=-1), 0.0, atol=1e-12)
    if config.mask == "causal":
        assert (grads.S_scaled[:, L.mask_of(config)] == 0.0).all()


def test_scale_backward_divides_by_sqrt_dk_and_mask_backward_zeroes_masked_cells():
    d = np.arange(1.0, 10.0).reshape(1, 3, 3)
    assert np.array_equal(bw.scale_backward(d, "none", 4), d)
    assert np.array_equal(bw.scale_backward(d, "sqrt_dk", 4), d / 2.0)
    masked = bw.mask_backward(d, L._mask(3))
    assert masked.tolist() == [[[1, 0, 0], [4, 5, 0], [7, 8, 9]]]
    assert bw.mask_backward(d, None) is d


def test_grad_logits_by_hand():
    # Two positions, one with target 1, one without: dY = (p - onehot) / 1 and 0.
    probs = np.array([[[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]])
    d = bw.grad_logits(probs, np.array([[1, -1]]))
    assert np.allclose(d, [[[0.2, -0.5, 0.3], [0.0, 0.0, 0.0]]])


def test_grad_e_collects_every_occurrence_of_a_word():
    d_x = np.arange(12.0).reshape(1, 3, 4)  # rows 0..3, 4..7, 8..11
    d_e = bw.grad_e(d_x, np.array([[2, 0, 2]]), vocab=4)
    assert d_e.tolist() == [[4, 5, 6, 7], [0, 0, 0, 0], [8, 10, 12, 14], [0, 0, 0, 0]]
