"""Files the tutor reads (a scenario, the keymap, progress) are read only if they are regular
files, and only up to a bound: a FIFO is refused without waiting for a writer, /dev/zero
without reading forever, each in one line; nothing is changed by the refusal."""

import os
import stat
import subprocess
import sys
import time

import pytest

from tui_attention.core.config import ConfigError
from tui_attention.core.scenario import load_scenario
from tui_attention.infra.files import NotAFileError, TooLargeError, read_regular
from tui_attention.lessons import progress as P
from tui_attention.tui.keymap import load_keymap

QUICK = 10  # seconds: a FIFO read would wait for ever


def test_read_regular_reads_files_and_refuses_the_rest(tmp_path):
    f = tmp_path / "a.toml"
    f.write_bytes(b"x" * 100)
    assert read_regular(f, 100) == b"x" * 100
    with pytest.raises(TooLargeError):
        read_regular(f, 99)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(NotAFileError, match="named pipe"):
        read_regular(fifo, 100)
    assert time.monotonic() - started < QUICK
    with pytest.raises(NotAFileError, match="device"):
        read_regular("/dev/zero", 100)
    with pytest.raises(IsADirectoryError):
        read_regular(tmp_path, 100)
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "none", 100)


def test_a_proc_file_is_counted_as_it_is_read():
    # /proc files say size 0; the bound counts the bytes read.
    with pytest.raises(TooLargeError):
        read_regular("/proc/self/status", 10)
    assert b"Name:" in read_regular("/proc/self/status", 1 << 20)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_scenario_that_is_not_a_file_is_one_line_and_exit_2(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "scenario.toml"
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    with pytest.raises(ConfigError, match="not a file"):
        load_scenario(path)
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "tui_attention", "trace", "--scenario", str(path)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert time.monotonic() - started < 60
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a file" in lines[0] and str(path) in lines[0], run.stderr
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_a_scenario_saved_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_text('\ufefftokens = ["a", "b"]\nd_model = 4\n', encoding="utf-8")
    assert load_scenario(path).tokens == ("a", "b")


def test_a_keymap_that_is_a_fifo_is_ignored_with_a_notice(tmp_path):
    fifo = tmp_path / "keymap.toml"
    os.mkfifo(fifo)
    started = time.monotonic()
    keymap, notice = load_keymap({"tutor.next_step": "n"}, fifo)
    assert time.monotonic() - started < QUICK
    assert keymap == {} and notice is not None and "named pipe" in notice and "Errno" not in notice


def test_progress_that_is_a_fifo_starts_fresh_with_a_notice_and_stays(tmp_path):
    fifo = tmp_path / "progress.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    progress = P.load_progress(fifo)
    assert time.monotonic() - started < QUICK
    assert progress.completed == []
    assert progress.notice is not None and "named pipe" in progress.notice
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
