"""Every sentence the step layer teaches is exact: said only when it holds, with the numbers it
shows re-adding to the results it shows (a learner redoing a line by hand gets the same answer)."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_attention.core import Overrides, build_config, compute
from tui_attention.core.block import LAYER_NORM_EPS
from tui_attention.core.config import Config
from tui_attention.core.editing import with_cell
from tui_attention.steps import matrix_steps, word_step, word_steps
from tui_attention.steps.notation import fmt, fmt_vector, shown_all, width

ROOT = Path(__file__).resolve().parents[2]
SOFTMAX, SCORES, SCALE, MASK, EMBED = 7, 4, 5, 6, 0


def trace(**overrides):
    return compute(build_config(None, Overrides(**overrides)))


NOTEBOOK = trace()
BOTH = trace(scale="sqrt_dk", mask="causal")
REPEATS = trace(sentence="the cat saw a dog and a bird")  # 'a' is word 4 and word 7
# 35 words whose word 6 spreads its weights from 0.0018 to 0.071: all small, far from uniform.
LONG = trace(sentence=" ".join(f"w{i}" for i in range(35)), seed=25, d_model=16, d_k=8, weight_scale=0.2)
HUGE = trace(sentence="a b c d e f", d_model=16, weight_scale=100.0)  # logits thousands apart


# --- 1, 2: the softmax verdict and the signs of the weights ------------------------------------

def test_small_weights_over_many_words_are_not_called_nearly_uniform():
    weights = LONG.heads[0].weights[5]
    assert weights.max() < 0.1 and weights.max() / weights.min() > 30  # the old rule's trap
    text = word_step(LONG, 5, SOFTMAX).narration
    assert "nearly uniform (1/35" in text and "neither" in text
    assert "small and close together" not in text
    assert f"from {fmt(weights.min())} to {fmt(weights.max())}" in text


def test_nearly_uniform_only_when_the_weights_are_and_the_reason_is_the_score_span():
    text = word_step(NOTEBOOK, 0, SOFTMAX).narration
    span = np.ptp(NOTEBOOK.heads[0].scores[0])
    assert "but only just" in text and f"span only {span:.4f}" in text and "1/5 = +0.2000" in text
    assert "neither" not in text and "saturated" not in text


def test_saturation_names_the_lead_of_the_top_score():
    t = trace(weight_scale=3.0, sentence="the cat saw a dog and a bird")
    h = t.heads[0]
    row = next(i for i in range(t.n) if h.weights[i].max() > 0.9)
    text = word_step(t, row, SOFTMAX).narration
    lead = np.sort(h.scores[row])[-1] - np.sort(h.scores[row])[-2]
    assert "The softmax has saturated" in text and f"{lead:.4f} above the next highest" in text


def test_weights_are_called_positive_only_when_none_underflows_to_zero():
    assert "are all positive" in word_step(NOTEBOOK, 0, SOFTMAX).narration
    h = HUGE.heads[0]
    row = next(i for i in range(HUGE.n) if (h.weights[i] == 0).any())
    zeros = int((h.weights[row] == 0).sum())
    text = word_step(HUGE, row, SOFTMAX).narration
    assert "all positive" not in text
    assert f"{zeros} weight" in text and "exactly 0, not just small" in text and "underflows" in text
    gap = h.scores[row].max() - h.scores[row][h.weights[row] == 0].max()
    assert gap > 700 and f"{gap:.4f} or more below the maximum" in text


# --- 3, 13: the embedding sentence and the notebook's own printout ------------------------------

SAME_VECTOR = "the same word always gets the same vector"


def test_the_same_word_gets_the_same_vector_only_when_it_does():
    assert SAME_VECTOR in word_step(REPEATS, 3, EMBED).narration  # seeded: by construction
    edited = compute(with_cell(REPEATS.config, REPEATS, "E", 3, 0, 5.0))  # one 'a' changed
    text = word_step(edited, 3, EMBED).narration
    assert SAME_VECTOR not in text and "row 4 of this scenario's embedding table E" in text
    # explicit per-row embeddings: the claim holds when the repeated word's rows are equal
    rows = np.array(REPEATS.E)
    equal = compute(Config(tokens=REPEATS.tokens, embeddings=rows))
    assert SAME_VECTOR in word_step(equal, 6, EMBED).narration
    rows[6, 1] += 1.0
    differ = compute(Config(tokens=REPEATS.tokens, embeddings=rows))
    assert SAME_VECTOR not in word_step(differ, 0, EMBED).narration


def test_a_scenario_without_positions_says_none_is_added():
    config = REPEATS.config.replace(positions_kind="none", positions=None)
    text = word_step(compute(config), 1, EMBED).narration
    assert "adds no position vector (p₂ = 0)" in text and "word order is invisible" in text
    assert "is added" not in text  # a vector that is not there is not "added"
    assert "sinusoidal" in word_step(REPEATS, 1, EMBED).narration


def test_with_the_causal_mask_word_order_is_not_said_to_be_invisible():
    # ML audit: under a causal mask word i averages over words 1..i, so its output depends on its
    # place even without positions; what stays invisible is the order of the words it sees.
    masked = REPEATS.config.replace(positions_kind="none", positions=None, mask="causal")
    text = word_step(compute(masked), 1, EMBED).narration
    assert "adds no position vector (p₂ = 0)" in text and "depend on where it stands" in text
    assert "word order is invisible" not in text and "cannot see word order" not in text
    for config in (REPEATS.config.replace(mask="causal"), NOTEBOOK.config.replace(mask="causal")):
        text = word_step(compute(config), 1, EMBED).narration
        assert "cannot tell the order of those words" in text and "cannot see word order" not in text


NOTE = "earlier run of it; its Matrices section matches these numbers"


def test_the_notebook_note_appears_only_for_the_notebook_scenario_at_me():
    assert "(In[24])" in word_step(NOTEBOOK, 0, SOFTMAX).narration
    assert NOTE in word_step(NOTEBOOK, 0, EMBED).narration
    assert NOTE not in word_step(NOTEBOOK, 1, SOFTMAX).narration
    assert NOTE not in word_step(trace(scale="sqrt_dk"), 0, SOFTMAX).narration
    assert NOTE not in word_step(trace(seed=23), 0, EMBED).narration  # generated, not the notebook's file


# --- 4: layer norm ------------------------------------------------------------------------------

def norm_steps(t, word=0):
    return [s for s in matrix_steps(t, word=word) if s.kind in ("add_norm_1", "add_norm_2")]


def test_layer_norm_says_gain_bias_epsilon_and_that_it_is_per_row():
    for step in norm_steps(NOTEBOOK):
        text = step.narration
        assert "mean 0 and variance 1" not in text
        assert "γ" in text and "β" in text and "ε = 1e-05" in text
        assert "d_model = 4 numbers (not across words)" in text and "just under 1" in text
    for out in (NOTEBOOK.block.norm_1, NOTEBOOK.block.norm_2):  # what the sentence claims
        before = NOTEBOOK.block.residual_1 if out is NOTEBOOK.block.norm_1 else NOTEBOOK.block.residual_2
        var = before.var(axis=1)
        assert np.allclose(out.var(axis=1), var / (var + LAYER_NORM_EPS)) and (out.var(axis=1) < 1).all()


def test_layer_norm_of_one_number_is_zero_and_says_so():
    t = trace(sentence="solo x", d_model=1)
    assert np.all(t.block.norm_1 == 0) and np.all(t.block.norm_2 == 0)
    for step in norm_steps(t):
        assert "so every output is 0" in step.narration


# --- 5: the dot product -------------------------------------------------------------------------

def test_the_dot_product_grows_with_length_and_is_not_the_cosine():
    text = word_step(NOTEBOOK, 0, SCORES).narration
    assert "point the same way" in text and "length" in text and "not the cosine similarity" in text


# --- 6, 7, 8: the matrix view follows the selected word -----------------------------------------

def formula(steps, kind):
    return "\n".join(next(s for s in steps if s.kind == kind).formula)


def test_matrix_formulas_use_the_selected_words_row():
    h, b = NOTEBOOK.heads[0], NOTEBOOK.block
    steps = matrix_steps(NOTEBOOK, word=2)
    text = "\n".join(line for s in steps for line in s.formula)
    assert "[1]" not in text and "[1," not in text
    for line in (f"X[3] = {fmt_vector(NOTEBOOK.X[2])}", f"Q[3] = {fmt_vector(h.Q[2])}", f"K[3] = {fmt_vector(h.K[2])}",
                 f"S[3,4] = q₃·k₄ = {fmt(h.scores[2, 3])}", f"A[3,4] = {fmt(h.weights[2, 3])}",
                 f"Z[3] = {fmt_vector(h.output[2])}", f"norm1[3] = {fmt_vector(b.norm_1[2])}",
                 f"out[3] = {fmt_vector(b.norm_2[2])}"):
        assert line in text
    last = formula(matrix_steps(NOTEBOOK, word=4), "qkt")
    assert last == f"S[5,4] = q₅·k₄ = {fmt(h.scores[4, 3])}"  # the last word looks back


def test_one_word_pairs_its_query_with_its_own_key():
    t = trace(sentence="solo")
    text = formula(matrix_steps(t), "qkt")
    assert text == f"S[1,1] = q₁·k₁ = {fmt(t.heads[0].scores[0, 0])}" and "k₂" not in text


def test_qkt_scale_and_mask_each_show_their_own_stage_on_the_selected_row():
    h = BOTH.heads[0]
    steps = matrix_steps(BOTH, word=1)
    assert "raw scores before any scaling or mask" in next(s for s in steps if s.kind == "qkt").narration
    # the factors with one decimal more than the result (notation.factor_decimals)
    assert formula(steps, "scale") == (f"S[2,3] / √3 = {fmt(h.scores[1, 2], 5)} / {math.sqrt(3):.5f} = "
                                       f"{fmt(h.scaled[1, 2])}")
    mask = formula(steps, "mask").splitlines()
    assert mask[0] == "S[i,j] for j > i becomes -inf"
    assert mask[1] == f"S[2,3]/√d = {fmt(h.scaled[1, 2])} becomes -inf: 3 > 2"
    last = formula(matrix_steps(BOTH, word=4), "mask").splitlines()[1]
    assert last == f"S[5,4]/√d = {fmt(h.scaled[4, 3])} stays: 4 ≤ 5"
    off = matrix_steps(NOTEBOOK, word=1)
    assert formula(off, "scale").startswith(f"S[2,3] = {fmt(NOTEBOOK.heads[0].scores[1, 2])} unchanged: no scaling")
    assert formula(off, "mask").startswith("S[2,3] = ") and "unchanged: no mask" in formula(off, "mask")


# --- 9: steps that change nothing say so once ---------------------------------------------------

def test_off_switches_say_the_scores_pass_unchanged_in_one_line():
    steps = word_steps(NOTEBOOK, 1)
    assert steps[SCALE].formula == ("s₂ⱼ unchanged: no scaling (press s to divide by √d_k)",)
    assert steps[MASK].formula == ("s₂ⱼ unchanged: no mask (press c for a causal mask)",)
    on = word_steps(BOTH, 1)
    assert len(on[SCALE].formula) == BOTH.n and all("/ √3 =" in line for line in on[SCALE].formula)
    assert len(on[MASK].formula) == BOTH.n and sum("masked" in line for line in on[MASK].formula) == 3


# --- 10: repeated words are named with their position ------------------------------------------

def test_repeated_words_are_named_with_their_position():
    steps = word_steps(REPEATS, 3)
    assert steps[1].title.startswith("Query of 'a' (word 4):")
    assert "'a' (word 4) gets one score per word" in steps[SCORES].narration
    assert word_step(REPEATS, 1, 1).title.startswith("Query of 'cat':")  # a word said once keeps its name
    h = REPEATS.heads[0]
    target = next(i for i in range(REPEATS.n) if REPEATS.tokens[int(np.argmax(h.weights[i]))] == "a")
    top = int(np.argmax(h.weights[target]))
    assert f"'a' (word {top + 1})" in word_step(REPEATS, target, SOFTMAX).narration


# --- 11: numbers past a million ----------------------------------------------------------------

def test_huge_numbers_print_in_scientific_notation_and_ordinary_ones_as_before():
    assert fmt(4e24) == "+4.0000e+24" and fmt(-4e24, 2) == "-4.00e+24"
    assert fmt(999999.99994) == "+999999.9999" and fmt(999999.99996) == "+1.0000e+06"
    for x in (0.0, 0.12345, -3.5, 12.25, 123456.789, -999998.5):
        for d in (2, 4, 8):
            assert fmt(x, d) == f"{x:+.{d}f}"
    assert fmt(-0.0, 2) == "+0.00"  # IEEE's negative zero is no negative number (Python prints -0.00)
    assert width(4) == 7 and width(4, 123456.0) == 12 and width(4, 4e24) == 12 and width(4, 1e200) == 12


@given(st.floats(min_value=-1e30, max_value=1e30, allow_nan=False), st.integers(2, 8))
def test_width_is_what_fmt_uses(x, d):
    text = fmt(x, d)
    assert len(text) <= width(d, abs(x))
    assert float(text) == pytest.approx(x, rel=10.0 ** -d, abs=10.0 ** -d)
    if abs(float(text)) < 1e6:  # fixed notation: exactly as wide as its magnitude says
        assert len(text) == width(d, abs(x))


TIES = st.sampled_from([0.125, -2.5e-5, 0.00015, 999999.995, 2.675])  # halfway, or just off it in binary


@given(st.lists(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False) | TIES, min_size=1, max_size=20),
       st.integers(2, 10))
def test_the_checks_read_numbers_back_exactly_as_fmt_prints_them(values, d):
    again = shown_all(np.array(values), d)
    assert [float(fmt(x, d)) for x in values] == pytest.approx(list(again), rel=1e-15, abs=0)


def test_a_grid_of_mixed_magnitudes_fits_the_width():
    values = [0.5, 999999.25, -4e24, 1e100]
    for d in (2, 4):
        assert max(len(fmt(v, d)) for v in values) == width(d, max(abs(v) for v in values))


# --- 12: the numbers shown re-add to the results shown ------------------------------------------

NUM = r"[+-]?\d+\.\d+(?:e[+-]\d+)?|[+-]inf"
MARK = "  (from unrounded values)"


def half_unit(text):
    """Half a unit of the last decimal `text` shows."""
    mantissa, _, exponent = text.partition("e")
    return 0.5 * 10.0 ** ((int(exponent) if exponent else 0) - len(mantissa.split(".")[1]))


def vector(text):
    return [None if part == "…" else float(part) for part in text.split()]


def checks(step):
    """(line, recomputed from its shown operands, shown result) for every worked line of `step`."""
    out, products, alphas, inputs = [], [], [], {}
    for line in step.formula:
        body = line.removesuffix(MARK)
        if "…" in body and "(" in body and "·v" not in body:
            continue  # an elided dot product cannot be redone from the screen
        if m := re.fullmatch(r"([ep])\S+ = \[(.*)\]", body):
            inputs[m[1]] = vector(m[2])
        elif m := re.fullmatch(r"x\S+ = e\S+ \+ p\S+ = \[(.*)\]", body):
            out += [(line, e + p, part) for e, p, part in zip(inputs["e"], inputs["p"], m[1].split())
                    if e is not None and p is not None]
        elif m := re.fullmatch(rf".* = ((?:\(\S+\)\(\S+\)(?: \+ )?)+) = ({NUM})", body):
            terms = re.findall(r"\((\S+?)\)\((\S+?)\)", m[1])
            out.append((line, sum(float(a) * float(b) for a, b in terms), m[2]))
        elif m := re.fullmatch(rf".* = ({NUM}) / (\d+\.\d+) = ({NUM})", body):
            out.append((line, float(m[1]) / float(m[2]), m[3]))
        elif m := re.fullmatch(rf"max = ({NUM}) +Σ_j exp\(.*\) = (\d+\.\d+)", body):
            total = (line, m[2])
        elif m := re.fullmatch(rf"α\S+ = exp\(({NUM}) - \(({NUM})\)\) / (\d+\.\d+) = ({NUM})", body):
            again = math.exp(float(m[1]) - float(m[2]))
            alphas.append(again)
            out.append((line, again / float(m[3]), m[4]))
        elif m := re.fullmatch(rf"α\S+·v\S+ = ({NUM}) × \[(.*)\] = \[(.*)\]", body):
            a, v = float(m[1]), vector(m[2])
            products.append(vector(m[3]))
            out += [(line, a * x, part) for x, part in zip(v, m[3].split()) if x is not None]
        elif m := re.fullmatch(r"z\S+ = Σ_j .* = \[(.*)\]", body):
            for k, part in enumerate(m[1].split()):
                if part != "…":
                    out.append((line, sum(p[k] for p in products), part))
    if alphas:
        out.append((total[0], sum(alphas), total[1]))
    return out


def assert_readds(step):
    """Each worked line re-adds (every entry, for a vector), or is marked; marked only if it does not."""
    misses: dict[str, float] = {}  # per line: its worst miss, in half units of the result's last decimal
    for line, again, result in checks(step):
        misses[line] = max(misses.get(line, 0.0), abs(again - float(result)) / half_unit(result))
    for line, miss in misses.items():
        if line.endswith(MARK):
            assert miss > 1 - 1e-6, (step.kind, line)  # marked only when it really does not re-add
        else:
            assert miss <= 1 + 1e-9, (step.kind, line)


def all_steps(t, decimals=4):
    for word in range(t.n):
        yield from word_steps(t, word, decimals=decimals)
        yield from matrix_steps(t, decimals=decimals, word=word)


@pytest.mark.parametrize("t", [NOTEBOOK, BOTH, REPEATS, HUGE], ids=["notebook", "both", "repeats", "huge"])
def test_every_worked_line_re_adds_or_says_it_does_not(t):
    for step in all_steps(t):
        assert_readds(step)


def test_x_is_marked_where_the_shown_e_and_p_do_not_add_up_to_it():
    # ML audit: e₂[4] = +0.9342 and p₂[4] = +1.0000 are shown, x₂[4] = +1.9341 (0.93411 + 0.99955).
    step = word_step(trace(sentence="the cat sat on the mat", seed=5), 1, 0)
    assert step.formula[2] == "x₂ = e₂ + p₂ = [+1.4642 +1.9194 +1.4541 +1.9341]" + MARK
    assert_readds(step)
    assert not word_step(NOTEBOOK, 0, 0).formula[2].endswith(MARK)  # the notebook's positions add up


def test_the_notebook_softmax_sum_re_adds_from_its_shown_terms():
    step = word_step(NOTEBOOK, 0, SOFTMAX)  # what learners set beside the notebook
    assert not any(line.endswith(MARK) for line in step.formula)
    assert len(checks(step)) == NOTEBOOK.n + 1  # Σ and every α
    assert_readds(step)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 7), d_model=st.integers(1, 10), d_k=st.integers(1, 9),
       d_v=st.integers(1, 12), weight_scale=st.sampled_from([0.1, 1.0, 3.0, 20.0]),
       scale=st.sampled_from(["none", "sqrt_dk"]), mask=st.sampled_from(["none", "causal"]),
       decimals=st.integers(2, 8))
def test_random_scenarios_re_add(seed, n, d_model, d_k, d_v, weight_scale, scale, mask, decimals):
    t = trace(sentence=" ".join(f"w{i % 4}" for i in range(n)), seed=seed, d_model=d_model, d_k=d_k, d_v=d_v,
              weight_scale=weight_scale, scale=scale, mask=mask)
    for step in all_steps(t, decimals):
        assert_readds(step)


# --- 14: the help on the Results bar ------------------------------------------------------------

def test_the_help_gives_the_bar_resolution_of_the_results_pane():
    cells = int(re.search(r"^BAR_CELLS = (\d+)$", (ROOT / "tui_attention/tui/widgets/results.py").read_text(),
                          re.M)[1])
    help_text = (ROOT / "tui_attention/tui/help.md").read_text()
    assert "1/8 of 1" not in help_text
    assert f"bar of {cells} cells" in help_text
    assert f"a full block = 1/{cells} of 1" in help_text and f"an eighth of a block = 1/{8 * cells}" in help_text


# --- 15: a value never appears in Results before its step ---------------------------------------

def test_the_masked_scores_are_not_filled_before_the_mask_step():
    scale, mask = word_steps(BOTH, 1)[SCALE], word_steps(BOTH, 1)[MASK]
    assert "scaled" in scale.filled and "logits" not in scale.filled  # the scaled values, not yet the -inf
    assert {"scaled", "logits"} <= mask.filled
    scaled_only = word_steps(trace(scale="sqrt_dk"), 1)[SCALE]
    assert "logits" in scaled_only.filled  # no mask follows: what the softmax reads is already there


@given(TIES | st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(2, 10))
def test_one_number_reads_back_as_an_array_of_one(x, d):
    """A 0-d array (a 200-word softmax at 7 decimals has a tie-near single entry) keeps its shape."""
    again = shown_all(np.array(x), d)
    assert again.shape == () and float(again) == pytest.approx(float(fmt(x, d)), rel=1e-15, abs=0)


def test_weights_within_about_a_tenth_of_uniform_are_called_nearly_uniform():
    # ML audit: 0.1795 to 0.2244 among five words was "neither nearly uniform (1/5 = 0.2000) nor saturated".
    t = trace(d_k=1, seed=3, scale="sqrt_dk")
    weights = t.heads[0].weights[0]
    assert 1.25 < weights.max() / weights.min() < 1.3
    assert "nearly uniform (1/5 = +0.2000)" in word_step(t, 0, SOFTMAX).narration
    assert "neither" not in word_step(t, 0, SOFTMAX).narration
