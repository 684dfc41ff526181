"""serve.guard: escaping for the log, per-source quotas and backoff, the input filter."""

from __future__ import annotations

import asyncio
import logging
import unicodedata

import pytest

from hypothesis import given
from hypothesis import strategies as st

from tui_attention.serve.guard import (LOG_LINE_CHARS, MAX_LOGGED_CHARS, UNSAFE_CATEGORIES, Backoff, InputFilter, OneLineFormatter, Quota, RefusalLog,
                                       StartRate, Turns, clean, file_descriptors, source_of)


def test_clean_escapes_every_control_and_bounds_the_length():
    hostile = "a\x1b]52;c;eA==\x07b\x9b2J\nFAKE\u202e\u2066\ttab\x00"
    out = clean(hostile)
    assert out == "a\\x1b]52;c;eA==\\x07b\\x9b2J\\x0aFAKE\\u202e\\u2066\\x09tab\\x00"
    assert clean("x" * 500, 10) == "x" * 10 + "…(+490 chars)"
    assert clean(b"\xff\x1b") == "\\xff\\x1b"


@given(st.text())
def test_clean_output_is_printable_and_one_line(text):
    out = clean(text)
    assert not any(unicodedata.category(ch) in UNSAFE_CATEGORIES for ch in out)
    assert len(out) <= MAX_LOGGED_CHARS + len("…(+999999 chars)")


def test_one_line_formatter_escapes_and_bounds_any_record():
    formatter = OneLineFormatter("%(message)s")
    record = logging.LogRecord("asyncssh", logging.WARNING, __file__, 1, "host %s\nsecond", ("\x1b[2J" * 500,), None)
    line = formatter.format(record)
    assert "\n" not in line and "\x1b" not in line and len(line) <= LOG_LINE_CHARS + 20
    try:
        raise ValueError("bad\x1b]0;title\x07")
    except ValueError:
        import sys
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = formatter.format(record)
    assert line.startswith("failed | ValueError: bad\\x1b]0;title\\x07") and "Traceback" not in line


def test_source_of_groups_addresses():
    assert source_of(("127.0.0.2", 5555)) == "127.0.0.2"
    assert source_of(("::ffff:10.0.0.7", 1, 0, 0)) == "10.0.0.7"
    assert source_of(("2001:db8::1", 1, 0, 0)) == source_of(("2001:db8::ffff", 2, 0, 0)) == "2001:db8::/64"
    assert source_of(("fe80::1%eth0", 1, 0, 0)) == "fe80::/64"
    assert source_of("\x1bweird") == "\\x1bweird"


def test_quota_counts_per_source_in_a_window():
    quota = Quota(2, 10.0)
    assert [quota.allow("a", t) for t in (0, 1, 2)] == [True, True, False]
    assert quota.allow("b", 2)  # another source has its own count
    assert quota.allow("a", 10.5)  # the first event left the window


def test_refusal_log_keeps_bursts_short_and_counts_the_rest(caplog):
    caplog.set_level(logging.INFO, logger="tui_attention.serve")
    refusal = RefusalLog(burst=2, seconds=0.2)
    for _ in range(50):
        refusal("1.2.3.4", "forward", "refused %s", "x")
    refusal("5.6.7.8", "forward", "refused %s", "y")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["refused x", "refused x", "refused y"]
    import time
    time.sleep(0.25)
    refusal("1.2.3.4", "forward", "refused %s", "x")
    assert caplog.records[-1].getMessage() == "refused x (and 48 more like it from 1.2.3.4 not logged)"


def test_backoff_grows_per_source_and_forgets():
    backoff = Backoff(first=0.5, longest=2.0, forget=100.0)
    assert backoff.delay("a", 0) == 0
    assert [backoff.failure("a", t) for t in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.0]
    assert backoff.delay("a", 5) == 2.0 and backoff.delay("b", 5) == 0
    assert backoff.delay("a", 200) == 0  # quiet long enough
    backoff.success("a")
    assert backoff.delay("a", 6) == 0


def test_file_descriptors_reports_the_soft_limit():
    soft, needed = file_descriptors(100)
    assert needed == 100 and soft >= 100


# -- the input filter -------------------------------------------------------------------


def test_keys_pass_at_once_and_whole():
    f = InputFilter()
    assert f.feed(b"q") == (b"q", b"")
    assert f.feed(b"\x1b") == (b"\x1b", b"")  # a lone escape key does not wait
    assert f.feed(b"\x1b[A\x1bOP\x1bx") == (b"\x1b[A\x1bOP\x1bx", b"")
    assert f.feed(b"\x1b]52;c;eA==\x07k") == (b"\x1b]52;c;eA==\x07k", b"")


def test_an_over_long_escape_sequence_is_dropped_or_cut_and_what_follows_passes():
    f = InputFilter(max_sequence=16)
    out, held = f.feed(b"\x1b[" + b"1;" * 1000 + b"mz")
    assert held == b"" and out == b"z"  # a CSI sequence passes whole or not at all
    out, _ = f.feed(b"\x1bP" + b"x" * 100 + b"\x1b\\y")  # a DCS string ends at ST
    assert out.endswith(b"y") and len(out) == 17


def test_what_would_stop_the_tutor_never_reaches_it():
    # Each of these ended a served tutor, with its traceback on the attendee's screen: the
    # driver decodes UTF-8 strictly, and Textual's parser raises on numbers past a code point.
    f = InputFilter()
    assert f.feed(b"\xff")[0] == b""  # not UTF-8 (a Latin-1 terminal, an 8th-bit Alt key)
    assert f.feed(b"\x1b[M\xff\xff\xff")[0] == b""  # an X10 mouse report past column 95
    for sequence in (b"\x1b[99999999999999999999u", b"\x1b[1114112u", b"\x1b[97;1:3u", b"\x1b[1114112;5A"):
        assert f.feed(sequence + b"k")[0] == b"k", sequence
    assert f.feed("é".encode()[:1])[0] == b"" and f.feed("é".encode()[1:])[0] == "é".encode()  # split reads
    for fine in (b"\x1b[<0;10;10M", b"\x1b[M !!", b"\x1b[?2026;2$y", b"\x1b[200~a\x1b[201~", b"\x1b[1114111u"):
        assert f.feed(fine)[0] == fine, fine


def test_a_bracket_typed_after_the_escape_key_is_a_bracket():
    f = InputFilter()
    t = f._stamp
    assert f.feed(b"\x1b", now=t)[0] == b"\x1b"  # the escape key, alone in its read
    assert f.feed(b"[12\r", now=t + 0.5)[0] == b"[12\r"  # typed later: no sequence to hold
    assert f.feed(b"\x1b", now=t + 1)[0] == b"\x1b"
    assert f.feed(b"[A", now=t + 1.01)[0] == b"[A"  # the rest of a sequence split between reads


def test_a_string_no_terminal_ends_does_not_take_the_keys_after_it():
    # alt+] (or alt+shift+p) is ESC ] : the start of an OSC (DCS) string, which no terminal ends.
    for start in (b"\x1b]", b"\x1bP", b"\x1b[12"):
        f = InputFilter()
        t = f._stamp
        f.feed(start, now=t)
        out = b"".join(f.feed(b"\x1b[A", now=t + 1 + k)[0] for k in range(100))
        assert out == b"\x1b[A" * 100, start


def test_a_long_string_is_cut_between_characters():
    f = InputFilter(max_sequence=16)
    out, _ = f.feed(b"\x1b]a" + "é".encode() * 200 + b"\x07k")
    assert out.decode("utf-8").endswith("é") or out.decode("utf-8").endswith("k")
    assert out.endswith(b"k")


def test_held_keys_are_not_scanned_again():
    # Rescanning held bytes cost a flood the server's loop, and read a held chunk ending inside
    # a terminal reply again from the reply's state: the keys before it were dropped.
    f = InputFilter(rate=100.0, burst=10.0)
    out, held = f.feed(b"k" * 300 + b"\x1b]11;rgb:0", now=f._stamp)
    assert out == b"k" * 10
    got = bytearray(out)
    for k in range(1, 40):
        out, held = f.release(held, now=f._stamp + 0.1)
        got += out
        if not held:
            break
    got += f.feed(b"000/0000/0000\x07", now=f._stamp + 10)[0]
    assert bytes(got).startswith(b"k" * 300)


# Pieces of what terminals send, and of what breaks parsers: escapes, CSI parameters (long
# numbers, sub-parameters), finals, mouse reports, strings, characters not ASCII, stray bytes.
_PIECES = st.sampled_from([b"\x1b", b"[", b"]", b"P", b"O", b"<", b"?", b";", b":", b"M", b"m", b"u", b"~", b"A",
                           b"R", b"t", b"$y", b"\x07", b"\x1b\\", b"0", b"1", b"9" * 7, b"9" * 21, b"1114112", b"-5",
                           "é".encode(), "\U0010ffff".encode(), b"\xff", b"\xc3", b"q", b" ", b"\r"])


@given(st.one_of(st.binary(max_size=600), st.lists(_PIECES, max_size=80).map(b"".join)))
def test_textual_reads_whatever_passes(data):
    from textual._xterm_parser import XTermParser

    f = InputFilter(rate=1e9, burst=1e9)
    out, held = f.feed(data)
    parser = XTermParser(debug=False)
    for _event in parser.feed(out.decode("utf-8")):  # strict, as the tutor's driver decodes
        pass


def test_past_the_rate_bytes_are_held_back():
    f = InputFilter(rate=100.0, burst=10.0)
    out, held = f.feed(b"a" * 25, now=f._stamp)
    assert (out, held) == (b"a" * 10, b"a" * 15)
    assert f.wait() > 0
    out, held = f.release(held, now=f._stamp + 0.1)  # 10 more bytes' worth of time
    assert (out, held) == (b"a" * 10, b"a" * 5)


@given(st.binary(max_size=2000))
def test_no_sequence_longer_than_the_bound_gets_through(data):
    f = InputFilter(rate=1e9, burst=1e9, max_sequence=32)
    out, held = f.feed(data)
    assert held == b""
    assert len(out) <= len(data)
    out.decode("utf-8")  # whole characters only
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x1b" not in text:
        assert out == data


async def test_turns_let_one_coroutine_of_a_source_in_at_a_time_and_forget_idle_sources():
    import asyncio

    turns = Turns()
    inside = {"a": 0, "b": 0}
    most = {"a": 0, "b": 0}

    async def check(source: str) -> None:
        async with turns(source):
            inside[source] += 1
            most[source] = max(most[source], inside[source])
            await asyncio.sleep(0.01)
            inside[source] -= 1

    await asyncio.gather(*(check(s) for s in "ab" * 5))
    assert most == {"a": 1, "b": 1}  # one at a time per source; the two sources side by side
    assert turns.waiting("a") == 0 and not turns._locks  # noqa: SLF001 - nothing kept for quiet sources


def test_start_rate_is_a_burst_then_one_per_interval_per_address_and_bounded_in_all():
    rate = StartRate(burst=3, interval=2.0)
    for k in range(3):
        assert rate.refusal("a", now=100.0) is None
        rate.started("a", now=100.0)
    why = rate.refusal("a", now=100.0)
    assert why == "Too many tutors started from your address just now; try again in 2 s."
    assert rate.refusal("b", now=100.0) is None  # another address is not held back
    assert rate.refusal("a", now=102.0) is None  # one more after the interval...
    rate.started("a", now=102.0)
    assert rate.refusal("a", now=103.0) is not None  # ...and only one
    everyone = StartRate(burst=1, interval=2.0)  # in all: a burst of 10, then one every 0.5 s
    for k in range(10):
        assert everyone.refusal(f"10.0.0.{k}", now=0.0) is None
        everyone.started(f"10.0.0.{k}", now=0.0)
    assert everyone.refusal("10.0.1.1", now=0.0) == "Too many tutors are starting at once; try again in 1 s."
    assert everyone.refusal("10.0.1.1", now=0.5) is None
    free = StartRate(burst=1, interval=0)
    for _ in range(100):
        free.started("a")
    assert free.refusal("a") is None


class _Transport:
    """What ReadThrottle uses of an asyncio transport."""

    max_size = 256 * 1024  # asyncio's socket transports: the size of one recv()

    def __init__(self) -> None:
        self.reading, self.closing = True, False

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return self.closing


async def test_reads_past_the_rate_pause_the_transport_until_the_average_is_back_under():
    from tui_attention.serve.guard import ReadThrottle

    transport = _Transport()
    reads = ReadThrottle(transport, rate=1000.0, burst=4000.0)
    # One read is small: a flood buffered during a pause must not come back as one 256 KiB read
    # whose packets the server handles without letting the other connections run.
    assert transport.max_size == ReadThrottle.READ_SIZE <= 8192
    t0 = reads._stamp
    assert reads.received(3000, now=t0) == 0.0 and transport.reading  # within the burst
    wait = reads.received(2000, now=t0)  # 1000 bytes over: a second at 1000 bytes a second
    assert wait == pytest.approx(1.0) and not transport.reading
    assert reads.received(500, now=t0 + 0.1) == 0.0  # already paused: one timer, not two
    await asyncio.sleep(wait + 0.1)
    assert transport.reading  # resumed by its timer
    reads.limit(rate=10_000.0, burst=40_000.0)  # after login
    assert reads.received(30_000) == 0.0 and transport.reading


async def test_a_closed_connection_is_not_resumed_and_its_timer_is_cancelled():
    from tui_attention.serve.guard import ReadThrottle

    transport = _Transport()
    reads = ReadThrottle(transport, rate=1000.0, burst=1000.0)
    assert reads.received(5000) > 0 and not transport.reading
    transport.closing = True
    reads.close()
    await asyncio.sleep(0.05)
    assert not transport.reading
