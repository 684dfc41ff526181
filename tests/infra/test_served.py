"""A served tutor: what it reads from its environment and how it reports an internal error."""

from pathlib import Path

from tui_attention.infra.served import MAX_REPORT_BYTES, Served


def test_not_served_unless_the_server_says_so(tmp_path):
    assert Served.from_environment({}) is None
    assert Served.from_environment({"TUI_ATTENTION_SERVED": "yes"}) is None
    log = tmp_path / ".error.log"
    served = Served.from_environment({"TUI_ATTENTION_SERVED": "1", "TUI_ATTENTION_ERROR_LOG": str(log),
                                      "TUI_ATTENTION_UNCONFINED": "1"})
    assert served == Served(root=Path.cwd(), error_log=log, unconfined=True)
    assert Served.from_environment({"TUI_ATTENTION_SERVED": "1"}).unconfined is False


def test_report_writes_the_traceback_and_returns_one_line(tmp_path):
    log = tmp_path / ".error.log"
    try:
        raise ZeroDivisionError("secret detail " + "x" * (2 * MAX_REPORT_BYTES))
    except ZeroDivisionError as exc:
        line = Served(tmp_path, log).report(exc)
    assert "\n" not in line and "ZeroDivisionError" in line and "secret" not in line
    written = log.read_bytes()
    assert len(written) <= MAX_REPORT_BYTES and written.rstrip().endswith(b"x")
    assert log.stat().st_mode & 0o777 == 0o600


def test_report_never_follows_a_symlink(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    log = tmp_path / ".error.log"
    log.symlink_to(target)
    Served(tmp_path, log).report(RuntimeError("boom"))
    assert target.read_text() == "keep"


def test_report_goes_to_the_inherited_file_named_by_the_environment(tmp_path):
    import os

    from tui_attention.serve.child import make_error_report, read_error_report

    fd = make_error_report()
    try:
        os.pwrite(fd, b"an older, longer report " * 100, 0)
        served = Served.from_environment({"TUI_ATTENTION_SERVED": "1", "TUI_ATTENTION_ERROR_FD": str(fd)})
        assert served.error_fd == fd and served.error_log is None
        try:
            raise KeyError("boom")
        except KeyError as exc:
            served.report(exc)
        report = read_error_report(fd)
        assert report.rstrip().endswith("KeyError: 'boom'") and "older" not in report  # replaced, not appended
        assert not (tmp_path / ".error.log").exists()
    finally:
        os.close(fd)
    read_end, write_end = os.pipe()  # an open descriptor that is no file
    for bad in ("", "x", "-1", "999999", str(read_end)):
        served = Served.from_environment({"TUI_ATTENTION_SERVED": "1", "TUI_ATTENTION_ERROR_FD": bad})
        assert served.error_fd is None, bad
    os.close(read_end)
    os.close(write_end)
