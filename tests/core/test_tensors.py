"""The tensor registry names every tensor of a Trace once, with the shape its axes give."""

import numpy as np
import pytest

from tui_attention.core import Overrides, build_config, compute
from tui_attention.core.serialize import trace_to_dict
from tui_attention.core.tensors import BY_KEY, TENSORS, axis_size, by_name, tensor, trace_tensors
from tui_attention.core.trace import BlockTrace, HeadTrace

TRACES = {
    "notebook": compute(build_config(None)),
    "two heads, masked": compute(build_config(None, Overrides(heads=2, mask="causal", d_model=6, d_k=2))),
}


def test_every_trace_field_is_in_the_registry_exactly_once():
    keys = [t.key for t in TENSORS]
    assert len(keys) == len(set(keys))
    expected = {"E", "P", "X", "attention"} | {f for f in HeadTrace.__dataclass_fields__} | {
        f for f in BlockTrace.__dataclass_fields__}
    assert set(keys) == expected


@pytest.mark.parametrize("name", list(TRACES))
def test_shapes_follow_the_axes(name):
    trace = TRACES[name]
    for t in TENSORS:
        for h in range(len(trace.heads) if t.scope == "head" else 1):
            shape = t.of(trace, h).shape
            rows = () if t.rows is None else (axis_size(trace, t.rows),)
            assert shape == (*rows, axis_size(trace, t.cols)), t.key


@pytest.mark.parametrize("name", list(TRACES))
def test_flat_names_are_the_json_contract(name):
    trace = TRACES[name]
    flat = trace_tensors(trace)
    data = trace_to_dict(trace)
    for key, value in flat.items():
        parts = key.split(".")
        node = data
        for p in parts:
            node = node[int(p)] if p.isdigit() else node[p]
        expected = np.where(np.isfinite(value), value, np.nan)
        got = np.array(node, dtype=float)
        assert np.array_equal(np.nan_to_num(got, nan=-1.5), np.nan_to_num(expected, nan=-1.5)), key
    heads = len(trace.heads)
    assert len(flat) == sum(heads if t.scope == "head" else 1 for t in TENSORS)


def test_lesson_names_resolve_to_the_right_tensors():
    names = by_name()
    assert names["S"] is tensor("scores") and names["A"] is tensor("weights") and names["a"] is tensor("weights")
    assert names["Z"] is tensor("output") and names["concat"] is tensor("attention") and names["q"] is tensor("Q")
    assert names["logits"] is tensor("logits") and names["scaled"] is tensor("scaled")
    # the three stages of the scores share the symbol S on screen
    assert {BY_KEY[k].symbol for k in ("scores", "scaled", "logits")} == {"S"}
