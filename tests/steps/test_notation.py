"""How numbers are written: the width of the longest number a row prints, measured without printing it."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_attention.steps.notation import fmt, widest

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-2e6, max_value=2e6),  # around the switch to scientific notation
    st.sampled_from([9.99995, -9.99995, 999999.99996, 999999.4, 1e6, -0.0, 0.0]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(NUMBERS, max_size=70), st.integers(2, 8))
def test_widest_is_the_longest_number_printed(values, decimals):
    expected = max((len(fmt(x, decimals)) for x in values), default=0)
    assert widest(np.array(values, dtype=float), decimals) == expected


def test_widest_by_hand():
    assert widest(np.array([0.5, -12.25]), 4) == len("-12.2500")
    assert widest(np.array([9.99996]), 4) == len("+10.0000")  # rounding carries a digit
    assert widest(np.array([-np.inf, 0.1]), 2) == len("+0.10")
    assert widest(np.array([-np.inf, -np.inf]), 2) == len("-inf")
    assert widest(np.array([np.nan]), 4) == len("nan")
    assert widest(np.array([]), 4) == 0
