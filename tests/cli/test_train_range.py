"""`tui-attention train` on a valid scenario whose values are at the ±1e6 bound: the run that
leaves the bound stops at that step, in one true line, exit 2; the scenario is not blamed."""

import json
import subprocess
import sys

SCENARIO = """tokens = ["a", "b", "c"]
d_model = 2
d_k = 2
d_v = 2
[embeddings]
values = [[1e6, -1e6], [1e6, 1e6], [-1e6, 1e6]]
"""


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tui_attention", *args], capture_output=True, text=True, cwd=cwd)


def test_the_scenario_is_valid(tmp_path):
    (tmp_path / "edge.toml").write_text(SCENARIO)
    r = run("trace", "--scenario", "edge.toml", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_training_past_the_bound_says_so_and_after_which_step(tmp_path):
    (tmp_path / "edge.toml").write_text(SCENARIO)
    r = run("train", "--task", "reverse", "--steps", "1", "--scenario", "edge.toml", "--out", "t.toml", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("tui-attention: error: training left the range a scenario may hold: after step 1, E[")
    assert "embeddings.values" not in lines[0] and "keep values within" not in lines[0]
    assert not (tmp_path / "t.toml").exists()


def test_a_long_run_stops_at_the_first_step_out_of_range(tmp_path):
    (tmp_path / "edge.toml").write_text(SCENARIO)
    r = run("train", "--task", "reverse", "--steps", "500", "--format", "json", "--scenario", "edge.toml", cwd=tmp_path)
    assert r.returncode == 2
    assert "after step 1, " in r.stderr
    assert [json.loads(line)["step"] for line in r.stdout.splitlines()] == [0]  # no report past the step that left
