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
