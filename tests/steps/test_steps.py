"""The step layer on its own, without Textual: each Step carries what its panes show."""

import numpy as np
import pytest

from tui_attention.core import Overrides, build_config, compute
from tui_attention.steps import WORD_STEP_KINDS, matrix_step_kinds, matrix_steps, word_step, word_steps
from tui_attention.steps.step import rows_around

NOTEBOOK = compute(build_config(None))
MASKED = compute(build_config(None, Overrides(scale="sqrt_dk", mask="causal")))
SCALED = compute(build_config(None, Overrides(scale="sqrt_dk")))
LONG = compute(build_config(None, Overrides(sentence=" ".join(f"w{i}" for i in range(40)))))


def kinds_filled(trace, column):
    return [s.kind for s in word_steps(trace, 2) if column in s.filled]


def test_results_columns_fill_in_at_their_steps():
    assert kinds_filled(NOTEBOOK, "scores") == list(WORD_STEP_KINDS[4:])
    assert kinds_filled(NOTEBOOK, "weights") == ["softmax", "output"]
    assert kinds_filled(NOTEBOOK, "output") == ["output"]
    # what the softmax reads: after the mask step, or after the scale step when scaling is on and no
    # mask follows; with both on, the scaled scores from the scale step and the masked -inf only from
    # the mask step (a value never appears before its step)
    assert kinds_filled(NOTEBOOK, "logits") == ["mask", "softmax", "output"]
    assert kinds_filled(SCALED, "logits") == ["scale", "mask", "softmax", "output"]
    assert kinds_filled(MASKED, "logits") == ["mask", "softmax", "output"]
    assert kinds_filled(MASKED, "scaled") == ["scale", "mask", "softmax", "output"]
    assert kinds_filled(NOTEBOOK, "scaled") == []


def test_words_used_never_include_the_query_word():
    for step in word_steps(NOTEBOOK, 1):
        assert 1 not in step.used_words
        expected = set(range(5)) - {1} if step.kind in ("keys", "values", "scores", "softmax", "output") else set()
        assert step.used_words == expected, step.kind


def test_under_a_causal_mask_the_later_words_are_not_used_from_the_softmax_on():
    # Their weights are exactly 0 there; the keys, values and scores are still computed for every word.
    for step in word_steps(MASKED, 1):
        every = {0, 2, 3, 4} if step.kind in ("keys", "values", "scores") else set()
        expected = {0} if step.kind in ("softmax", "output") else every
        assert step.used_words == expected, step.kind
        if step.kind == "softmax":
            assert not MASKED.heads[0].weights[1, 2:].any()


def test_score_labels_follow_the_switches():
    plain, masked = word_step(NOTEBOOK, 0, 7), word_step(MASKED, 0, 7)
    assert [plain.score_label(k) for k in ("scores", "scaled", "logits")] == ["s", "s", "s"]
    assert [masked.score_label(k) for k in ("scores", "scaled", "logits")] == ["s", "s/√d", "s/√d+M"]


def test_vectors_show_rows_read_and_written_with_their_roles():
    embed = word_step(NOTEBOOK, 2, 0)
    assert [(r.label, r.role) for r in embed.vectors] == [("e₃", "read"), ("p₃", "read"), ("x₃", "written")]
    assert np.array_equal(embed.vectors[2].values, NOTEBOOK.X[2])
    keys = word_step(NOTEBOOK, 2, 2)  # a whole-matrix read (X) beside a whole write (K): only K
    assert [r.label for r in keys.vectors] == [f"k{s}" for s in "₁₂₃₄₅"]
    assert all(r.role == "written" for r in keys.vectors)
    scale = word_step(MASKED, 0, 5)
    assert [r.label for r in scale.vectors] == ["s₁", "s₁/√d"]


def test_a_long_sentence_shows_the_rows_around_the_query_word_and_says_so():
    keys = word_step(LONG, 20, 2)
    shown = [r.label for r in keys.vectors]
    assert len(shown) == 11 and shown[5] == "k₂₁"
    assert keys.vector_notes == ("k: rows 16-26 of 40",)
    assert list(rows_around(40, 0)) == list(range(11)) and list(rows_around(40, 39)) == list(range(29, 40))


def test_weights_multiplied_are_named_by_the_step():
    assert [word_step(NOTEBOOK, 0, k).multiplies for k in range(4)] == [(), ("W_q",), ("W_k",), ("W_v",)]


def test_the_output_step_carries_z_computed_as_a_loop_and_equal_to_a_v():
    step = word_step(NOTEBOOK, 3, 8)
    assert np.allclose(step.result, NOTEBOOK.heads[0].output[3], atol=1e-15)
    assert step.weight_sum == pytest.approx(1.0)


def test_matrix_steps_carry_the_word_its_z_and_the_gap():
    for word in (0, 4):
        steps = matrix_steps(NOTEBOOK, word=word)
        assert [s.kind for s in steps] == list(matrix_step_kinds(1))
        assert all(s.word == word for s in steps)
        assert np.allclose(steps[0].result, NOTEBOOK.heads[0].output[word], atol=1e-15)
        assert steps[0].result_gap < 1e-12
    qkt = matrix_steps(NOTEBOOK)[2]
    assert qkt.touched == {"Q", "K", "S"}
    assert matrix_steps(NOTEBOOK)[5].touched == {"S", "A"}
    two_heads = compute(build_config(None, Overrides(heads=2)))
    assert "concat" in [s.kind for s in matrix_steps(two_heads)]


def test_the_block_is_computed_only_when_a_block_step_is_shown():
    """Opening the matrix view at 512 x 1024 must not compute six 512 x 1024 arrays for steps
    the learner has not reached; the steps are the same either way."""

    trace = compute(build_config(None))
    steps = matrix_steps(trace, word=1)
    assert len(steps) == len(matrix_step_kinds(1)) and "block" not in trace.__dict__
    assert [s.kind for s in steps[:7]] == list(matrix_step_kinds(1)[:7]) and "block" not in trace.__dict__
    assert steps[-1].kind == "add_norm_2" and "block" in trace.__dict__
    assert [s.index for s in steps] == list(range(len(steps)))
    assert all(s.total == len(steps) for s in steps)


def test_a_cut_formula_says_which_lines_it_shows_in_the_step_s_own_terms():
    """The note over a formula window names words only where each line is a word's: the query
    step writes q_i and its entries, so its window starts at the top and says "lines"."""
    from tui_attention.core import Overrides
    from tui_attention.steps.state import TutorState

    state = TutorState(overrides=Overrides(sentence="a b c d e f g", d_k=6))
    state.word = 4
    state.step = 1  # the query: q_5 = x_5 W_q, then q_5[1] .. q_5[6]
    query = state.current
    assert query.kind == "query" and len(query.formula) == 7
    window = query.formula_window(3)
    assert window[0] == "(lines 1-3 of 7)"
    assert window[1] == query.formula[0]  # q_5 = x_5 W_q = [...] first, whatever the word
    assert query.formula_window(3, shift=3)[0] == "(lines 3-5 of 7)"
    state.step = 2  # the keys: one line per word j, centred on the query word
    keys = state.current
    assert keys.formula_window(3)[0] == "(lines for words 4-6 of 7)"
    assert keys.formula_window(1)[0] == "(the line for word 5 of 7)"  # not "words 5-5"
    assert query.formula_window(1)[0] == "(line 1 of 7)"
    assert keys.formula_window(3)[2] == keys.formula[4]
