"""What the steps say and show, as a learner reads it (issue 10): counts that count the matrix,
a tensor both read and written shown once, labels that agree, sentences worded by their numbers,
one precision per formula block."""

import re

import numpy as np

from tui_attention.core import Overrides, build_config, compute
from tui_attention.steps import word_step
from tui_attention.tui.widgets.vectors import fit_rows

OUTPUT = 8


def trace(**overrides):
    return compute(build_config(None, Overrides(**overrides)))


NOTEBOOK = trace()
LONG = trace(sentence=" ".join(f"w{i}" for i in range(40)))


# --- #24: a cut Vectors pane counts the rows of the matrix, not the rows the step carried ----------

def test_a_cut_vectors_pane_counts_the_rows_of_the_matrix():
    step = word_step(LONG, 20, OUTPUT)  # reads v_j for every word: the step carries the 11 around word 21
    assert sum(r.label.startswith("v") for r in step.vectors) == 11
    rows, notes = fit_rows(step, 3)
    shown = [r.row + 1 for r in rows if r.label.startswith("v")]
    assert shown == [21] and notes == ["v: row 21 of 40"]  # α₂₁, v₂₁, z₂₁ in three lines
    assert "of 11" not in " ".join(notes)
    rows, notes = fit_rows(step, 5)
    shown = [r.row + 1 for r in rows if r.label.startswith("v")]
    assert len(shown) > 1 and notes == [f"v: rows {shown[0]}-{shown[-1]} of 40"] and 21 in shown
    short = word_step(NOTEBOOK, 0, OUTPUT)
    rows, notes = fit_rows(short, 4)
    shown = [r.row + 1 for r in rows if r.label.startswith("v")]
    assert notes == [f"v: rows {shown[0]}-{shown[-1]} of 5"]


def test_under_a_causal_mask_the_output_lists_only_the_values_it_reads():
    """z_i = Σ_{j<=i} α_ij v_j: the later words' weights are exactly 0, so their v_j are not read;
    the pane lists v_1..v_i, as the Tokens pane marks only those words used."""
    masked = trace(mask="causal")
    step = word_step(masked, 1, OUTPUT)
    assert [r.label for r in step.vectors if r.label.startswith("v")] == ["v₁", "v₂"]
    assert step.vector_notes == ("v: rows 1-2 of 5; the later words are masked (weight 0)",)
    assert step.used_words == {0}
    last = word_step(masked, 4, OUTPUT)  # the last word sees them all: nothing is masked for it
    assert [r.label for r in last.vectors if r.label.startswith("v")] == [f"v{s}" for s in "₁₂₃₄₅"]
    assert last.vector_notes == ()
    assert [r.label for r in word_step(NOTEBOOK, 1, OUTPUT).vectors if r.label.startswith("v")] == \
        [f"v{s}" for s in "₁₂₃₄₅"]
    long = word_step(trace(sentence=" ".join(f"w{i}" for i in range(40)), mask="causal"), 20, OUTPUT)
    assert [r.row for r in long.vectors if r.label.startswith("v")] == list(range(10, 21))

# --- #37: a tensor both read and written is shown once ------------------------------------------

SCALE, MASK = 5, 6


def test_a_switched_off_step_shows_its_row_once_as_read_and_written():
    for index in (SCALE, MASK):  # no scaling, no mask: both pass s₁ on unchanged
        step = word_step(NOTEBOOK, 0, index)
        assert [(r.label, r.role) for r in step.vectors] == [("s₁", "read-written")]
        assert step.vector_notes == ("s₁: read · written, unchanged",)
    scaled = trace(scale="sqrt_dk")
    step = word_step(scaled, 0, SCALE)  # switched on: what it reads and what it writes differ
    assert [(r.label, r.role) for r in step.vectors] == [("s₁", "read"), ("s₁/√d", "written")]
    assert step.vector_notes == ()
    step = word_step(scaled, 0, MASK)
    assert [(r.label, r.role) for r in step.vectors] == [("s₁/√d", "read-written")]


def test_a_switched_off_matrix_step_shows_one_s_grid():
    from tui_attention.steps import matrix_steps
    from tui_attention.tui.screens.matrix import scene_tensors

    def grids(t, kind):
        step = next(s for s in matrix_steps(t) if s.kind == kind)
        return [x.key for x, _ in scene_tensors(step, 1)]

    assert grids(NOTEBOOK, "scale") == ["scaled"] and grids(NOTEBOOK, "mask") == ["logits"]
    both = trace(scale="sqrt_dk", mask="causal")
    assert grids(both, "scale") == ["scores", "scaled"] and grids(both, "mask") == ["scaled", "logits"]


def test_a_hidden_score_is_hidden_at_every_stage_that_holds_the_same_number():
    from tui_attention.lessons.giveaways import concealed
    from tui_attention.lessons.model import Question

    q = Question(id="t", kind="numeric", prompt="Compute s₁₂", answer="S[1,2]")
    hidden = concealed(q, NOTEBOOK)  # no scaling, no mask: scaled and logits are the scores
    assert all(hidden.cell(key, 0, 0, 1) for key in ("scores", "scaled", "logits"))
    scaled = trace(scale="sqrt_dk")
    hidden = concealed(q, scaled)  # scaled differs from the raw score: nothing to hide there
    assert hidden.cell("scores", 0, 0, 1) and not hidden.cell("scaled", 0, 0, 1)
    hidden = concealed(q, NOTEBOOK)
    row = word_step(NOTEBOOK, 0, SCALE).vectors[0]  # the one s₁ row of the scale step hides s₁₂ too
    assert hidden.cell(row.key, 0, row.row, 1) and not hidden.cell(row.key, 0, row.row, 0)


# --- #30: the weights' std in 2 significant digits at every scale --------------------------------

def test_w_std_has_two_significant_digits_at_every_scale():
    from tui_attention.steps.labels import weights_word
    from tui_attention.steps.notation import significant

    for scale in (0.1, 1.0, 3.0):
        config = build_config(None, Overrides(weight_scale=scale))
        std = float(np.std(np.concatenate([config.weights[k].ravel() for k in ("w_q", "w_k", "w_v")])))
        printed = re.fullmatch(r"W std (\S+)", weights_word(config))[1]
        digits = printed.lstrip("-0.").replace(".", "")
        assert len(digits) == 2, printed  # 0.089, 0.89, 2.7: never 0.09 / 0.9 / 3
        assert abs(float(printed) - std) <= 0.5 * 10 ** (np.floor(np.log10(std)) - 1), (printed, std)
    assert [significant(x) for x in (0.08892, 2.6677, 26.67, 266.7, 0.0999, 2.7e-5, 4.2e6)] == \
        ["0.089", "2.7", "27", "270", "0.10", "2.7e-05", "4.2e+06"]


# --- #26: "almost nothing" only when each other weight is --------------------------------------

SOFTMAX = 7


def saturated_rows(t):
    w = t.heads[0].weights
    return [i for i in range(t.n) if w[i].max() > 0.9]


def test_a_saturated_softmax_says_what_the_other_words_get():
    nine_percent = trace(seed=0, weight_scale=1.0, mask="causal", scale="sqrt_dk")  # word 3: 0.92, 0.068, 0.011
    w = nine_percent.heads[0].weights[2]
    assert w.max() > 0.9 and np.sort(w)[-2] > 0.05
    text = word_step(nine_percent, 2, SOFTMAX).narration
    rest = w.sum() - w.max()
    assert "almost nothing" not in text and "less than" not in text
    assert f"the 2 other words it sees share {rest:+.4f}" in text
    one_other = trace(seed=23, weight_scale=1.0, mask="causal", scale="sqrt_dk")  # word 2 sees 2 words: 0.93, 0.07
    w = one_other.heads[0].weights[1]
    assert f"the other word it sees gets {w[:2].min():+.4f}" in word_step(one_other, 1, SOFTMAX).narration
    huge = trace(weight_scale=3.0, sentence="the cat saw a dog and a bird")
    for i in saturated_rows(huge):  # the others really are tiny here: said so, with the bound
        others = np.sort(huge.heads[0].weights[i])[:-1]
        assert others.max() < 0.01
        assert "each other word less than 0.01" in word_step(huge, i, SOFTMAX).narration


# --- #36: one precision per formula block: factors d + 1, results d, for every line and word ------

NUMBER = re.compile(r"[+-]?\d+\.(\d+)")


def factor_places(line):
    """The decimals of the factors in a worked line: the numbers in parentheses or brackets left of
    its last '=' (the result), the max in a softmax line, a divisor after '/'."""
    body = line.removesuffix("  (from unrounded values)")
    left = body.rsplit(" = ", 1)[0].split(" = ", 1)[-1]
    return {len(m) for m in NUMBER.findall(left)}


def worked(step):
    """The worked lines of a step: those that multiply or divide numbers it shows."""
    return [line for line in step.formula if re.search(r"\)\(|/ \d|×", line)]


def test_every_factor_of_every_worked_line_has_one_decimal_more_than_the_results():
    from tui_attention.steps import word_steps

    for t in (NOTEBOOK, trace(weight_scale=3.0, scale="sqrt_dk", mask="causal")):
        for d in (2, 4, 6):
            seen: dict[str, set[int]] = {}
            for i in range(t.n):
                for step in word_steps(t, i, decimals=d):
                    for line in worked(step):
                        places = factor_places(line)
                        if step.kind == "softmax":
                            places -= {d}  # Σ: computed on the line above, printed as it is there
                        seen.setdefault(step.kind, set()).update(places)
            expected = {"query", "scores", "softmax", "output"} | ({"scale"} if t.config.scale == "sqrt_dk" else set())
            assert set(seen) == expected
            assert all(places == {d + 1} for places in seen.values()), (d, seen)


def test_the_softmax_sum_reads_the_same_on_its_line_and_as_the_divisor():
    step = word_step(NOTEBOOK, 0, SOFTMAX)
    total = re.search(r"Σ_j exp\(s₁ⱼ - max\) = (\d+\.\d+)", step.formula[0])[1]
    assert len(total.split(".")[1]) == 4
    assert all(line.split(" / ")[1].startswith(total + " ") for line in step.formula[1:])


# --- #4, #5: an open question holds back the sentences that give it away, by its subject ----------

SCORES = 4
HELD = "(held back until you answer)"


def question(answer, kind="numeric", hides=()):
    from tui_attention.lessons.model import Question

    return Question(id="t/1", kind=kind, prompt="?", answer=answer, hides=tuple(hides),
                    token_choices=kind == "choice")


def test_an_argmax_question_holds_back_every_sentence_that_names_the_word():
    from tui_attention.lessons.giveaways import concealed

    best = NOTEBOOK.tokens[int(np.argmax(NOTEBOOK.heads[0].scores[0]))]
    hidden = concealed(question("argmax(A[1])", "choice"), NOTEBOOK)
    for index in (SCORES, SOFTMAX):
        narration = word_step(NOTEBOOK, 0, index).narration
        assert f"'{best}'" in narration  # what would give it away, without the question
        shown = hidden.text(narration)
        assert f"'{best}'" not in shown and HELD in shown, index
    kept = hidden.text(word_step(NOTEBOOK, 0, SCORES).narration)
    assert "it is not the cosine similarity" in kept  # the other sentences stay
    other = word_step(NOTEBOOK, 1, SCORES).narration  # another word's row answers nothing
    assert hidden.text(other) == other


def test_the_argmax_of_one_head_holds_back_that_heads_sentence_only():
    from tui_attention.lessons.giveaways import concealed

    two = trace(heads=2)
    hidden = concealed(question("argmax(A@2[1])", "choice", hides=["A@2[1]"]), two)  # lesson 10's form
    head2 = word_step(two, 0, SCORES, head=1).narration
    best = two.tokens[int(np.argmax(two.heads[1].scores[0]))]
    assert f"highest here is with '{best}'" in head2
    assert f"'{best}'" not in hidden.text(head2).split("cosine similarity.")[1]
    head1 = word_step(two, 0, SCORES, head=0).narration
    assert hidden.text(head1) == head1


# --- #8, #9, #10: a hidden cell of a row that sums to 1 (or is normalised) hides its row ----------

def test_a_hidden_weight_hides_its_whole_row_and_the_lines_made_from_it():
    from tui_attention.lessons.giveaways import concealed
    from tui_attention.steps import matrix_steps

    hidden = concealed(question("A[1,1]"), NOTEBOOK)
    w = NOTEBOOK.heads[0].weights
    assert all(hidden.cell("weights", 0, 0, j) for j in range(NOTEBOOK.n))
    assert not any(hidden.cell("weights", 0, 1, j) for j in range(NOTEBOOK.n))
    for j in range(1, NOTEBOOK.n):  # 1 - Σ of the others is no longer on offer
        assert any(abs(v - w[0, j]) < 1e-15 for v in hidden.values)
    output = hidden.lines(word_step(NOTEBOOK, 0, OUTPUT).formula)
    assert output[:NOTEBOOK.n] == [f"α₁{s}·v{s} = ?" for s in "₁₂₃₄₅"]  # α₁ⱼ·vⱼ / vⱼ would be α₁ⱼ
    other = word_step(NOTEBOOK, 1, OUTPUT).formula  # word 2's products (its z₂[2] happens to print as z₁[2])
    assert hidden.lines(other[:NOTEBOOK.n]) == list(other[:NOTEBOOK.n])
    softmax = next(s for s in matrix_steps(NOTEBOOK) if s.kind == "softmax")
    assert softmax.formula[0].startswith("row sums: [+1.0000")
    assert hidden.lines(softmax.formula)[0] == HELD


def test_a_hidden_layer_norm_cell_hides_its_row():
    from tui_attention.lessons.giveaways import concealed
    from tui_attention.steps import matrix_steps

    hidden = concealed(question("norm_1[1,1]"), NOTEBOOK)
    d = NOTEBOOK.config.d_model
    assert all(hidden.cell("norm_1", 0, 0, c) for c in range(d))
    assert not hidden.cell("norm_1", 0, 1, 0)
    step = next(s for s in matrix_steps(NOTEBOOK) if s.kind == "add_norm_1")
    line = next(line for line in hidden.lines(step.formula) if line.startswith("norm1[1]"))
    assert line == "norm1[1] = ?"  # mean 0: no entry follows from the others, so the row is held back
