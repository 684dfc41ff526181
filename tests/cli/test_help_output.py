"""Help that cannot be written is one line and exit status 2, like any other output."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv", [("-h",), ("trace", "--help"), ("serve", "ssh", "--help")])
def test_help_on_a_full_disk_is_one_line_and_exit_2(argv):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "tui_attention", *argv], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["tui-attention: cannot write to standard output: No space left on device"]


def test_help_is_printed_whole():
    done = subprocess.run([sys.executable, "-m", "tui_attention", "-h"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert "usage: tui-attention" in done.stdout and "serve" in done.stdout and "train" in done.stdout
