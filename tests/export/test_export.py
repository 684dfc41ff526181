"""Exports: npz, csv, md and py carry the trace's numbers; bad OUT is one line, exit 2;
and a scenario edited in one cell survives a save/load round trip."""

import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tui_attention.core.scenario import dumps_scenario, Overrides, build_config, load_scenario
from tui_attention.infra.files import write_atomic
from tui_attention.core.tensors import trace_tensors
from tui_attention.core.trace import compute
from tui_attention.export import ExportError, export_trace, tensor_labels, to_markdown, to_script

NOTEBOOK = compute(build_config(None))
TWO_HEADS = compute(build_config(None, Overrides(heads=2, mask="causal", scale="sqrt_dk", weight_scale=1)))


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tui_attention", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("trace", [NOTEBOOK, TWO_HEADS], ids=["notebook", "two-heads-causal"])
def test_npz_has_every_tensor_and_tokens(tmp_path, trace):
    out = export_trace(trace, "npz", tmp_path / "t.npz")
    tensors = trace_tensors(trace)
    with np.load(out, allow_pickle=False) as data:
        assert set(data.files) == set(tensors) | {"tokens"}
        for name, value in tensors.items():
            np.testing.assert_array_equal(data[name], value, err_msg=name)
        assert tuple(data["tokens"].tolist()) == trace.tokens


def test_npz_without_suffix_keeps_the_given_name(tmp_path):
    out = export_trace(NOTEBOOK, "npz", tmp_path / "trace")
    assert out == tmp_path / "trace" and out.is_file() and not (tmp_path / "trace.npz").exists()


def test_csv_folder_one_file_per_tensor_readable_by_numpy_and_csv(tmp_path):
    trace = TWO_HEADS
    out = export_trace(trace, "csv", tmp_path / "csv")
    tensors = trace_tensors(trace)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.csv" for name in tensors)
    for name, value in tensors.items():
        path = out / f"{name}.csv"
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        _, row_labels, col_labels = tensor_labels(trace, name)
        assert rows[0][1:] == col_labels
        assert [r[0] for r in rows[1:]] == row_labels
        loaded = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, len(col_labels) + 1), ndmin=2, encoding="utf-8")
        np.testing.assert_array_equal(loaded, value.reshape(loaded.shape), err_msg=name)  # full precision, -inf kept
    weights = list(csv.reader((out / "heads.1.weights.csv").open(encoding="utf-8")))
    assert weights[0] == ["query", *trace.tokens]
    assert weights[1][0] == trace.tokens[0]
    assert "-inf" in (out / "heads.0.logits.csv").read_text(encoding="utf-8")


def test_markdown_tables_with_shapes_and_signed_numbers():
    md = to_markdown(NOTEBOOK)
    h = NOTEBOOK.heads[0]
    assert "## heads.0.weights (5 × 5)" in md
    assert "## block.W_1 (4 × 5)" in md and "## block.b_1 (5)" in md
    assert "| query | me | gusta | estudiar | inteligencia | artificial |" in md
    row = "| me | " + " | ".join(f"{x:+.4f}" for x in h.weights[0]) + " |"
    assert row in md
    assert f"{h.Q[0, 0]:+.4f}" in md
    for name in trace_tensors(NOTEBOOK):
        assert f"## {name} (" in md
    # Each description opens with a capital, unless it opens with a symbol, kept as written.
    assert "\nToken embeddings.\n" in md and "\nQueries, Q = X W_q.\n" in md
    assert "\nffn_activation W_2 + b_2.\n" in md and "\nnorm_1 W_1 + b_1, before ReLU.\n" in md
    assert "Ffn_activation" not in md and "Norm_1" not in md


def test_hostile_words_stay_text_in_markdown_and_data_in_csv(tmp_path):
    # Audit: a typed <style> hid the rendered page, <!-- hid text, and =HYPERLINK(...) was a
    # live spreadsheet formula in the CSV.
    words = ["<style>body{display:none}</style>", "<!--x-->", "*bold*", "[a](b)", "=HYPERLINK(1)", "@x", "-1", "ok"]
    trace = compute(build_config(None, Overrides(sentence=" ".join(words))))
    md = to_markdown(trace)
    assert "<style>" not in md and "<!--" not in md and "*bold*" not in md and "[a](b)" not in md
    assert "\\<style\\>" in md and "\\*bold\\*" in md
    # Unescaped, each word comes back as typed (CommonMark: a backslash before punctuation).
    header = next(line for line in md.splitlines() if line.startswith("| query |"))
    cells = [re.sub(r"\\(.)", r"\1", c) for c in re.split(r"(?<!\\)\|", header)[2:-1]]
    assert [c.strip() for c in cells] == words
    out = export_trace(trace, "csv", tmp_path / "csv")
    with open(out / "E.csv", newline="") as fh:
        labels = [row[0] for row in csv.reader(fh)][1:]
    assert labels == ["<style>body{display:none}</style>", "<!--x-->", "*bold*", "[a](b)", "'=HYPERLINK(1)",
                      "'@x", "'-1", "ok"]
    with open(out / "E.csv", newline="") as fh:
        assert float(list(csv.reader(fh))[1][1]) == trace.E[0, 0]  # numbers as they are


def _parse_script_output(text):
    """name -> flat numbers, from blocks 'name (shape):' then a printed array."""
    blocks = {}
    for m in re.finditer(r"^(\S+) \(([\d, ]+)\):\n(.*?)(?:\n\n|\Z)", text, re.S | re.M):
        shape = tuple(int(s) for s in m.group(2).replace(" ", "").split(",") if s)
        numbers = [float(x) for x in re.findall(r"-?\d+\.\d*(?:e[+-]?\d+)?|-?inf", m.group(3))]
        blocks[m.group(1)] = np.array(numbers).reshape(shape)
    return blocks


@pytest.mark.parametrize("trace", [NOTEBOOK, TWO_HEADS], ids=["notebook", "two-heads-causal"])
def test_py_script_runs_standalone_and_prints_the_trace(tmp_path, trace):
    out = export_trace(trace, "py", tmp_path / "attention.py")
    source = out.read_text(encoding="utf-8")
    imports = re.findall(r"^\s*(?:import|from)\s+(\w+)", source, re.M)
    assert set(imports) == {"numpy"}
    # the inputs at full precision
    assert repr(float(trace.heads[0].W_q[0, 0])) in source and repr(float(trace.E[1, 2])) in source
    r = subprocess.run([sys.executable, "-I", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    printed = _parse_script_output(r.stdout)
    tensors = trace_tensors(trace)
    expected = [f"heads.{h}.{k}" for h in range(len(trace.heads)) for k in ("weights", "output")]
    expected += ["attention", "block.projection", "block.norm_1", "block.ffn_output", "block.norm_2"]
    assert list(printed) == expected
    for name in expected:
        np.testing.assert_allclose(printed[name], tensors[name], atol=6e-5, rtol=0, err_msg=name)


def test_py_script_is_the_same_computation_when_edited(tmp_path):
    # Not just printed copies: changing an input in the script changes the outputs.
    source = to_script(NOTEBOOK).replace('MASK = "none"', 'MASK = "causal"')
    path = tmp_path / "edited.py"
    path.write_text(source, encoding="utf-8")
    r = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    printed = _parse_script_output(r.stdout)
    causal = compute(build_config(None, Overrides(mask="causal")))
    np.testing.assert_allclose(printed["heads.0.weights"], causal.heads[0].weights, atol=6e-5, rtol=0)
    assert printed["heads.0.weights"][0, 1] == 0.0


def test_export_command_each_format(tmp_path):
    for fmt, name in (("npz", "a.npz"), ("csv", "a_csv"), ("md", "a.md"), ("py", "a.py")):
        r = run_cli("export", "--format", fmt, name, "--mask", "causal", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / name).exists()
    with np.load(tmp_path / "a.npz") as data:
        np.testing.assert_array_equal(data["heads.0.weights"], compute(build_config(None, Overrides(mask="causal"))).heads[0].weights)
    r = run_cli("export", "b.md", cwd=tmp_path)  # format from the suffix
    assert r.returncode == 0 and (tmp_path / "b.md").read_text(encoding="utf-8").startswith("# Attention trace")
    r = run_cli("export", "--format", "md", "-", cwd=tmp_path)
    assert r.returncode == 0 and "## X (5 × 4)" in r.stdout


@pytest.mark.parametrize("args,message", [
    (["--format", "npz", "/nonexistent-dir/x.npz"], "does not exist"),
    (["--format", "md", "{file}/x.md"], "is not a folder"),
    (["--format", "csv", "{file}"], "csv export writes a folder"),
    (["--format", "npz", "{dir}"], "it is a folder"),
    (["out.txt"], "give --format"),
    (["--format", "npz", "-"], "works for md and py"),
    (["--format", "npz", "x.npz", "--heads", "0"], "heads"),
])
def test_bad_out_is_one_line_exit_2(tmp_path, args, message):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    args = [a.format(file=tmp_path / "afile", dir=tmp_path / "adir") for a in args]
    r = run_cli("export", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert r.stdout == ""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_no_permission_is_one_line_exit_2(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        r = run_cli("export", "--format", "npz", str(locked / "x.npz"))
        assert r.returncode == 2 and "permission denied" in r.stderr
    finally:
        locked.chmod(0o700)


def test_export_trace_raises_export_error_for_the_app(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export_trace(NOTEBOOK, "md", tmp_path / "missing" / "x.md")
    with pytest.raises(ExportError, match="unknown export format"):
        export_trace(NOTEBOOK, "xlsx", tmp_path / "x.xlsx")


def test_files_are_overwritten(tmp_path):
    path = tmp_path / "t.md"
    path.write_text("old", encoding="utf-8")
    export_trace(TWO_HEADS, "md", path)
    assert path.read_text(encoding="utf-8").startswith("# Attention trace")
    assert [p.name for p in tmp_path.iterdir()] == ["t.md"]  # no temporary files left


def test_scenario_round_trip_after_changing_one_cell(tmp_path):
    config = build_config(None)
    modified = np.array(config.weights["w_q"])
    modified[1, 2] = 0.75
    edited = config.replace(weights={**config.weights, "w_q": modified})
    write_atomic(tmp_path / "edited.toml", dumps_scenario(edited))
    loaded = load_scenario(tmp_path / "edited.toml")
    assert loaded.same_as(edited)
    a, b = compute(edited), trace_tensors(compute(loaded))
    for name, value in trace_tensors(a).items():
        np.testing.assert_array_equal(b[name], value, err_msg=name)
    assert b["heads.0.W_q"][1, 2] == 0.75
    assert not np.allclose(b["heads.0.Q"], NOTEBOOK.heads[0].Q)  # the change reached the numbers
    # and the export of the loaded scenario carries the edited cell
    r = run_cli("export", "--scenario", str(tmp_path / "edited.toml"), "--format", "npz", str(tmp_path / "e.npz"))
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "e.npz") as data:
        assert data["heads.0.W_q"][1, 2] == 0.75
