"""Training one head on reverse, previous and first: tasks, Adam, determinism, and that
training on the default scenario learns each task with the attention pattern its
docstring names.  Each task is trained once (module-scoped fixture)."""

import math

import numpy as np
import pytest

from tui_attention.core import ConfigError, build_config, compute
from tui_attention.core import learning as L

STEPS = 2000


@pytest.fixture(scope="module")
def default_config():
    return build_config(None)


@pytest.fixture(scope="module")
def trained(default_config):
    """Each task trained for STEPS steps on the default scenario, with its accuracy at every 100 steps."""
    out = {}
    for task in L.TASKS:
        setup = L.make_setup(default_config, task)
        state, history = L.initial_state(setup), []
        for _ in range(STEPS // 100):
            state = L.train(setup, 100, state)
            history.append((state.step, L.accuracy(setup, state.params)))
        out[task] = (setup, state, history)
    return out


def test_target_positions_by_hand():
    assert L.target_positions("reverse", 5).tolist() == [4, 3, 2, 1, 0]
    assert L.target_positions("previous", 5).tolist() == [-1, 0, 1, 2, 3]
    assert L.target_positions("first", 5).tolist() == [0, 0, 0, 0, 0]
    tokens = np.array([[3, 1, 4, 1, 5]])
    assert L.task_targets("reverse", tokens).tolist() == [[5, 1, 4, 1, 3]]
    assert L.task_targets("previous", tokens).tolist() == [[-1, 3, 1, 4, 1]]
    assert L.task_targets("first", tokens).tolist() == [[3, 3, 3, 3, 3]]


def test_vocabulary_is_the_distinct_words_in_order_and_tasks_set_their_mask(default_config):
    config = default_config.replace(tokens=("la", "casa", "la", "luz", "casa"), embeddings=None,
                                    positions_kind="sinusoidal", positions=None)
    setup = L.make_setup(config, "reverse")
    assert setup.vocabulary == ("la", "casa", "luz")
    assert setup.sentence.tolist() == [0, 1, 0, 2, 1]
    assert setup.config.mask == "none"
    assert L.make_setup(config, "previous").config.mask == "causal"
    assert L.make_setup(config, "first").config.mask == "causal"
    # E starts from the scenario's own rows (the word where it first appears).
    params = L.initial_params(setup)
    assert np.array_equal(params["E"], compute(config).E[[0, 1, 3]])


def test_uniform_readout_gives_log_vocab(default_config):
    # W_out = 0 makes every word equally likely: L = log(5) exactly, and dW_out is the only
    # gradient that is not zero (dZ = dY W_outᵀ = 0 stops the chain).
    setup = L.make_setup(default_config, "reverse")
    params = {**L.initial_params(setup), "W_out": np.zeros((3, 5))}
    tokens, targets = L.training_batch(setup, 1)
    loss, grads = L.loss_and_grads(params, tokens, targets, setup.config)
    assert loss == pytest.approx(math.log(5), abs=1e-12)
    assert np.abs(grads["W_out"]).max() > 0
    for name in ("E", "W_q", "W_k", "W_v"):
        assert not grads[name].any(), name


def test_adam_first_step_moves_each_coordinate_by_lr_against_its_gradient():
    # With m and v at 0, m̂ = g and v̂ = g², so the first step is lr · sign(g) (up to ε).
    theta = np.array([1.0, -2.0, 0.5])
    grad = np.array([3.0, -1e-3, 40.0])
    new, m, v = L.adam(theta, grad, np.zeros(3), np.zeros(3), t=1, lr=0.1)
    assert np.allclose(new, theta - 0.1 * np.sign(grad), atol=1e-6)
    assert np.allclose(m, 0.1 * grad) and np.allclose(v, 0.001 * grad**2)


def test_adam_minimises_a_quadratic():
    theta, m, v = np.array([5.0, -3.0]), np.zeros(2), np.zeros(2)
    for t in range(1, 2001):
        theta, m, v = L.adam(theta, 2 * (theta - [1.0, 2.0]), m, v, t, lr=0.05)
    assert np.allclose(theta, [1.0, 2.0], atol=1e-3)


def test_training_is_deterministic_per_seed(default_config):
    setup = L.make_setup(default_config, "reverse")
    a = L.train(setup, 30)
    b = L.train(setup, 30)
    assert np.array_equal(a.theta, b.theta) and a.loss == b.loss
    # Step k's batch does not depend on what ran before: 10 + 20 steps = 30 steps.
    c = L.train(setup, 20, L.train(setup, 10))
    assert np.array_equal(a.theta, c.theta)
    other = L.train(L.make_setup(default_config.replace(seed=24), "reverse"), 30)
    assert not np.array_equal(a.theta, other.theta)


def test_training_changes_only_the_copy(default_config):
    setup = L.make_setup(default_config, "first")
    start = L.initial_state(setup)
    before = start.theta.copy()
    after = L.train(setup, 5, start)
    assert np.array_equal(start.theta, before)
    assert not np.array_equal(after.theta, before)
    with pytest.raises(ValueError):
        after.params["E"][0, 0] = 1.0  # read-only views


@pytest.mark.parametrize("task", L.TASKS)
def test_each_task_reaches_95_percent_within_2000_steps(trained, task):
    setup, state, history = trained[task]
    assert state.step == STEPS
    best = max(acc for _, acc in history)
    assert best >= 0.95, history
    # It starts far from there: the untrained head is near chance (1 in 5).
    assert L.accuracy(setup, L.initial_params(setup)) < 0.5


@pytest.mark.parametrize("task", L.TASKS)
def test_trained_attention_looks_where_the_task_says(trained, task):
    setup, state, _ = trained[task]
    _, fwd, _ = L.sentence_pass(setup, state.params)
    a = fwd.A[0]
    where = setup.targets_at
    for i in range(setup.config.n):
        j = where[i] if where[i] >= 0 else i  # previous, word 1: the causal mask leaves only itself
        assert a[i, j] >= 0.8, (task, i, a.round(3))
    # Before training, no row was that sure (the notebook's weights are near uniform).
    _, fwd0, _ = L.sentence_pass(setup, L.initial_params(setup))
    assert fwd0.A[0].max(axis=1).min() < 0.5


def test_the_loss_falls(trained):
    setup, state, _ = trained["reverse"]
    first = L.train_step(setup, L.initial_state(setup)).loss
    assert state.loss < first / 10


def test_evaluation_uses_every_sequence_when_few(default_config):
    setup = L.make_setup(default_config, "reverse")
    tokens = L.evaluation_tokens(setup)
    assert tokens.shape == (5**5, 5)
    assert len({tuple(row) for row in tokens.tolist()}) == 5**5


@pytest.mark.parametrize("kwargs, word", [
    ({"task": "sideways"}, "task"),
    ({"task": "reverse", "batch": 0}, "batch"),
    ({"task": "reverse", "batch": True}, "batch"),
    ({"task": "reverse", "lr": 0.0}, "lr"),
    ({"task": "reverse", "lr": float("nan")}, "lr"),
    ({"task": "reverse", "batch": 4096}, "batch"),
])
def test_bad_setups_are_config_errors(default_config, kwargs, word):
    config = default_config
    if kwargs.get("batch") == 4096:
        config = build_config(None).replace(tokens=tuple(f"w{i}" for i in range(40)), embeddings=None,
                                           positions_kind="sinusoidal", positions=None)
    with pytest.raises(ConfigError, match=word):
        L.make_setup(config, **kwargs)


def test_one_word_has_nothing_to_learn_for_previous():
    config = build_config(None).replace(tokens=("hola",), embeddings=None, positions_kind="none", positions=None)
    with pytest.raises(ConfigError, match="nothing to learn"):
        L.make_setup(config, "previous")
    L.make_setup(config, "first")  # the word itself is its target


def test_trained_config_round_trips_through_toml_with_its_training_table(trained, tmp_path):
    from tui_attention.core.scenario import dumps_scenario, load_scenario

    setup, state, _ = trained["reverse"]
    config = L.trained_config(setup, state)
    assert config.heads == 1 and config.mask == "none"
    assert config.training["task"] == "reverse" and config.training["steps"] == STEPS
    assert config.training["w_out"].shape == (3, 5)
    path = tmp_path / "r.toml"
    path.write_text(dumps_scenario(config))
    back = load_scenario(path)
    assert back.same_as(config)
    assert not back.same_as(back.replace(training=None))
    # The file's trace is the trained head: every row on the mirror word.
    assert compute(back).heads[0].weights.argmax(axis=1).tolist() == [4, 3, 2, 1, 0]


def test_a_trained_scenario_starts_training_again_where_it_stopped(trained):
    # Audit: the learn view on a trained scenario (or after "use these weights") started with
    # the attention learnt and a fresh random readout: loss 1.15, accuracy 40 % at step 0.
    setup, state, _ = trained["reverse"]
    config = L.trained_config(setup, state)
    again = L.make_setup(config, "reverse")
    start = L.initial_params(again)
    assert np.array_equal(start["W_out"], config.training["w_out"])
    assert L.accuracy(again, start) == L.accuracy(setup, state.params) == 1.0
    # Another task's readout was trained for other targets: that one starts fresh, as on any scenario.
    other = L.make_setup(config, "first")
    assert np.array_equal(L.initial_params(other)["W_out"],
                          L.initial_params(L.make_setup(config.replace(training=None), "first"))["W_out"])


def test_a_multi_head_scenario_trains_its_first_head(default_config):
    two = default_config.with_heads(2)
    setup = L.make_setup(two, "first")
    assert setup.config.heads == 1
    assert np.array_equal(L.initial_params(setup)["W_q"], compute(two).heads[0].W_q)


def test_training_goes_on_from_a_trained_scenario_as_if_it_had_not_stopped(default_config, tmp_path):
    # ML audit: a trained scenario started Adam again with its running means at 0, so its first
    # update moved every number by lr however small its gradient: on the shipped reverse the loss
    # went from 7.7e-06 to 4.2 in one step, and the step count began again at 0. Adam's means
    # now go with the weights ([training] adam_m, adam_v) and training goes on from there.
    from tui_attention.core.scenario import dumps_scenario, load_scenario

    setup = L.make_setup(default_config, "reverse")
    half = L.train(setup, 150)
    path = tmp_path / "half.toml"
    path.write_text(dumps_scenario(L.trained_config(setup, half)))
    again = L.make_setup(load_scenario(path), "reverse")
    resumed = L.initial_state(again)
    assert resumed.step == 150 and np.array_equal(resumed.m, half.m) and np.array_equal(resumed.v, half.v)
    whole = L.train(setup, 300)
    assert np.array_equal(L.train(again, 150, resumed).theta, whole.theta)  # bit for bit
    assert L.trained_config(again, L.train(again, 150, resumed)).training["steps"] == 300
    # Another task starts afresh: its readout and its means belong to no earlier run.
    assert L.initial_state(L.make_setup(load_scenario(path).replace(mask="causal"), "first")).step == 0


@pytest.mark.parametrize("moments, message", [
    ({"adam_m": [0.0] * 5}, "training.adam_m: given without training.adam_v"),
    ({"adam_m": [0.0], "adam_v": [0.0]}, "training.adam_m: shape is"),
    ({"adam_m": [0.0] * 5, "adam_v": [0.0, 0.0, -1.0, 0.0, 0.0]}, "training.adam_v: value at [2] is -1.0"),
    ({"adam_m": [0.0] * 5, "adam_v": [0.0] * 4 + [math.inf]}, "training.adam_v: value at [4] is not finite"),
])
def test_adam_means_in_a_training_table_are_checked(moments, message):
    # One word, d_model = d_k = d_v = 1: E, W_q, W_k, W_v and W_out move 1 + 3 + 1 = 5 numbers.
    config = build_config(None).replace(tokens=("a",), d_model=1, d_k=1, d_v=1, embeddings=None,
                                        positions_kind="none", positions=None, weights={})
    table = {"task": "first", "steps": 3, "seed": 1, "w_out": [[0.0]], **moments}
    with pytest.raises(ConfigError) as error:
        config.replace(training=table)
    assert message in str(error.value), str(error.value)
    assert config.replace(training={**table, "adam_m": [0.1] * 5, "adam_v": [0.01] * 5}).training["steps"] == 3
