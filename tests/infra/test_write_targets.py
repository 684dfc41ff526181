"""write_atomic writes where and as `open(path, "w")` would, only atomically: through a symlink
(the link kept), never over a FIFO, a device or a socket (refused in one line, without opening
it), a new file with mode 0666 less the umask, a replaced file with its own mode; a secret
(exclusive, or mode=PRIVATE) and the app's own files (make_parents) stay 0600."""

from __future__ import annotations

import os
import socket
import stat
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tui_attention.cli.main import main
from tui_attention.infra.files import PRIVATE, NotAFileError, current_umask, write_atomic


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- symlinks ------------------------------------------------------------------------------------

def test_a_symlink_is_written_through_and_kept(tmp_path):
    target = tmp_path / "target.md"
    target.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to("target.md")
    assert write_atomic(link, "new") == link
    assert link.is_symlink() and os.readlink(link) == "target.md"
    assert target.read_text() == "new"
    assert leftovers(tmp_path) == []


def test_a_symlink_into_another_folder_is_written_next_to_the_real_file(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    target = real / "t.md"
    target.write_text("old")
    here = tmp_path / "here"
    here.mkdir()
    (here / "t.md").symlink_to(target)
    write_atomic(here / "t.md", b"new")
    assert (here / "t.md").is_symlink() and target.read_bytes() == b"new"
    assert sorted(p.name for p in here.iterdir()) == ["t.md"] and sorted(p.name for p in real.iterdir()) == ["t.md"]


def test_a_chain_of_symlinks_reaches_the_file(tmp_path):
    target = tmp_path / "t.md"
    target.write_text("old")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("t.md")
    write_atomic(tmp_path / "a", "new")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink() and target.read_text() == "new"


def test_a_dangling_symlink_creates_the_file_it_points_to(tmp_path):
    link = tmp_path / "link.md"
    link.symlink_to("made.md")
    write_atomic(link, "new")
    assert link.is_symlink() and (tmp_path / "made.md").read_text() == "new"


def test_a_dangling_symlink_into_a_missing_folder_is_one_clear_error(tmp_path):
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "nowhere" / "made.md")
    with pytest.raises(FileNotFoundError) as caught:
        write_atomic(link, "new")
    assert "folder that does not exist" in caught.value.strerror and "\n" not in caught.value.strerror
    assert link.is_symlink() and not (tmp_path / "nowhere").exists() and leftovers(tmp_path) == []


def test_a_symlink_loop_is_an_error_not_a_replaced_link(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError):
        write_atomic(tmp_path / "a", "x")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink() and leftovers(tmp_path) == []


def test_a_symlink_to_a_folder_is_refused_as_a_folder(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to("d")
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "link", "x")
    assert (tmp_path / "link").is_symlink() and list((tmp_path / "d").iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="making a link of another user needs root")
def test_another_users_link_in_a_shared_folder_is_not_followed(tmp_path):
    # As Linux's fs.protected_symlinks refuses open(): in a sticky, world-writable folder (/tmp),
    # a link planted by another user must not make this user's write replace their own file.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    mine = tmp_path / "bashrc"
    mine.write_text("mine\n")
    link = shared / "answers.csv"
    link.symlink_to(mine)
    os.lchown(link, 4242, 4242)
    with pytest.raises(PermissionError, match="another user's link"):
        write_atomic(link, "j,word\n")
    assert mine.read_text() == "mine\n" and link.is_symlink()
    os.lchown(link, os.geteuid(), os.getegid())  # this user's own link there is followed
    write_atomic(link, "j,word\n")
    assert mine.read_text() == "j,word\n"


def test_exclusive_never_writes_through_a_link(tmp_path):
    link = tmp_path / "key"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError):
        write_atomic(link, "secret", exclusive=True)
    assert link.is_symlink() and not (tmp_path / "elsewhere").exists() and leftovers(tmp_path) == []


# -- things that are not files -------------------------------------------------------------------

def _refused_quickly(path: Path):
    """write_atomic(path) raises NotAFileError at once, without opening what is there."""
    started = time.monotonic()
    with pytest.raises(NotAFileError) as caught:
        write_atomic(path, "x")
    assert time.monotonic() - started < 2
    return caught.value


def test_a_fifo_is_refused_at_once_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    error = _refused_quickly(fifo)  # no reader: opening it for writing would block for ever
    assert isinstance(error, OSError) and "named pipe" in error.strerror and "\n" not in error.strerror
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


def test_a_symlink_to_a_fifo_is_refused_and_both_stay(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "link.md").symlink_to("pipe")
    error = _refused_quickly(tmp_path / "link.md")
    assert "named pipe" in error.strerror and str(fifo) in error.strerror
    assert (tmp_path / "link.md").is_symlink() and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_socket_is_refused_and_stays_a_socket(tmp_path):
    path = tmp_path / "s"  # short: a socket path has at most 107 bytes
    if len(str(path)) > 100:
        pytest.skip("tmp_path too long for a Unix socket")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        error = _refused_quickly(path)
    assert "socket" in error.strerror and stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_device_through_a_symlink_is_refused_and_not_replaced(tmp_path):
    # /dev/null is only looked at (stat), never written or replaced: the folder it is in is not ours.
    (tmp_path / "null.npz").symlink_to("/dev/null")
    error = _refused_quickly(tmp_path / "null.npz")
    assert "device" in error.strerror
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and (tmp_path / "null.npz").is_symlink()


def test_a_folder_is_refused_as_before(tmp_path):
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path, "x")
    assert leftovers(tmp_path) == []


# -- modes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600), (0o000, 0o666)])
def test_a_new_file_has_0666_less_the_umask(tmp_path, mask, expected):
    with umask(mask):
        assert current_umask() == mask
        write_atomic(tmp_path / "new.md", "x")
        with open(tmp_path / "by_open.md", "w") as fh:
            fh.write("x")
    assert mode_of(tmp_path / "new.md") == expected == mode_of(tmp_path / "by_open.md")


@pytest.mark.parametrize("kept", [0o666, 0o640, 0o444, 0o604])
def test_a_replaced_file_keeps_its_mode(tmp_path, kept):
    path = tmp_path / "old.md"
    path.write_text("old")
    path.chmod(kept)
    with umask(0o077):
        write_atomic(path, "new")
    assert path.read_text() == "new" and mode_of(path) == kept


def test_a_file_replaced_through_a_link_keeps_its_mode(tmp_path):
    target = tmp_path / "t.md"
    target.write_text("old")
    target.chmod(0o664)
    (tmp_path / "l.md").symlink_to("t.md")
    with umask(0o022):
        write_atomic(tmp_path / "l.md", "new")
    assert mode_of(target) == 0o664 and target.read_text() == "new"


def test_secrets_stay_private_whatever_the_umask(tmp_path):
    with umask(0o000):
        write_atomic(tmp_path / "key", "secret", exclusive=True)  # how the SSH host key is made
        write_atomic(tmp_path / "table.csv", "a,b\n", mode=PRIVATE)
        (tmp_path / "open.csv").write_text("old")
        (tmp_path / "open.csv").chmod(0o666)
        write_atomic(tmp_path / "open.csv", "new", mode=PRIVATE)  # an explicit mode wins over the old one
    assert mode_of(tmp_path / "key") == mode_of(tmp_path / "table.csv") == mode_of(tmp_path / "open.csv") == 0o600


def test_the_apps_own_files_in_folders_it_makes_stay_private(tmp_path):
    from tui_attention.lessons.progress import Progress, save_progress

    with umask(0o000):
        write_atomic(tmp_path / "own" / "answers.csv", "a,b\n", make_parents=True)
        save_progress(Progress(), tmp_path / "state" / "progress.json")
    assert mode_of(tmp_path / "own" / "answers.csv") == mode_of(tmp_path / "state" / "progress.json") == 0o600
    assert mode_of(tmp_path / "own") == 0o700


def test_the_host_key_is_still_0600_when_the_umask_is_open(tmp_path):
    from tui_attention.serve.ssh_keys import load_or_create_host_key

    with umask(0o000):
        _, path, created = load_or_create_host_key(tmp_path / "keys" / "host_key")
    assert created and mode_of(path) == 0o600


def test_current_umask_without_proc(monkeypatch):
    import builtins

    real_open = builtins.open

    def no_proc(file, *args, **kwargs):
        if str(file).startswith("/proc/"):
            raise FileNotFoundError(2, "No such file or directory", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    with umask(0o027):
        assert current_umask() == 0o027
        assert current_umask() == 0o027  # and it was put back


# -- through the command line and the tutor's save prompt ----------------------------------------

def test_cli_export_to_a_symlink_writes_the_target_and_keeps_the_link(tmp_path, capsys):
    target = tmp_path / "target.md"
    target.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to("target.md")
    with umask(0o022):
        assert main(["export", "--format", "md", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == "target.md"
    assert target.read_text(encoding="utf-8").startswith("# Attention trace")
    assert mode_of(target) == 0o644
    assert "Wrote" in capsys.readouterr().out


@pytest.mark.parametrize("fmt, name", [("md", "pipe.md"), ("npz", "pipe.npz"), ("py", "pipe.py")])
def test_cli_export_to_a_fifo_is_one_line_and_exit_2(tmp_path, capsys, fmt, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    started = time.monotonic()
    assert main(["export", "--format", fmt, str(fifo)]) == 2
    assert time.monotonic() - started < 30
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "named pipe" in lines[0] and str(fifo) in lines[0], err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


def test_the_save_prompt_shows_why_a_fifo_is_refused(tmp_path):
    from tui_attention.steps.state import TutorState
    from tui_attention.tui.files import Destination, save

    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    notices = save(TutorState(), Destination(budget=None)).submit(str(fifo))
    assert len(notices) == 1 and notices[0].severity == "error" and "named pipe" in notices[0].text
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("ask", ["save", "export"])
def test_the_prompt_says_as_it_is_typed_that_a_fifo_would_be_refused(tmp_path, ask):
    """The live check names what submitting would refuse, before Enter; a plain name stays fine."""
    from tui_attention.steps.state import TutorState
    from tui_attention.tui import files

    suffix = ".toml" if ask == "save" else ".md"  # a scenario is saved under a .toml name
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    check = getattr(files, ask)(TutorState(), files.Destination(budget=None)).validate
    problem = check(str(fifo))
    assert problem is not None and "named pipe" in problem and str(fifo) in problem
    link = tmp_path / f"link{suffix}"
    link.symlink_to(fifo)
    assert "named pipe" in (check(str(link)) or "")
    assert check(str(tmp_path / f"notes{suffix}")) is None
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []
