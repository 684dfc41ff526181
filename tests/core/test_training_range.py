"""Training a valid scenario never blames the scenario: a run that takes a weight beyond the
±1e6 every scenario keeps to (or to nan) is refused as what it is, naming the step."""

import re

import numpy as np
import pytest

from tui_attention.core import learning as L
from tui_attention.core.config import MAX_ABS_VALUE, Config, ConfigError

AT_THE_BOUND = [[1e6, -1e6], [1e6, 1e6], [-1e6, 1e6]]


def at_the_bound():
    """A valid scenario whose embeddings are exactly at ±MAX_ABS_VALUE."""
    return Config(tokens=("a", "b", "c"), d_model=2, d_k=2, d_v=2, embeddings=AT_THE_BOUND)


def test_a_scenario_at_the_bound_is_valid_and_trains_to_a_true_message():
    setup = L.make_setup(at_the_bound(), "reverse")
    assert L.trained_config(setup, L.initial_state(setup)).embeddings.max() == MAX_ABS_VALUE  # step 0 is fine
    state = L.train(setup, 1)
    with pytest.raises(L.TrainingError) as caught:
        L.trained_config(setup, state)
    message = str(caught.value)
    assert message.startswith("training left the range a scenario may hold: after step 1, E[")
    assert "beyond ±1e+06" in message
    assert "embeddings.values" not in message and "keep values within" not in message  # not the input's fault
    assert isinstance(caught.value, ConfigError)  # the tutor's learn view and the command line catch it


def test_the_value_shown_is_the_one_out_of_range_not_it_rounded():
    setup = L.make_setup(at_the_bound(), "reverse")
    state = L.train(setup, 1)
    bad = np.argwhere(np.abs(state.params["E"]) > MAX_ABS_VALUE)[0]
    value = float(state.params["E"][tuple(bad)])
    assert f"{value:g}" == "1e+06"  # what the message said, rounded, and took the bound for the value
    with pytest.raises(L.TrainingError, match=rf"E\[{bad[0]}, {bad[1]}\] is {re.escape(repr(value))}, beyond"):
        L.check_in_range(state)


def test_weights_that_are_not_finite_are_called_a_divergence():
    setup = L.make_setup(at_the_bound(), "first")
    params = L.initial_state(setup).params
    params = {**params, "W_v": params["W_v"].copy()}
    params["W_v"][1, 0] = np.nan
    with pytest.raises(L.TrainingError, match=r"^training diverged: after step 7, W_v\[1, 0\] is nan;"):
        L.check_in_range(L.state_from(params, step=7))


def test_a_run_inside_the_range_passes():
    setup = L.make_setup(Config(tokens=("a", "b", "c"), d_model=2, d_k=2, d_v=2), "reverse")
    state = L.train(setup, 20)
    L.check_in_range(state)
    assert L.trained_config(setup, state).training["steps"] == 20
