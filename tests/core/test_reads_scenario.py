"""Scenario files the parser chokes on, or whose numbers are not numbers: one line naming the
file, exit status 2, never a traceback (RecursionError, OverflowError, int()'s digit limit)."""

import importlib

import numpy as np
import pytest

from tui_attention.core import Config, ConfigError, load_scenario
from tui_attention.core.config import frozen_matrix

TWO = 'tokens = ["a", "b"]\n'
CASES = {
    "deep arrays": ("tokens = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "deep inline tables": ("tokens = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "nested too deeply"),
    "400-digit integer in a matrix": (TWO + "d_model = 1\n[embeddings]\nvalues = [[" + "9" * 400 + "], [1]]\n",
                                      "embeddings.values[0][0] is out of range"),
    "5000-digit seed": (TWO + "seed = " + "9" * 5000 + "\n", "too many digits"),
    "5000-hex-digit seed": (TWO + "seed = 0x" + "f" * 5000 + "\n", "seed is out of range"),
    "400-digit weight_scale": (TWO + "weight_scale = 1" + "0" * 400 + "\n", "weight_scale is out of range"),
    "strings in a matrix": (TWO + 'd_model = 2\nd_k = 1\n[weights]\nw_q = [["1.5"], ["2"]]\n',
                            "weights.w_q: value at [0, 0] is '1.5', not a number"),
    "booleans in a matrix": (TWO + "d_model = 2\nd_k = 1\n[weights]\nw_k = [[true], [false]]\n",
                             "weights.w_k: value at [0, 0] is True, not a number"),
    "a boolean among numbers": (TWO + "d_model = 2\n[embeddings]\nvalues = [[1.0, 2.0], [3, false]]\n",
                                "embeddings.values: value at [1, 1] is False, not a number"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["trace", "export"])
def test_a_scenario_that_cannot_be_used_is_one_line_and_exit_2(case, command, tmp_path, capsys):
    text, expected = CASES[case]
    path = tmp_path / "s.toml"
    path.write_text(text)
    args = [command, "--scenario", str(path)] + ([str(tmp_path / "out.npz")] if command == "export" else [])
    assert importlib.import_module("tui_attention.cli.main").main(args) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[:2000]
    assert str(path) in lines[0] and expected in lines[0]
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("case", list(CASES))
def test_load_scenario_raises_only_config_error(case, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(CASES[case][0])
    with pytest.raises(ConfigError, match=str(path)):
        load_scenario(path)


def test_integers_within_64_bits_and_mixed_with_floats_still_load(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(TWO + f"seed = {2**32 - 1}\nd_model = 2\n[embeddings]\nvalues = [[1, 2.5], [-3, 0]]\n"
                    + f"[training]\nunused = [{-2**63}, {2**63 - 1}, nan, 1e300]\n")
    with pytest.raises(ConfigError, match="unknown key training.'unused'"):  # read, then refused by name
        load_scenario(path)
    path.write_text(TWO + f"seed = {2**32 - 1}\nd_model = 2\n[embeddings]\nvalues = [[1, 2.5], [-3, 0]]\n")
    cfg = load_scenario(path)
    assert cfg.seed == 2**32 - 1 and cfg.embeddings.tolist() == [[1.0, 2.5], [-3.0, 0.0]]


def test_frozen_matrix_refuses_an_int_beyond_float64_strings_and_booleans():
    with pytest.raises(ConfigError, match="must be a 1x1 array of numbers"):
        frozen_matrix("m", [[10**400]], (1, 1))
    with pytest.raises(ConfigError, match=r"m: value at \[0, 1\] is '2', not a number"):
        frozen_matrix("m", [[1.0, "2"]], (1, 2))
    with pytest.raises(ConfigError, match=r"m: value at \[1\] is True, not a number"):
        frozen_matrix("m", [0, True], (2,))
    with pytest.raises(ConfigError, match="m: must be numbers, got an array of bool"):
        frozen_matrix("m", np.array([[True]]), (1, 1))
    with pytest.raises(ConfigError, match="not a number"):
        Config(tokens=("a",), d_model=1, embeddings=[["x" * 10_000]])
    assert frozen_matrix("m", np.array([[1, 2]]), (1, 2)).dtype == np.float64  # an int array is numbers


def test_a_long_string_in_a_matrix_is_shown_cut(tmp_path):
    with pytest.raises(ConfigError) as caught:
        frozen_matrix("m", [["x" * 100_000]], (1, 1))
    assert len(str(caught.value)) < 200
