"""`tui-attention screenshot`: the screen a learner would see, written headless as SVG."""

import re

import pytest

from tui_attention.cli import main


def svg_text(path) -> str:
    """The characters drawn in the SVG (its <text> runs, entities decoded)."""
    body = path.read_text(encoding="utf-8")
    runs = re.findall(r"<text[^>]*>([^<]*)</text>", body)
    return "".join(runs).replace("&#160;", " ").replace("&#x27;", "'").replace("&amp;", "&")


def test_first_screen_at_80x24(tmp_path):
    out = tmp_path / "first.svg"
    assert main(["screenshot", str(out)]) == 0
    text = svg_text(out)
    assert out.read_text().startswith("<svg")
    for token in ("me", "gusta", "estudiar"):
        assert token in text
    assert "word 1/5" in text and "step 1/9" in text


def test_keys_are_pressed_before_the_picture(tmp_path):
    out = tmp_path / "softmax.svg"
    assert main(["screenshot", str(out), "--size", "120x40", "--press", ",".join(["right"] * 7)]) == 0
    assert "step 8/9" in svg_text(out)


def test_each_press_option_adds_its_keys(tmp_path):
    # `--press m --press right` is the matrix view's second step, not the last option alone.
    out = tmp_path / "matrix.svg"
    assert main(["screenshot", str(out), "--size", "120x40", "--press", "m", "--press", "right,right"]) == 0
    assert "matrix 3/11" in svg_text(out)


def test_a_quit_key_ends_the_list_and_the_screen_is_still_written(tmp_path):
    out = tmp_path / "q.svg"
    assert main(["screenshot", str(out), "--press", "right,q,right"]) == 0
    assert "step 2/9" in svg_text(out)


@pytest.mark.parametrize("argv,message", [
    (["--size", "80by24"], "size must look like 80x24"),
    (["--size", "5x5"], "outside 10x5"),
    (["--theme", "nope"], "unknown theme"),
    (["--theme", ""], "unknown theme ''"),
    (["--press", "right,nosuchkey"], "'nosuchkey' is not a key name"),
    (["--press", "period"], "'period' is not a key name"),  # "." is full_stop to Textual
])
def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    assert main(["screenshot", str(tmp_path / "x.svg"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.svg").exists()


def test_missing_folder_is_refused(tmp_path, capsys):
    assert main(["screenshot", str(tmp_path / "no" / "x.svg")]) == 2
    assert "no such directory" in capsys.readouterr().err
