"""Every core function against small hand-worked cases."""

import math

import numpy as np
import pytest

from tui_attention.core import attention, block
from tui_attention.core.embeddings import embed, word_vector
from tui_attention.steps.notation import fmt, fmt_vector, sub, sub2
from tui_attention.core.positions import no_positions, sinusoidal
from tui_attention.core.seeding import stable_key


def test_project_is_row_times_matrix():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    assert attention.project(x, w).tolist() == [[1.0, 2.0, 0.0], [3.0, 4.0, 2.0]]


def test_scores_are_pairwise_dot_products():
    q = np.array([[1.0, 0.0], [0.0, 2.0]])
    k = np.array([[3.0, 4.0], [5.0, 6.0]])
    # S[0,1] = q0.k1 = 5 ; S[1,0] = q1.k0 = 8
    assert attention.scores(q, k).tolist() == [[3.0, 5.0], [8.0, 12.0]]


def test_scale_divides_by_sqrt_dk_only_when_asked():
    s = np.array([[4.0, -2.0]])
    assert attention.scale_scores(s, "none", 4).tolist() == [[4.0, -2.0]]
    assert attention.scale_scores(s, "sqrt_dk", 4).tolist() == [[2.0, -1.0]]
    assert attention.scale_factor("sqrt_dk", 9) == 3.0


def test_causal_mask_hides_later_words():
    m = attention.causal_mask(3)
    assert m.tolist() == [[False, True, True], [False, False, True], [False, False, False]]
    s = np.zeros((3, 3))
    masked = attention.apply_mask(s, m)
    assert masked[0, 1] == -math.inf and masked[1, 0] == 0.0
    assert s[0, 1] == 0.0  # input untouched


def test_softmax_hand_worked():
    # exp(0)/(exp(0)+exp(ln 3)) = 1/4
    a = attention.softmax(np.array([[0.0, math.log(3.0)]]))
    assert a == pytest.approx(np.array([[0.25, 0.75]]))


def test_softmax_does_not_mutate_and_gives_exact_zero_for_masked():
    s = np.array([[1.0, -math.inf, 2.0]])
    copy = s.copy()
    a = attention.softmax(s)
    assert np.array_equal(s, copy)
    assert a[0, 1] == 0.0
    assert a.sum() == pytest.approx(1.0)


def test_softmax_of_fully_masked_row_is_zero_not_nan():
    a = attention.softmax(np.array([[-math.inf, -math.inf]]))
    assert a.tolist() == [[0.0, 0.0]]


def test_softmax_of_a_fully_masked_row_beside_others():
    """A row with no valid key among rows that have one: zeros there, the others untouched (the
    rows are normalised together or apart, the result is the same)."""
    s = np.array([[-math.inf, -math.inf], [0.0, math.log(3.0)], [1.0, -math.inf]])
    a = attention.softmax(s)
    assert a[0].tolist() == [0.0, 0.0]
    assert a[1] == pytest.approx([0.25, 0.75])
    assert a[2].tolist() == [1.0, 0.0]
    assert a[1:].tolist() == attention.softmax(s[1:]).tolist()


def test_softmax_does_not_write_into_a_read_only_input():
    s = np.array([[2.0, 1.0], [0.5, -math.inf]])
    s.setflags(write=False)
    a = attention.softmax(s)
    assert a.flags.writeable and not np.shares_memory(a, s)


def test_attend_is_weighted_sum_of_values():
    a = np.array([[0.25, 0.75]])
    v = np.array([[4.0, 0.0], [0.0, 8.0]])
    assert attention.attend(a, v).tolist() == [[1.0, 6.0]]


def test_layer_norm_hand_worked():
    y = block.layer_norm(np.array([[1.0, 3.0]]), eps=0.0)
    assert y.tolist() == [[-1.0, 1.0]]
    y = block.layer_norm(np.array([[2.0, 4.0, 6.0]]))
    assert y.mean() == pytest.approx(0.0) and y.var() == pytest.approx(1.0, rel=1e-4)


def test_feed_forward_hand_worked():
    y = np.array([[1.0, -1.0]])
    w1 = np.array([[1.0, -1.0, 0.5], [1.0, 1.0, 0.5]])
    b1 = np.array([0.5, 0.0, 0.0])
    w2 = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    b2 = np.array([0.0, 1.0])
    hidden, act, out = block.feed_forward(y, w1, b1, w2, b2)
    assert hidden.tolist() == [[0.5, -2.0, 0.0]]
    assert act.tolist() == [[0.5, 0.0, 0.0]]
    assert out.tolist() == [[0.5, 1.0]]


def test_concat_and_projection_and_residual():
    z = block.concat_heads([np.ones((2, 1)), 2 * np.ones((2, 2))])
    assert z.tolist() == [[1.0, 2.0, 2.0], [1.0, 2.0, 2.0]]
    w_o = np.array([[1.0], [0.0], [1.0]])
    assert block.output_projection(z, w_o).tolist() == [[3.0], [3.0]]
    assert block.residual(np.ones((1, 2)), np.ones((1, 2))).tolist() == [[2.0, 2.0]]


def test_sinusoidal_positions_hand_worked():
    p = sinusoidal(3, 4)
    assert p[0].tolist() == [0.0, 1.0, 0.0, 1.0]
    # position 1, i = 1: angle = 1 / 10000^(2/4) = 0.01
    assert p[1] == pytest.approx([math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)])
    assert sinusoidal(2, 3).shape == (2, 3)
    assert no_positions(2, 3).tolist() == [[0.0] * 3] * 2


def test_embeddings_are_a_lookup_table_by_word():
    e = embed(("a", "b", "a"), 5, seed=7)
    assert np.array_equal(e[0], e[2])
    assert not np.array_equal(e[0], e[1])
    assert np.array_equal(word_vector("a", 5, 7), e[0])
    assert not np.array_equal(word_vector("a", 5, 8), e[0])


def test_stable_key_does_not_depend_on_python_hash_salt():
    # Fixed value: BLAKE2b is stable across processes and machines.
    assert stable_key("embedding", "me") == stable_key("embedding", "me")
    import subprocess
    import sys

    code = "from tui_attention.core.seeding import stable_key; print(stable_key('embedding', 'me'))"
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONHASHSEED": s, "PATH": ""}).stdout.strip() for s in ("1", "2")}
    assert out == {str(stable_key("embedding", "me"))}


def test_number_formatting_always_signs():
    assert fmt(0.12345) == "+0.1235"
    assert fmt(-0.1, 2) == "-0.10"
    assert fmt(-math.inf) == "-inf"
    assert fmt(-0.0) == fmt(0.0 * -0.17) == "+0.0000"  # a masked word's share of z: zero, not negative
    assert fmt(-1e-9) == "-0.0000" and fmt(np.float64(-0.0), 2) == "+0.00"  # a tiny negative keeps its sign
    assert fmt_vector(np.array([1.0, -2.0]), 1) == "[+1.0 -2.0]"
    assert fmt_vector(np.arange(10.0), 0, limit=6) == "[+0 +1 +2 +3 … +8 +9]"
    assert sub(12) == "₁₂" and sub2(1, 2, 5) == "₁₂" and sub2(1, 12, 12) == "₁,₁₂"
