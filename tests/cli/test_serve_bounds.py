"""`serve ssh|web`: every numeric option has a range, checked before anything starts, and a
--host the server cannot listen on is named escaped. Security audit: --memory-limit
99999999999999999 (or --cpu-limit 9223372036854775807) started the server, then every
attendee's tutor failed; --memory-limit 100 did too ("OpenBLAS error: Memory allocation still
failed"); --host $'bad\\x1b[31mhost' wrote its escape sequence raw on the terminal."""

import os
import subprocess
import sys

import pytest

from tui_attention.cli import build_parser, main
from tui_attention.cli import serve as serve_cli

TOO_BIG = {
    "--memory-limit": ("99999999999999999", "at least 256 and at most 16777216"),
    "--memory-budget": ("99999999999999999", "at least 64 and at most 16777216"),
    "--session-disk": ("99999999999999999", "at least 1 and at most 16777216"),
    "--cpu-limit": ("9223372036854775807", "at least 1 and at most 10000000"),
    "--max-sessions": ("99999999999999999", "at least 1 and at most 10000"),
    "--max-per-address": ("99999999999999999", "at least 1 and at most 10000"),
    "--start-burst": ("99999999999999999", "at least 1 and at most 10000"),
    "--start-interval": ("1e300", "at least 0 and at most 10000000 seconds"),
    "--idle-timeout": ("1e300", "at least 0 and at most 10000000 seconds"),
}


@pytest.fixture
def never_serves(monkeypatch):
    """A server command that got past its checks would start: fail the test instead of serving."""
    def started(*_args, **_kwargs):
        raise AssertionError("the server was started")

    monkeypatch.setattr(serve_cli, "_serve", started)


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("kind", ["ssh", "web"])
@pytest.mark.parametrize("option", list(TOO_BIG))
def test_a_numeric_option_past_its_range_is_one_line_naming_it_and_the_range(kind, option, never_serves, capsys):
    value, expected = TOO_BIG[option]
    assert main(["serve", kind, option, value]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"argument {option}: must be {expected}, got " in line, line


def test_a_memory_limit_no_tutor_starts_in_is_refused(never_serves, capsys):
    # Measured: a served tutor needs about 170 MB of address space to draw its first screen.
    assert main(["serve", "web", "--memory-limit", "150"]) == 2
    assert "argument --memory-limit: must be at least 256" in one_line(capsys.readouterr().err)


def test_the_ends_of_every_range_are_taken():
    low = build_parser().parse_args([
        "serve", "ssh", "--memory-limit", "256", "--memory-budget", "64", "--session-disk", "1", "--cpu-limit", "1",
        "--max-sessions", "1", "--max-per-address", "1", "--start-burst", "1", "--start-interval", "0",
        "--idle-timeout", "0"])
    assert (low.memory_limit, low.cpu_limit, low.max_sessions, low.idle_timeout) == (256, 1, 1, 0.0)
    high = build_parser().parse_args([
        "serve", "web", "--memory-limit", "16777216", "--memory-budget", "16777216", "--session-disk", "16777216",
        "--cpu-limit", "10000000", "--max-sessions", "10000", "--max-per-address", "10000", "--start-burst", "10000",
        "--start-interval", "1e7", "--idle-timeout", "10000000"])
    assert (high.memory_limit, high.cpu_limit, high.start_burst, high.start_interval) == (16777216, 10**7, 10**4, 1e7)


@pytest.mark.parametrize("kind", ["ssh", "web"])
def test_a_host_with_an_escape_sequence_is_named_escaped(kind, tmp_path):
    pytest.importorskip("asyncssh" if kind == "ssh" else "textual_serve")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "tui_attention", "serve", kind, "--host", "bad\x1b[31mhost",
                           "--port", "0", "--unconfined", "--no-room"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "cannot listen on bad\\x1b[31mhost:0" in line and "\x1b" not in line, line
