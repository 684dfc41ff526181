"""What an audit found reaching a traceback, a hang or lost work from the command line: bytes
that are not UTF-8 in an argument, a standard output that does not take what is printed,
train --out that could not be written after the training, and the servers' options that
were only found wrong later (--answers, --authorized-keys, --public-url)."""

import errno
import io
import os
import resource
import subprocess
import sys

import pytest

from tui_attention.cli import main
from tui_attention.cli import serve as serve_cli
from tui_attention.cli.main import not_utf8


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def never_serves(monkeypatch):
    """A server command that got past its checks would start: fail the test instead of serving."""
    def started(*_args, **_kwargs):
        raise AssertionError("the server was started")

    monkeypatch.setattr(serve_cli, "_serve", started)


# --- 4: arguments that are not UTF-8 ------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["trace", "--sentence", "a\udcff b"],
    ["trace", "--sentence=a\udcff b"],
    ["export", "--sentence", "a\udcff b", "-", "--format", "md"],
    ["train", "--task", "reverse", "--sentence", "a\udcff b", "--steps", "1"],
])
def test_an_argument_that_is_not_utf8_is_one_line_naming_its_option(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert "--sentence" in line and "'a\\xff b' is not UTF-8 text" in line and not captured.out


def test_the_servers_text_options_are_checked_the_same_way():
    # A password or sentence like this was served: every login, or every tutor, then failed.
    assert "argument --password: '\\xff'" in not_utf8(["serve", "ssh", "--password", "\udcff"])
    assert "argument --sentence" in not_utf8(["serve", "web", "--sentence", "caf\udce9"])
    assert "argument --message" in not_utf8(["serve", "lead", "--message=caf\udce9"])
    assert not_utf8(["trace", "--sentence", "ñ 😀", "--scenario", "café"]) is None


def test_a_long_argument_that_is_not_utf8_is_shown_cut():
    # Audit: a long Latin-1 sentence was printed whole, one line of thousands of characters.
    line = not_utf8(["trace", "--sentence", "caf\udce9 " * 2000])
    assert len(line) < 200 and "argument --sentence" in line and "…" in line and "\\xe9" in line


def test_a_server_with_such_a_password_does_not_start(never_serves, capsys):
    assert main(["serve", "ssh", "--port", "0", "--unconfined", "--password", "\udcff"]) == 2
    assert "--password" in one_line(capsys.readouterr().err)


# --- 6: a standard output that does not take what is printed --------------------------------------
class Full(io.TextIOBase):
    """/dev/full: every write fails with ENOSPC."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("argv", [["trace"], ["export", "-", "--format", "md"], ["lessons"],
                                  ["train", "--task", "reverse", "--steps", "2"]])
def test_a_full_standard_output_is_one_line(argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", Full())
    assert main(argv) == 2
    assert "cannot write to standard output: No space left on device" in one_line(capsys.readouterr().err)


def test_a_closed_standard_output_is_one_line_before_any_work(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", None)
    assert main(["trace"]) == 2
    assert "standard output is closed" in one_line(capsys.readouterr().err)


def test_characters_the_output_encoding_lacks_are_one_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="latin-1"))
    assert main(["trace", "--sentence", "ñ 😀"]) == 2
    assert "cannot write to standard output" in one_line(capsys.readouterr().err)


def test_dev_full_in_a_real_process_is_one_line_even_at_exit():
    # What stays buffered must not fail again, with a traceback, when the interpreter exits.
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "tui_attention", "trace"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "No space left on device" in one_line(done.stderr)


def test_a_reader_that_stops_early_is_still_no_error():
    words = " ".join(f"w{i}" for i in range(300))  # far more than a pipe holds
    with subprocess.Popen([sys.executable, "-m", "tui_attention", "trace", "--sentence", words], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as child:
        assert child.stdout.read(10)
        child.stdout.close()
        err = child.stderr.read().decode()
        assert child.wait(timeout=60) == 0
    assert err == ""


# --- 5: train --out is checked before training ----------------------------------------------------
@pytest.fixture
def no_training(monkeypatch):
    from tui_attention.core import learning

    def train(*_args, **_kwargs):
        raise AssertionError("trained before refusing --out")

    monkeypatch.setattr(learning, "train", train)


@pytest.mark.parametrize("out, why", [
    ("", "--out needs a file name"),
    ("/proc/x.toml", "cannot write /proc/x.toml"),  # refused even to root, by the folder
    ("{tmp}/d.toml", "it is a folder"),
    ("{tmp}/missing/r.toml", "does not exist"),
])
def test_train_refuses_an_out_it_cannot_write_before_training(out, why, tmp_path, no_training, capsys):
    (tmp_path / "d.toml").mkdir()
    assert main(["train", "--task", "reverse", "--steps", "2", "--out", out.format(tmp=tmp_path)]) == 2
    captured = capsys.readouterr()
    assert why in one_line(captured.err) and not captured.out


# --- 3: --answers is refused at start when it cannot be written at the end -------------------------
@pytest.mark.parametrize("answers, why", [
    ("{tmp}", "it is a folder"),
    ("/dev/full", "it is a device"),
    ("", "--answers needs a file name"),
    ("{tmp}/missing/a.csv", "does not exist"),
    ("/proc/a.csv", "cannot write /proc/a.csv"),
])
def test_serve_refuses_answers_it_could_not_write_at_the_end(answers, why, tmp_path, never_serves, capsys):
    pytest.importorskip("asyncssh")
    argv = ["serve", "ssh", "--port", "0", "--unconfined", "--answers", answers.format(tmp=tmp_path)]
    assert main(argv) == 2
    assert why in one_line(capsys.readouterr().err)


def test_serve_takes_answers_in_a_folder_it_can_write(tmp_path, monkeypatch):
    pytest.importorskip("asyncssh")
    seen = []
    monkeypatch.setattr(serve_cli, "_serve", lambda server, args: seen.append(args.answers) or 0)
    assert main(["serve", "ssh", "--port", "0", "--unconfined", "--answers", str(tmp_path / "a.csv")]) == 0
    assert seen == [str(tmp_path / "a.csv")] and not (tmp_path / "a.csv").exists()


# --- 7: --public-url --------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["notaurl", "", "tutor.example.org", "ftp://tutor.example.org", "https://",
                                 "http://x:99999", "https://tutor.example.org/?a=1", "https://tutor example.org"])
def test_serve_web_refuses_a_public_url_browsers_cannot_use(url, never_serves, capsys):
    assert main(["serve", "web", "--port", "0", "--unconfined", "--public-url", url]) == 2
    assert "argument --public-url: must be an http:// or https:// address" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("url", ["https://tutor.example.org", "http://[::1]:8000/tutor/", "HTTPS://Tutor.Example.org"])
def test_serve_web_takes_a_public_url(url):
    assert serve_cli._public_url(url) == url


# --- 2: --authorized-keys is a regular file of bounded size ----------------------------------------
KEY = "ssh-ed25519 " + "A" * 68 + " user@host\n"  # its size, not its key, is what counts here


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # unbounded reading fails fast, not the machine


def serve_ssh(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(cwd), "XDG_RUNTIME_DIR": str(cwd)}
    return subprocess.run([sys.executable, "-m", "tui_attention", "serve", "ssh", "--port", "0", "--unconfined",
                           *args], capture_output=True, text=True, timeout=30,
                          preexec_fn=_limited, env=env, cwd=cwd, check=False)


@pytest.mark.parametrize("name, why", [("/dev/zero", "it is a device, not a file"),
                                       ("fifo", "it is a named pipe (FIFO), not a file"),
                                       ("big", "larger than 4 MiB"),
                                       # New-user audit: an empty file started a server nobody could log
                                       # in to; a binary one gave Python's codec error.
                                       ("empty", "it is empty; an authorized_keys file has one public key"),
                                       ("binary", "not a text file (byte 1 is not UTF-8)")])
def test_authorized_keys_that_are_not_a_bounded_file_are_one_line(name, why, tmp_path):
    pytest.importorskip("asyncssh")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_text(KEY * (5 * 2**20 // len(KEY)))
    (tmp_path / "empty").write_text(" \n")
    (tmp_path / "binary").write_bytes(b"s\xaa\x00\xff")
    done = serve_ssh("--authorized-keys", name, cwd=tmp_path)  # before the fix: a hang, or all memory
    assert done.returncode == 2
    assert f"cannot use --authorized-keys {name}: {why}" in one_line(done.stderr)


def test_authorized_keys_in_a_regular_file_are_read(tmp_path):
    pytest.importorskip("asyncssh")
    import asyncssh

    from tui_attention.serve.ssh_keys import read_authorized_keys

    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    (tmp_path / "keys").write_text(key)
    assert read_authorized_keys(tmp_path / "keys").validate(
        asyncssh.import_public_key(key), "client.example", "192.0.2.1") is not None


@pytest.mark.parametrize("command", [["export", "--format", "csv"], ["export", "--format", "md"]])
def test_an_empty_output_name_is_one_line_and_writes_nothing(command, tmp_path, monkeypatch, capsys):
    # Audit: `export --format csv ""` wrote its 28 CSV files into the current folder.
    monkeypatch.chdir(tmp_path)
    assert main([*command, ""]) == 2
    err = capsys.readouterr().err
    assert "needs a name" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_csv_to_a_file_name_says_csv_writes_a_folder(tmp_path, monkeypatch, capsys):
    # New-user audit: `export --format csv out.md` advised "name the file .csv or drop --format",
    # and `export out.csv` then failed: csv writes a folder.
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--format", "csv", "out.md"]) == 2
    err = capsys.readouterr().err
    assert "csv writes a folder of CSV files; 'out.md' looks like a file" in err and "name the file" not in err
    assert list(tmp_path.iterdir()) == []
