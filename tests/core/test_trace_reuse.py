"""compute(config, previous=...) is an optimisation only: the trace is the same as a fresh one."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tui_attention.core import Overrides, build_config, compute

HEAD_FIELDS = ("W_q", "W_k", "W_v", "Q", "K", "V", "scores", "scaled", "logits", "weights", "output")
BLOCK_FIELDS = ("projection", "residual_1", "norm_1", "ffn_hidden", "ffn_output", "residual_2", "norm_2")


def assert_same(a, b):
    for name in ("E", "P", "X", "attention"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.mask is None) == (b.mask is None)
    for ha, hb in zip(a.heads, b.heads, strict=True):
        for name in HEAD_FIELDS:
            assert np.array_equal(getattr(ha, name), getattr(hb, name)), name
    for name in BLOCK_FIELDS:
        assert np.array_equal(getattr(a.block, name), getattr(b.block, name)), name


@settings(max_examples=30, deadline=None)
@given(heads=st.sampled_from([1, 2, 4]), scale=st.sampled_from(["none", "sqrt_dk"]),
       mask=st.sampled_from(["none", "causal"]), weight_scale=st.sampled_from([0.1, 1.0, 3.0]),
       to_scale=st.sampled_from(["none", "sqrt_dk"]), to_mask=st.sampled_from(["none", "causal"]))
def test_a_switch_reusing_the_previous_trace_gives_the_fresh_trace(heads, scale, mask, weight_scale, to_scale, to_mask):
    before = build_config(None, Overrides(heads=heads, scale=scale, mask=mask, weight_scale=weight_scale))
    after = before.replace(scale=to_scale, mask=to_mask)
    assert_same(compute(after, previous=compute(before)), compute(after))


@pytest.mark.parametrize("change", [{"weight_scale": 1.0}, {"heads": 2}, {"sentence": "otra frase"}, {"seed": 7}])
def test_a_previous_trace_of_other_numbers_is_not_reused(change):
    before = compute(build_config(None))
    after = build_config(None, Overrides(**change))
    reused = compute(after, previous=before)
    assert_same(reused, compute(after))
    assert not np.array_equal(reused.heads[-1].weights, before.heads[-1].weights)
