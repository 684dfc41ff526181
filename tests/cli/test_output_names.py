"""The names a subcommand writes to are checked before any work, by the prompts' rules: a FIFO,
a device or a control character is one line and exit 2, and nothing there is changed; a
picture goes only to a .svg; a legal name near the 255-byte limit is written."""

import os
import stat
import time

import pytest

from tui_attention.cli.main import main


def one_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_screenshot_writes_only_an_svg_and_keeps_what_was_there(tmp_path, capsys):
    notes = tmp_path / "notes.md"
    notes.write_text("keep\n")
    assert main(["screenshot", str(notes)]) == 2
    assert ".svg" in one_line(capsys) and notes.read_text() == "keep\n"


def test_screenshot_to_a_fifo_is_refused_before_rendering(tmp_path, capsys):
    fifo = tmp_path / "shot.svg"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert main(["screenshot", str(fifo)]) == 2
    assert time.monotonic() - started < 10
    assert "named pipe" in one_line(capsys) and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_train_refuses_a_fifo_before_it_trains(tmp_path, capsys):
    fifo = tmp_path / "trained.toml"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert main(["train", "--task", "reverse", "--steps", "100000", "--out", str(fifo)]) == 2
    assert time.monotonic() - started < 10  # 100000 steps would take minutes
    line = one_line(capsys)
    assert "named pipe" in line and "train" in line
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("argv", [["export", "--format", "md", "{dir}/a\x01.md"],
                                  ["train", "--task", "reverse", "--steps", "1", "--out", "{dir}/z\x01.toml"],
                                  ["screenshot", "{dir}/s\x1b[31m.svg"]])
def test_a_control_character_in_an_output_name_is_refused(tmp_path, capsys, argv):
    argv = [a.format(dir=tmp_path) for a in argv]
    assert main(argv) == 2
    assert "control characters" in one_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_name_of_255_bytes_is_written(tmp_path, capsys):
    name = "b" * 250 + ".toml"
    assert len(name.encode()) == 255
    assert main(["train", "--task", "reverse", "--steps", "1", "--out", str(tmp_path / name)]) == 0
    assert (tmp_path / name).read_text(encoding="utf-8").startswith("# ")
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_a_size_out_of_range_says_so(tmp_path, capsys):
    assert main(["screenshot", str(tmp_path / "s.svg"), "--size", "100000x100000"]) == 2
    assert "outside 10x5 .. 500x300" in one_line(capsys)


def test_lessons_yes_without_reset_is_refused(capsys):
    assert main(["lessons", "--yes"]) == 2
    assert "--reset" in one_line(capsys)
