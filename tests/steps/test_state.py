"""The tutor's state without Textual: moving through words and steps, views, switches, edits."""

import numpy as np
import pytest

from tui_attention.core import Overrides, build_config, compute
from tui_attention.steps.step import matrix_step_kinds
from tui_attention.steps.state import TutorState


def test_moves_are_clamped():
    s = TutorState()
    s.move_step(-1)
    s.move_word(-3)
    assert (s.word, s.step) == (0, 0)
    s.move_step(100)
    s.move_word(100)
    assert (s.word, s.step) == (4, 8)
    s.first_step()
    assert s.step == 0 and s.current.kind == "embed"
    s.last_step()
    assert s.current.kind == "output"


@pytest.mark.parametrize("kind,matrix", [
    ("embed", "x"), ("query", "qkv"), ("keys", "qkv"), ("scores", "qkt"), ("softmax", "softmax"), ("output", "av"),
])
def test_the_view_switch_keeps_the_moment_of_the_computation(kind, matrix):
    s = TutorState()
    s.step = ["embed", "query", "keys", "values", "scores", "scale", "mask", "softmax", "output"].index(kind)
    s.toggle_view()
    assert s.view == "matrix" and s.current_matrix.kind == matrix
    s.toggle_view()
    assert s.view == "walkthrough"


@pytest.mark.parametrize("change,options", [
    ("toggle_scale", Overrides(scale="sqrt_dk")),
    ("toggle_mask", Overrides(mask="causal")),
    ("cycle_weight_scale", Overrides(weight_scale=1.0)),
    ("cycle_heads", Overrides(heads=2)),
])
def test_each_switch_gives_the_trace_the_command_line_gives(change, options):
    s = TutorState()
    getattr(s, change)()
    assert np.array_equal(s.trace.attention, compute(build_config(None, options)).attention)


def test_heads_cycle_over_the_divisors_of_d_model():
    s = TutorState()
    seen = []
    for _ in range(4):
        s.cycle_heads()
        seen.append(s.config.heads)
    assert seen == [2, 4, 1, 2]
    s.head = 1
    s.cycle_heads()
    assert s.config.heads == 4 and s.head == 1


def test_editing_a_cell_recomputes_and_is_remembered():
    s = TutorState()
    before = s.trace.heads[0].weights.copy()
    s.edit_cell("W_q", 0, 0, 1.5)
    assert s.trace.heads[0].W_q[0, 0] == 1.5 and not np.array_equal(before, s.trace.heads[0].weights)
    assert s.edited == {("W_q", 0, 0)} and s.source() == "edited"
    s.toggle_scale()  # a switch keeps the edit
    assert s.trace.heads[0].W_q[0, 0] == 1.5 and s.edited


def test_a_new_config_clamps_the_word_and_head():
    s = TutorState(overrides=Overrides(heads=2))
    s.word, s.head = 4, 1
    s.matrix_step = len(s.matrix_steps) - 1  # the last step; two heads have a concat step more than one
    s.set_config(build_config(None, Overrides(sentence="one two")))
    assert (s.word, s.head) == (1, 0)
    assert s.matrix_step == len(s.matrix_steps) - 1 and s.current_matrix.kind == s.matrix_steps[-1].kind


def test_a_new_head_count_keeps_the_matrix_step_not_its_index():
    # Two heads have a concatenation step one head does not: the steps after it move by one.
    s = TutorState()
    for kind in matrix_step_kinds(1):
        s.set_config(build_config(None))
        s.matrix_step = matrix_step_kinds(1).index(kind)
        s.cycle_heads()
        assert s.config.heads == 2 and s.current_matrix.kind == kind
    s.matrix_step = matrix_step_kinds(2).index("concat")
    s.cycle_heads()
    s.cycle_heads()  # 2 -> 4 -> 1: the concatenation gives way to the step before it
    assert s.config.heads == 1 and s.current_matrix.kind == "av"


def test_source_names_where_the_numbers_come_from(tmp_path):
    assert TutorState().source() == "notebook"
    assert TutorState(overrides=Overrides(seed=3)).source() == "seeded"


def test_all_heads_opens_the_matrix_view():
    s = TutorState(overrides=Overrides(heads=2))
    s.toggle_all_heads()
    assert s.all_heads and s.view == "matrix"
