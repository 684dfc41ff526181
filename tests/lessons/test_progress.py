"""Progress: XDG location, round trip, atomic writes, corrupt files moved aside, reset, and the lessons command."""

import json
import os
import subprocess
import sys

import pytest

from tui_attention.lessons import progress as P
from tui_attention.lessons import load_lessons
from tui_attention.cli.lessons import format_lessons


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "tui-attention" / "progress.json"


def test_xdg_state_home_is_honoured(state, tmp_path, monkeypatch):
    assert P.progress_path() == state
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert P.progress_path() == tmp_path / "home" / ".local" / "state" / "tui-attention" / "progress.json"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/dir")  # not absolute: ignored, per the XDG spec
    assert P.progress_path() == tmp_path / "home" / ".local" / "state" / "tui-attention" / "progress.json"


def test_missing_file_is_fresh_without_notice(state):
    p = P.load_progress()
    assert p.completed == [] and p.last_lesson is None and p.questions == {} and p.notice is None
    assert not state.exists()


def test_round_trip(state):
    p = P.load_progress()
    p.mark_completed("01-tokens-and-embeddings")
    p.mark_completed("01-tokens-and-embeddings")
    p.mark_completed("02-positional-encodings")
    p.set_position("05-softmax", 2)
    p.record_answer("05-softmax/2", False)
    p.record_answer("05-softmax/2", True)
    p.record_answer("05-softmax/2", False)  # right once stays right
    p.record_hints("05-softmax/2", 2)
    p.record_hints("05-softmax/2", 1)  # the most ever shown
    p.record_reveal("04-dot-product-similarity/2")
    assert P.save_progress(p) == state
    q = P.load_progress()
    assert q.notice is None
    assert q.completed == ["01-tokens-and-embeddings", "02-positional-encodings"]
    assert (q.last_lesson, q.last_page) == ("05-softmax", 2)
    assert q.score("05-softmax/2") == P.QuestionScore(attempts=3, correct=True, hints=2, revealed=False)
    assert q.score("04-dot-product-similarity/2").revealed
    assert q.score("never/1") == P.QuestionScore()
    assert q.count_completed(["01-tokens-and-embeddings", "03-x"]) == 1
    data = json.loads(state.read_text(encoding="utf-8"))
    assert data["version"] == 1 and data["last"] == {"lesson": "05-softmax", "page": 2}


def test_atomic_write_leaves_no_temporary_files(state, monkeypatch):
    p = P.load_progress()
    p.mark_completed("a")
    P.save_progress(p)
    P.save_progress(p)
    assert sorted(os.listdir(state.parent)) == ["progress.json"]

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(P.os, "replace", boom)
    p.mark_completed("b")
    with pytest.raises(OSError):
        P.save_progress(p)
    assert sorted(os.listdir(state.parent)) == ["progress.json"]  # temp removed, old file intact
    assert json.loads(state.read_text(encoding="utf-8"))["completed"] == ["a"]


@pytest.mark.parametrize("content", [
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[1, 2, 3]",
    b'{"version": 1, "completed": "01"}',
    b'{"version": 1, "completed": [1, 2]}',
    b'{"version": 1, "last": {"lesson": "x", "page": -1}}',
    b'{"version": 1, "questions": {"a/1": {"attempts": "three"}}}',
    b'{"version": 1, "questions": {"a/1": {"correct": 1}}}',
    b'{"version": 99}',
    b"",
])
def test_corrupt_file_is_moved_aside_with_a_notice(state, content):
    state.parent.mkdir(parents=True)
    state.write_bytes(content)
    p = P.load_progress()
    assert p.completed == [] and p.questions == {} and p.last_lesson is None
    assert p.notice and "progress.json.bak" in p.notice and "fresh" in p.notice
    assert not state.exists()
    assert (state.parent / "progress.json.bak").read_bytes() == content
    p.mark_completed("01")
    P.save_progress(p)  # and the next save works
    assert P.load_progress().completed == ["01"]


def test_a_control_character_in_the_file_is_said_once(state):
    # New-user audit: "(Invalid control character at at line 1)".
    state.parent.mkdir(parents=True)
    state.write_bytes(b'{"version": 1, "last": {"lesson": "a\x01"}}')
    notice = P.load_progress().notice
    assert "(Invalid control character at line 1)" in notice and "at at" not in notice


def test_unreadable_path_gives_a_notice_and_does_not_raise(state):
    state.mkdir(parents=True)  # a directory where the file should be
    p = P.load_progress()
    assert p.notice and "starting fresh" in p.notice
    assert state.is_dir()


def test_reset(state):
    p = P.load_progress()
    p.mark_completed("01")
    P.save_progress(p)
    fresh = P.reset_progress()
    assert fresh.completed == [] and not state.exists()
    assert P.load_progress().completed == []
    P.reset_progress()  # no file: fine


def test_lessons_listing_marks_completed_and_where_left_off():
    lessons = load_lessons()
    p = P.Progress()
    for lesson in lessons[:4]:
        p.mark_completed(lesson.id)
    p.mark_completed("99-removed-lesson")
    p.set_position(lessons[4].id, 1)
    text = format_lessons(lessons, p)
    assert f"4 / {len(lessons)}" in text
    lines = text.splitlines()
    assert sum("[✓]" in line for line in lines) == 4
    assert f"[✓]  1. {lessons[0].title}" in text and f"[ ]  5. {lessons[4].title}" in text
    assert f"lesson 5, \"{lessons[4].title}\", page 2 of {len(lessons[4].pages)}" in text
    assert "tui-attention --lesson 5" in text


def _run(*args, env):
    return subprocess.run([sys.executable, "-m", "tui_attention", *args], capture_output=True, text=True, env=env)


def test_lessons_command(tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "PYTHONIOENCODING": "utf-8"}
    first = load_lessons()[0]
    (tmp_path / "tui-attention").mkdir()
    (tmp_path / "tui-attention" / "progress.json").write_text(
        json.dumps({"version": 1, "completed": [first.id], "last": {"lesson": first.id, "page": 0}}), encoding="utf-8")
    r = _run("lessons", env=env)
    assert r.returncode == 0, r.stderr
    assert f"1 / {len(load_lessons())}" in r.stdout and "[✓]  1." in r.stdout
    assert "page 1 of" in r.stdout
    r = _run("lessons", "--reset", env=env)  # stdin is not a terminal: refuse without --yes
    assert r.returncode == 2 and "--yes" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _run("lessons", "--reset", "--yes", env=env)
    assert r.returncode == 0 and "0 / " in r.stdout
    (tmp_path / "tui-attention" / "progress.json").write_text("{oops", encoding="utf-8")
    r = _run("lessons", env=env)
    assert r.returncode == 0 and "progress.json.bak" in r.stderr
