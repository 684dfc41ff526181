"""A value pasted where it does not belong (a paragraph, a 3 000-digit number, a path of
thousands of characters) is refused in one short line: the message shows it cut (…), whole
only when it is short, and a newline in a name never breaks the line."""

import pytest

from tui_attention.cli import main

LONG = "x" * 3000
DIGITS = "9" * 3000
WIDE = 400  # a refusal may list choices; it never holds the whole value


def scenario(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


COMMANDS = {
    "--seed": ["trace", "--seed", DIGITS],
    "--d-model not a number": ["trace", "--d-model", LONG],
    "--weight-scale not a number": ["trace", "--weight-scale", LONG],
    "--scale choice": ["trace", "--scale", LONG],
    "unrecognized": ["trace", "--frobnicate", LONG],
    "--lesson": ["screenshot", "--lesson", DIGITS, "x.svg"],
    "--steps": ["train", "--task", "reverse", "--steps", DIGITS],
    "--batch": ["train", "--task", "reverse", "--batch", DIGITS],
    "--heads": ["train", "--task", "reverse", "--heads", DIGITS],
    "--every": ["train", "--task", "reverse", "--every", "-" + DIGITS],
    "--out not toml": ["train", "--task", "reverse", "--out", LONG + ".txt"],
    "--out in a missing folder": ["train", "--task", "reverse", "--out", "/nonexistent/" + "y" * 200 + ".toml"],
    "a bare scenario name": ["trace", "--scenario", LONG],
    "a long scenario path": ["trace", "--scenario", "/nonexistent/" + "/".join(["z" * 200] * 15) + ".toml"],
    "export suffix and format": ["export", "--format", "md", LONG + ".npz"],
    "export no format": ["export", LONG + ".txt"],
    "export csv to a file name": ["export", "--format", "csv", LONG + ".md"],
    "export into a missing folder": ["export", "--format", "md", "/nonexistent/" + "w" * 200 + "/t.md"],
    "export a name with control characters": ["export", "--format", "md", LONG + "\x1b.md"],
}


@pytest.mark.parametrize("case", list(COMMANDS))
def test_a_long_value_on_the_command_line_is_shown_cut(case, capsys):
    assert main(COMMANDS[case]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err[:300]
    assert len(err) < WIDE, f"{len(err)} characters: {err[:300]}"


FILES = {
    "sentence not a string": "sentence = [" + ", ".join(["1"] * 1500) + "]\n",
    "tokens not a list": f'tokens = "{LONG}"\n',
    "a scale": f'tokens = ["a"]\nscale = "{LONG}"\n',
    "a mask": f'tokens = ["a"]\nmask = "{LONG}"\n',
    "a seed": f'tokens = ["a"]\nseed = "{LONG}"\n',
    "a weight scale": f'tokens = ["a"]\nweight_scale = "{LONG}"\n',
    "positions kind": f'tokens = ["a"]\n[positions]\nkind = "{LONG}"\n',
    "an unknown key": f'tokens = ["a"]\n"{LONG}" = 1\n',
    "an unknown key of a table": f'tokens = ["a"]\n[weights]\n"{LONG}" = 1\n',
    "a training task": f'tokens = ["a", "b"]\n[training]\ntask = "{LONG}"\nsteps = 1\nseed = 1\nw_out = [[0.0]]\n',
    "a token": 'tokens = ["a", ' + ", ".join(['"b"'] * 3) + f', "{"x" * 60}\\u200b"]\n',
}


@pytest.mark.parametrize("case", list(FILES))
def test_a_long_value_in_a_scenario_is_shown_cut(case, tmp_path, capsys):
    assert main(["trace", "--scenario", scenario(tmp_path, FILES[case])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err[:300]
    assert len(err) < WIDE, f"{len(err)} characters: {err[:300]}"
    assert "s.toml: " in err


def test_a_short_path_reads_as_before_and_a_newline_in_one_stays_on_the_line(tmp_path, capsys):
    assert main(["trace", "--scenario", "/nonexistent/x.toml"]) == 2
    assert capsys.readouterr().err == "tui-attention: error: /nonexistent/x.toml: no such file\n"
    assert main(["trace", "--scenario", "/nonexistent/a\nb.toml"]) == 2
    assert capsys.readouterr().err == "tui-attention: error: '/nonexistent/a\\nb.toml': no such file\n"


def test_a_long_path_keeps_its_file_name(tmp_path, capsys):
    long = "/nonexistent/" + "/".join(["z" * 200] * 5) + "/mine.toml"
    assert main(["trace", "--scenario", long]) == 2
    err = capsys.readouterr().err
    assert "…" in err and "/mine.toml': no such file" in err and len(err) < 160
