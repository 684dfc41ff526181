"""The command line opens the tutor without importing what only other commands use, and sets
NumPy's BLAS to one thread unless the user chose otherwise (docs/performance.md, start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os, sys
from tui_attention.cli import parse
args = parse(sys.argv[1:])
print(json.dumps({"command": args.command, "blas": os.environ.get("OPENBLAS_NUM_THREADS"),
                  "modules": sorted(m for m in sys.modules if m.startswith("tui_attention."))}))
"""


def probe(*argv: str, env: dict | None = None) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    environ.update(env or {})
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=environ,
                         check=True, timeout=60)
    return json.loads(out.stdout)


@pytest.mark.parametrize("argv", [(), ("run", "--lesson", "2"), ("--sentence", "a b c")])
def test_opening_the_tutor_imports_no_other_command(argv):
    seen = probe(*argv)
    assert seen["command"] == "run"
    cli = [m for m in seen["modules"] if m.startswith("tui_attention.cli.")]
    assert cli == ["tui_attention.cli.main", "tui_attention.cli.options", "tui_attention.cli.run"]
    assert not [m for m in seen["modules"] if m.startswith(("tui_attention.serve", "tui_attention.export"))]


def test_a_command_imports_its_own_module_and_help_lists_them_all():
    seen = probe("trace")
    assert [m for m in seen["modules"] if m.startswith("tui_attention.cli.")] == [
        "tui_attention.cli.main", "tui_attention.cli.options", "tui_attention.cli.trace"]
    from tui_attention.cli import COMMANDS, build_parser

    listed = build_parser().format_help()
    assert all(name in listed for name in COMMANDS)


def test_blas_runs_on_one_thread_unless_the_user_says_otherwise():
    assert probe()["blas"] == "1"
    assert probe(env={"OPENBLAS_NUM_THREADS": "2"})["blas"] == "2"
    assert probe(env={"OMP_NUM_THREADS": "2"})["blas"] is None  # OpenBLAS reads OMP_NUM_THREADS then
