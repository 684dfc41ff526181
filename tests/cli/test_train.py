"""`tui-attention train`: JSON lines, the trained scenario it writes (and that `trace` and
the loader read back), and bad input as one line with exit status 2."""

import json
import re
import subprocess
import sys
import tomllib

import numpy as np
import pytest

from tui_attention.cli import main
from tui_attention.core import learning
from tui_attention.core.scenario import load_scenario
from tui_attention.steps.notation import significant


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tui_attention", *args], capture_output=True, text=True, cwd=cwd)


def test_reverse_out_then_trace_shows_the_mirror_in_every_row(tmp_path):
    # The "done when": train, write, trace the file, look at each row's largest weight.
    done = run("train", "--task", "reverse", "--out", "r.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    traced = run("trace", "--scenario", "r.toml", "--format", "json", cwd=tmp_path)
    assert traced.returncode == 0, traced.stderr
    data = json.loads(traced.stdout)
    weights = np.array(data["heads"][0]["weights"])
    n = len(data["tokens"])
    assert n == 5
    assert [int(row.argmax()) for row in weights] == [n - 1 - i for i in range(n)]
    assert data["config"]["mask"] == "none"
    assert data["config"]["explicit_weights"] == ["w_k", "w_q", "w_v"]


def test_the_written_file_has_the_training_table_and_loads_back(tmp_path, capsys):
    out = tmp_path / "p.toml"
    assert main(["train", "--task", "previous", "--steps", "200", "--out", str(out), "--format", "json"]) == 0
    raw = tomllib.loads(out.read_text())
    assert raw["training"]["task"] == "previous"
    assert raw["training"]["steps"] == 200
    assert raw["training"]["seed"] == 23
    assert np.array(raw["training"]["w_out"]).shape == (3, 5)
    assert raw["mask"] == "causal" and raw["heads"] == 1
    config = load_scenario(out)
    assert config.training["task"] == "previous"
    # The same numbers as training in-process: E rows of the sentence, W_q, W_k, W_v, W_out.
    setup = learning.make_setup(load_scenario(learning_default()), "previous")
    state = learning.train(setup, 200)
    assert np.array_equal(config.embeddings, state.params["E"][setup.sentence])
    assert np.array_equal(config.weights["w_q"], state.params["W_q"])
    assert np.array_equal(config.training["w_out"], state.params["W_out"])
    assert out.read_text().startswith("# Trained by: tui-attention train --task previous --steps 200")


def learning_default():
    from tui_attention.core.scenario import default_scenario_path

    return default_scenario_path()


def test_json_lines_step_loss_accuracy(capsys):
    assert main(["train", "--task", "first", "--steps", "50", "--every", "10", "--format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["step"] for r in lines] == [0, 10, 20, 30, 40, 50]
    for r in lines:
        assert set(r) == {"step", "loss", "accuracy"}
        assert 0.0 <= r["accuracy"] <= 1.0 and r["loss"] >= 0.0
    assert lines[0]["loss"] == pytest.approx(np.log(5), abs=0.05)  # near chance at the start
    assert lines[-1]["loss"] < lines[0]["loss"] / 2
    assert lines[-1]["accuracy"] > lines[0]["accuracy"]


def test_same_seed_same_lines_other_seed_other_lines(capsys):
    argv = ["train", "--task", "reverse", "--steps", "30", "--format", "json"]
    main(argv)
    first = capsys.readouterr().out
    main(argv)
    assert capsys.readouterr().out == first
    main([*argv, "--seed", "5"])
    assert capsys.readouterr().out != first


def test_text_report_ends_with_the_trained_attention(capsys):
    assert main(["train", "--task", "reverse", "--steps", "300"]) == 0
    out = capsys.readouterr().out
    assert "step 0/300" in out and "step 300/300" in out
    assert "accuracy 100.0%" in out
    rows = [line.split() for line in out.splitlines() if line.strip().split(" ")[0] in
            ("me", "gusta", "estudiar", "inteligencia", "artificial")]
    stars = [next(k for k, cell in enumerate(r[1:]) if cell.endswith("*")) for r in rows]
    assert stars == [4, 3, 2, 1, 0]


@pytest.mark.parametrize("argv, message", [
    (["train"], "the following arguments are required: --task"),
    (["train", "--task", "sideways"], "invalid choice"),
    (["train", "--task", "reverse", "--steps", "-1"], "steps: must be a whole number from 0"),
    (["train", "--task", "reverse", "--lr", "0"], "lr: must be a number in (0, 10]"),
    (["train", "--task", "reverse", "--lr", "x"], "must be a number"),
    (["train", "--task", "reverse", "--batch", "0"], "batch: must be a whole number from 1"),
    (["train", "--task", "reverse", "--every", "0"], "--every must be at least 1"),
    (["train", "--task", "reverse", "--mask", "causal"], "needs --mask none"),
    (["train", "--task", "first", "--mask", "none"], "needs --mask causal"),
    (["train", "--task", "reverse", "--heads", "2"], "one head is trained"),
    (["train", "--task", "reverse", "--out", "r.txt"], "must end in .toml"),
    (["train", "--task", "reverse", "--out", "/nonexistent/r.toml"], "does not exist"),
    (["train", "--task", "previous", "--sentence", "hola"], "nothing to learn"),
    (["train", "--task", "reverse", "--sentence", " ".join(f"w{i}" for i in range(200))], "attention cells"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("table, message", [
    ('task = "sideways"\nsteps = 1\nseed = 1\nw_out = [[0.0]]', "training.task: must be one of"),
    ('task = "first"\nsteps = 1\nseed = 1', "training.w_out: missing"),
    ('task = "first"\nsteps = 1\nseed = 1\nw_out = [[0.0, 1.0]]', "training.w_out: shape is 1x2, expected 1x1"),
    ('task = "first"\nsteps = -3\nseed = 1\nw_out = [[0.0]]', "training.steps: must be between 0"),
    ('task = "first"\nsteps = 1\nseed = 1\nw_out = [[0.0]]\ncolour = 1', "unknown key training.'colour'"),
])
def test_a_bad_training_table_is_one_line_and_exit_2(tmp_path, table, message):
    path = tmp_path / "t.toml"
    path.write_text(f'tokens = ["a"]\nd_model = 1\nd_k = 1\nd_v = 1\n[training]\n{table}\n')
    done = run("trace", "--scenario", str(path))
    assert done.returncode == 2
    assert message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("task", learning.TASKS)
def test_shipped_trained_scenarios_load_by_name_and_show_their_pattern(task, capsys):
    assert main(["trace", "--scenario", task, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    weights = np.array(data["heads"][0]["weights"])
    where = learning.target_positions(task, 5)
    for i, j in enumerate(where):
        assert weights[i, j if j >= 0 else i] >= 0.8, (task, i)
    from tui_attention.core.scenario import resolve_scenario

    config = load_scenario(resolve_scenario(task))
    assert config.training["task"] == task and config.training["steps"] == 1000


def test_the_shipped_reverse_is_what_the_script_makes():
    # scripts/make_trained_scenario.py: 1000 default steps on the notebook's scenario.
    from tui_attention.core.scenario import build_config, resolve_scenario

    setup = learning.make_setup(build_config(None), "reverse")
    made = learning.trained_config(setup, learning.train(setup, 1000))
    shipped = load_scenario(resolve_scenario("reverse"))
    # Close, not equal: another BLAS may round a last bit differently over 1000 steps.
    assert np.allclose(shipped.embeddings, made.embeddings, rtol=1e-6, atol=1e-9)
    assert np.allclose(shipped.training["w_out"], made.training["w_out"], rtol=1e-6, atol=1e-9)


def test_an_unknown_name_lists_the_shipped_ones_and_a_local_file_wins(tmp_path, capsys, monkeypatch):
    assert main(["trace", "--scenario", "reversed"]) == 2
    err = capsys.readouterr().err
    assert "reversed: no such file, and no shipped scenario of that name" in err
    assert "first, notebook, previous, reverse" in err and err.count("\n") == 1
    # A file called "reverse" in the current folder is read instead of the shipped one.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reverse").write_text('tokens = ["solo"]\nd_model = 2\n')
    assert main(["trace", "--scenario", "reverse", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == ["solo"]


def test_a_sure_model_reports_a_loss_of_zero_not_minus_zero(capsys):
    # One word: every prediction is that word with probability 1, log p = 0 exactly.
    assert main(["train", "--task", "reverse", "--steps", "3", "--sentence", "a a a"]) == 0
    out = capsys.readouterr().out
    assert "loss 0 " in out and "loss 0," in out and "-0" not in out, out


def test_a_tiny_loss_is_printed_to_three_significant_digits_not_as_zero(capsys):
    # Lesson 12: the loss never reaches 0. Late in training it is about 1e-5, which four fixed
    # decimals printed as "loss 0.0000"; the text now gives 3 significant digits, as the learn
    # view does, and JSON keeps the number itself.
    argv = ["train", "--task", "reverse", "--steps", "300", "--every", "100"]
    assert main([*argv, "--format", "json"]) == 0
    losses = [json.loads(line)["loss"] for line in capsys.readouterr().out.splitlines()]
    assert len(losses) == 4 and 0 < losses[-1] < 5e-5
    assert main(argv) == 0
    out = capsys.readouterr().out
    printed = re.findall(r"loss (\S+?),?  ?(?=accuracy)", out)
    assert printed == [significant(x, 3) for x in [*losses, losses[-1]]], out
    assert "0.0000" not in out and float(printed[-1]) == pytest.approx(losses[-1], rel=5e-3)
    # The progress bar on a terminal says the same.
    from tui_attention.cli.train import _progress_bar

    setup = learning.make_setup(load_scenario(learning_default()), "reverse")
    state = learning.train(setup, 300)
    report, progress = _progress_bar(setup, 300)
    report(state)
    assert progress.tasks[0].description == f"loss {significant(losses[-1], 3)}  accuracy 100.0%"
