"""Bad input: one clear line on stderr, exit status 2, never a traceback."""

import subprocess
import sys

import pytest


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tui_attention", *args], capture_output=True, text=True, cwd=cwd)


CASES = {
    "missing file": (["trace", "--scenario", "/nonexistent/x.toml"], "no such file"),
    "directory": (["trace", "--scenario", "/"], "is a directory"),
    "broken toml": (["trace", "--scenario", "{broken}"], "invalid TOML"),
    "unknown key": (["trace", "--scenario", "{unknown}"], "unknown key 'colour'"),
    "wrong shape": (["trace", "--scenario", "{shape}"], "embeddings.values: shape is 1x2, expected 1x4"),
    "nan": (["trace", "--scenario", "{nan}"], "not finite"),
    "no tokens": (["trace", "--sentence", "   "], "at least one token"),
    "zero dim": (["trace", "--d-model", "0"], "--d-model: must be between 1 and 1024"),
    "negative dim": (["trace", "--d-k", "-2"], "--d-k: must be between 1"),
    "non-integer dim": (["trace", "--heads", "1.5"], "must be a whole number"),
    "dim above limit": (["trace", "--d-v", "4096"], "--d-v: must be between 1 and 1024"),
    "too many tokens": (["trace", "--sentence", " ".join(["w"] * 1025)], "limit is 1024"),
    "bad choice": (["trace", "--scale", "huge"], "invalid choice"),
    "binary file": (["trace", "--scenario", "{binary}"], "not UTF-8"),
    "unknown flag": (["trace", "--frobnicate"], "unrecognized arguments"),
    "d_k breaks matrix": (["trace", "--scenario", "{notebook}", "--d-k", "2"], "weights.w_q"),
    "zero-width word": (["trace", "--sentence", "a \u200b b"], "--sentence, word 2: '\\u200b' contains U+200B ZERO WIDTH SPACE"),
    # New-user audit: a range error named the field (d_model) or said a flag "does not fit this scenario".
    "zero heads": (["trace", "--heads", "0"], "error: --heads: must be between 1 and 16, got 0"),
    "heads past 16 on a file": (["trace", "--scenario", "{notebook}", "--heads", "17"],
                                "error: --heads: must be between 1 and 16, got 17"),
    "tag characters": (["trace", "--sentence", "a b\U000e0069\U000e0067"], "U+E0069 TAG LATIN SMALL LETTER I"),
    "bidi override": (["trace", "--sentence", "a \u202eb"], "U+202E RIGHT-TO-LEFT OVERRIDE"),
    "invisible word in a file": (["trace", "--scenario", "{invisible}"], "invisible.toml: tokens[1]: '\\u2060'"),
}


@pytest.fixture
def files(tmp_path):
    made = {
        "broken": "tokens = [\n",
        "unknown": 'tokens = ["a"]\ncolour = "red"\n',
        "shape": 'tokens = ["a"]\n[embeddings]\nvalues = [[1.0, 2.0]]\n',
        "nan": 'tokens = ["a"]\nd_model = 1\n[embeddings]\nvalues = [[nan]]\n',
        "invisible": 'sentence = "a \\u2060 b"\n',
    }
    out = {}
    for name, text in made.items():
        p = tmp_path / f"{name}.toml"
        p.write_text(text)
        out[name] = str(p)
    b = tmp_path / "binary.toml"
    b.write_bytes(b"\xff\xfe\x00garbage")
    out["binary"] = str(b)
    from tui_attention.core.scenario import default_scenario_path

    out["notebook"] = str(default_scenario_path())
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(case, files):
    args, expected = CASES[case]
    args = [a.format(**files) if a.startswith("{") else a for a in args]
    r = run(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert expected in lines[0]
    assert r.stdout == ""


def test_unicode_sentence_is_fine():
    r = run("trace", "--sentence", "ñandú 猫 🙂", "--format", "json")
    assert r.returncode == 0 and '"猫"' in r.stdout


def test_text_format_prints_labelled_arrays_at_4_decimals():
    r = run("trace")
    assert r.returncode == 0
    assert "heads.0.weights (5, 5):" in r.stdout and "0.1981" in r.stdout


def test_the_tutor_without_a_terminal_says_so_in_one_line():
    import os
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_DRIVER"}
    done = subprocess.run([sys.executable, "-m", "tui_attention"], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tui-attention: "), done.stderr


@pytest.mark.parametrize("argv,message", [(["--lesson", "13"], "lesson"), (["--scenario", "/etc/passwd"], "passwd")])
def test_without_a_terminal_a_bad_option_is_still_named(argv, message):
    # Audit: `tui-attention --lesson 13 </dev/null` said only that the tutor needs a terminal.
    import os
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_DRIVER"}
    done = subprocess.run([sys.executable, "-m", "tui_attention", *argv], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "needs a terminal" not in lines[0], done.stderr


@pytest.mark.parametrize("term", ["dumb", "unknown", ""])
def test_a_dumb_terminal_falls_back_to_xterm(term):
    from tui_attention.cli.run import FALLBACK_TERM, check_terminal

    class Tty:
        def isatty(self):
            return True

    env = {"TERM": term}
    check_terminal(env, Tty(), Tty())
    assert env["TERM"] == FALLBACK_TERM
    env = {"TERM": "screen-256color"}
    check_terminal(env, Tty(), Tty())
    assert env["TERM"] == "screen-256color"


def test_a_served_crash_outside_the_app_is_one_line_and_logged(tmp_path, monkeypatch, capsys):
    import importlib
    cli_main = importlib.import_module("tui_attention.cli.main")

    def broken(args):
        raise KeyError("internal detail")

    monkeypatch.setenv("TUI_ATTENTION_SERVED", "1")
    monkeypatch.setenv("TUI_ATTENTION_ERROR_LOG", str(tmp_path / ".error.log"))
    monkeypatch.setattr(cli_main, "build_parser", lambda only=None: _parser_calling(broken))
    assert cli_main.main(["trace"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "KeyError" in err and "internal detail" not in err
    assert "internal detail" in (tmp_path / ".error.log").read_text()
    monkeypatch.delenv("TUI_ATTENTION_SERVED")
    with pytest.raises(KeyError):  # a learner's own run keeps its traceback: it is the bug report
        cli_main.main(["trace"])


def _parser_calling(func):
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.set_defaults(func=func)
    return parser
