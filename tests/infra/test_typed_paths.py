"""Typed paths: every text becomes a Path or one line of refusal; a served root is never left."""

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_attention.infra.typed_paths import PathRefused, typed_path


@pytest.mark.parametrize("text, why", [
    ("", "give a name"),
    ("   ", "give a name"),
    ("~nosuchuser-tui-attention/x.md", "no such user"),
    ("a" * 300 + ".md", "too long"),
    ("/".join(["d"] * 600), "too long"),
    ("a\x00b", "control"),
    ("a\x1b[31mb", "control"),
    ("x\u202eb.md", "control"),
])
def test_unusable_names_are_refused_in_one_line(text, why):
    with pytest.raises(PathRefused, match=why) as caught:
        typed_path(text)
    assert "\n" not in str(caught.value)


def test_unserved_names_are_taken_as_typed():
    assert typed_path("out.md") == Path("out.md")
    assert typed_path("~/out.md") == Path.home() / "out.md"
    assert typed_path(" /tmp/x.md ") == Path("/tmp/x.md")


@pytest.mark.parametrize("text", ["../x.md", "/etc/passwd", "/tmp/x.md", "~root/x", "a/../../x", "~/../x",
                                  "..", "/"])
def test_served_names_outside_the_session_folder_are_refused(tmp_path, text):
    root = tmp_path / "session"
    root.mkdir()
    with pytest.raises(PathRefused, match="session folder"):
        typed_path(text, root)


def test_served_refusal_is_the_same_whether_or_not_the_outside_path_exists(tmp_path):
    root = tmp_path / "session"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    messages = set()
    for text in ("../secret.txt", "../nothing-here.txt", str(tmp_path / "secret.txt"), str(tmp_path / "nope")):
        with pytest.raises(PathRefused) as caught:
            typed_path(text, root)
        messages.add(str(caught.value))
    assert len(messages) == 1


def test_served_names_inside_the_session_folder(tmp_path):
    root = tmp_path / "session"
    (root / "sub").mkdir(parents=True)
    real = Path(os.path.realpath(root))
    assert typed_path("out.md", root) == real / "out.md"
    assert typed_path("~/out.md", root) == real / "out.md"
    assert typed_path("sub/../out.md", root) == real / "out.md"
    assert typed_path(str(root / "sub" / "x.py"), root) == real / "sub" / "x.py"


def test_a_symlink_out_of_the_session_folder_is_refused(tmp_path):
    root = tmp_path / "session"
    root.mkdir()
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(PathRefused, match="session folder"):
        typed_path("out/x.md", root)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_a_path_inside_the_root_or_a_refusal(tmp_path_factory, text):
    root = Path(os.path.realpath(tmp_path_factory.getbasetemp() / "hyp-root"))
    root.mkdir(exist_ok=True)
    try:
        path = typed_path(text, root)
    except PathRefused as exc:
        assert "\n" not in str(exc)
        return
    assert path == root or root in path.parents


def test_disk_usage_counts_every_file_as_at_least_a_block_and_follows_no_link(tmp_path):
    from tui_attention.infra.typed_paths import BLOCK, disk_usage

    outside = tmp_path / "outside"
    outside.write_bytes(b"x" * 100_000)
    session = tmp_path / "session"
    (session / "csv").mkdir(parents=True)
    for k in range(3):
        (session / "csv" / f"{k}.csv").write_text("1")
    (session / "big.npz").write_bytes(b"y" * 50_000)
    (session / "link").symlink_to(outside)  # counts as the link, not as what it points to
    used = disk_usage(session)
    assert 50_000 + 3 * BLOCK <= used < 50_000 + 100_000
    assert disk_usage(session / "missing") == 0
    assert disk_usage(session / "big.npz") >= 50_000
    assert disk_usage(session, limit=3) is None  # too many entries to count: full
