"""A CSV export writes all of its files or none: a failure part-way (a full disk, a file that
cannot be replaced) leaves the folder as it was, leaves no temporary folder, and names the file."""

import errno
import os
import subprocess
import sys

import pytest

from tui_attention.core.scenario import Overrides, build_config
from tui_attention.core.trace import compute
from tui_attention.export import ExportError, export_trace, formats

OLD = compute(build_config(None))
NEW = compute(build_config(None, Overrides(seed=7)))


def snapshot(folder):
    """Every entry of `folder` (hidden ones too) with its bytes: what a failed export must not change."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def full_disk_at(monkeypatch, count):
    """write_atomic fails with ENOSPC on its `count`-th call, as a disk that fills part-way."""
    real, calls = formats.write_atomic, []

    def failing(path, content, **kwargs):
        calls.append(path)
        if len(calls) == count:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, content, **kwargs)

    monkeypatch.setattr(formats, "write_atomic", failing)


def rename_fails_when(monkeypatch, fails):
    """os.rename fails with EIO where fails(src, dst) says so, as a disk that errs part-way."""
    real = os.rename

    def failing(src, dst):
        if fails(src, dst):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "rename", failing)


@pytest.mark.parametrize("count", [1, 10, 28])
def test_a_full_disk_part_way_leaves_the_old_files_and_names_the_file(tmp_path, monkeypatch, count):
    out = export_trace(OLD, "csv", tmp_path / "csv")
    before, around = snapshot(out), sorted(p.name for p in tmp_path.iterdir())
    full_disk_at(monkeypatch, count)
    name = list(formats.to_csv_files(NEW))[count - 1]
    with pytest.raises(ExportError, match=rf"^cannot write .*csv/{name}: No space left on device$"):
        export_trace(NEW, "csv", out)
    assert snapshot(out) == before  # no file of the new export, no temporary folder inside
    assert sorted(p.name for p in tmp_path.iterdir()) == around


def test_a_full_disk_part_way_makes_no_new_folder(tmp_path, monkeypatch):
    full_disk_at(monkeypatch, 5)
    with pytest.raises(ExportError, match=r"heads\.0\.W_k\.csv: No space left on device$"):
        export_trace(NEW, "csv", tmp_path / "fresh")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary sibling


def test_a_move_that_fails_puts_every_old_file_back(tmp_path, monkeypatch):
    # The last step, a rename per file, can fail too (here the 20th): the files already moved
    # in go back out, and the old ones back in.
    out = export_trace(OLD, "csv", tmp_path / "csv")
    before = snapshot(out)
    calls = []
    rename_fails_when(monkeypatch, lambda src, dst: calls.append(dst) or len(calls) == 20)
    with pytest.raises(ExportError, match=r"^cannot write .*csv/.*\.csv: Input/output error$"):
        export_trace(NEW, "csv", out)
    monkeypatch.undo()
    assert snapshot(out) == before


def test_a_successful_export_replaces_every_file_and_keeps_the_others(tmp_path):
    out = export_trace(OLD, "csv", tmp_path / "csv")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    os.chmod(out / "E.csv", 0o640)
    export_trace(NEW, "csv", out)
    assert {p.name for p in out.iterdir()} == {*formats.to_csv_files(NEW), "notes.txt"}
    assert all((out / name).read_text(encoding="utf-8") == text for name, text in formats.to_csv_files(NEW).items())
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert os.stat(out / "E.csv").st_mode & 0o777 == 0o640  # a replaced file keeps its mode, as before


def test_a_new_folder_gets_the_mode_mkdir_gives(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    out = export_trace(NEW, "csv", tmp_path / "fresh")
    assert os.stat(out).st_mode & 0o777 == 0o777 & ~umask


def test_the_command_names_the_file_it_cannot_replace_and_changes_nothing(tmp_path):
    # A named pipe where one of the files goes: refused before anything is written, in one line.
    out = export_trace(OLD, "csv", tmp_path / "csv")
    (out / "block.norm_2.csv").unlink()
    os.mkfifo(out / "block.norm_2.csv")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    r = subprocess.run([sys.executable, "-m", "tui_attention", "export", "--format", "csv", "--seed", "7", "csv"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        "tui-attention export: cannot write csv/block.norm_2.csv: it is a named pipe (FIFO), not a file"]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert len(list(out.iterdir())) == 28


FOUR_HEADS = compute(build_config(None, Overrides(heads=4)))


def test_an_export_with_fewer_heads_removes_the_earlier_heads_files_only(tmp_path):
    out = export_trace(FOUR_HEADS, "csv", tmp_path / "csv")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "heads.9.mine.csv.bak").write_text("mine", encoding="utf-8")
    export_trace(OLD, "csv", out)
    # heads.1.* to heads.3.* were the four-head scenario's: left there, they would pass for this one's
    assert {p.name for p in out.iterdir()} == {*formats.to_csv_files(OLD), "notes.txt", "heads.9.mine.csv.bak"}


def test_a_failure_while_removing_old_heads_puts_everything_back(tmp_path, monkeypatch):
    out = export_trace(FOUR_HEADS, "csv", tmp_path / "csv")
    before = snapshot(out)
    # The new files are in; an old head's file will not go.
    rename_fails_when(monkeypatch, lambda src, dst: "heads.2." in str(src) and ".old" in str(dst))
    with pytest.raises(ExportError, match=r"^cannot write .*csv/heads\.2\..*\.csv: Input/output error$"):
        export_trace(OLD, "csv", out)
    monkeypatch.undo()
    assert snapshot(out) == before
