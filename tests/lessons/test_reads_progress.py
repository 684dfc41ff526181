"""A progress file the JSON parser chokes on (RecursionError, int()'s 4300-digit limit), or one
holding a lone surrogate (valid JSON, but no UTF-8 file can hold it), is a damaged progress
file like any other: moved aside, one notice, and the learner starts afresh; the next save works."""

import importlib

import pytest

from tui_attention.lessons import progress as P

CASES = {
    "100000 nested [": (b"[" * 100_000, "nested too deeply"),
    "100000 nested {": (b'{"a":' * 100_000, "nested too deeply"),
    "5000-digit version": (b'{"version": ' + b"9" * 5000 + b"}", "too many digits"),
    "lone surrogate in completed": (b'{"version": 1, "completed": ["\\udcff"], "questions": {}}', "lone surrogate"),
    "lone surrogate in a question id": (b'{"version": 1, "questions": {"a/\\ud800": {}}}', "lone surrogate"),
    "lone surrogate in last": (b'{"version": 1, "last": {"lesson": "\\udfff", "page": 0}}', "lone surrogate"),
    "4300-digit attempts": (b'{"version": 1, "questions": {"a/1": {"attempts": 9' + b"9" * 4299 + b"}}}",
                            "a/1.attempts must be a whole number from 0 to"),
}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "state" / "tui-attention" / "progress.json"
    path.parent.mkdir(parents=True)
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_a_progress_file_that_cannot_be_used_is_moved_aside_and_saving_works(case, state):
    content, expected = CASES[case]
    state.write_bytes(content)
    p = P.load_progress()
    assert p.completed == [] and p.questions == {} and p.last_lesson is None
    assert p.notice and expected in p.notice and "progress.json.bak" in p.notice and "fresh" in p.notice
    assert len(p.notice) < 400
    assert (state.parent / "progress.json.bak").read_bytes() == content
    p.mark_completed("01")
    p.record_answer("01/1", True)
    P.save_changed(p)
    assert P.load_progress().completed == ["01"]


def test_a_huge_repr_is_cut_in_the_notice(state):
    state.write_text('{"version": "' + "v" * 100_000 + '"}')
    p = P.load_progress()
    assert p.notice and "unknown version" in p.notice and len(p.notice) < 400


@pytest.mark.parametrize("case", ["100000 nested [", "5000-digit version", "lone surrogate in completed"])
def test_the_lessons_command_lists_the_lessons_and_says_why_in_one_line(case, state, capsys):
    state.write_bytes(CASES[case][0])
    assert importlib.import_module("tui_attention.cli.main").main(["lessons"]) == 0
    out, err = capsys.readouterr()
    assert "1." in out and len(err.strip().splitlines()) == 1 and "progress.json.bak" in err
