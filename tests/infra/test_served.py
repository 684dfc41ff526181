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
