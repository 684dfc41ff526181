"""What both servers do with bytes from strangers: escape them before logging, group them by
source address, rate-limit what they cost, and keep the server's file descriptors in budget.

Every client-supplied string (a user name, a forwarding host, a header) goes through
`clean()` before it reaches the log, so an attendee cannot write escape sequences, OSC 52
clipboard writes or a forged log line onto the instructor's terminal.
"""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import logging
import math
import re
import resource
import time
import unicodedata
from collections import OrderedDict
from contextlib import asynccontextmanager
from typing import AsyncIterator

log = logging.getLogger("tui_attention.serve")

MAX_LOGGED_CHARS = 120  # of any one client-supplied string
LOG_LINE_CHARS = 400  # of any one log line
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
BIDI_CONTROLS = set("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control(ch: str) -> bool:
    """C0 (but tab), DEL, C1, and the bidi controls that reorder what follows them."""
    code = ord(ch)
    return (code < 0x20 and ch != "\t") or 0x7F <= code <= 0x9F or ch in BIDI_CONTROLS


def clean(value: object, limit: int = MAX_LOGGED_CHARS) -> str:
    """`value` as one printable line of at most about `limit` characters: controls, format
    characters (bidi, zero-width), line separators and unassigned code points as \\xNN or
    \\uNNNN, the rest cut with a count. Bytes are decoded leniently first."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    text = str(value)
    out: list[str] = []
    length = used = 0
    for used, ch in enumerate(text):
        if is_control(ch) or ch == "\t" or unicodedata.category(ch) in UNSAFE_CATEGORIES:
            ch = f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
        if length + len(ch) > limit:
            out.append(f"…(+{len(text) - used} chars)")
            break
        out.append(ch)
        length += len(ch)
    return "".join(out)


def error_summary(report: str) -> str:
    """A traceback as one escaped line: the innermost 'File ..., line N' and the error's line."""
    lines = [line.strip() for line in report.splitlines() if line.strip()]
    frames = [line for line in lines if line.startswith("File ")]
    return clean(" | ".join([*frames[-1:], *lines[-1:]]), 400)


class OneLineFormatter(logging.Formatter):
    """Log records as one bounded, printable line each, whoever logged them (asyncssh,
    aiohttp or us): controls escaped as by `clean`, an exception reduced to its last line."""

    def format(self, record: logging.LogRecord) -> str:
        return clean(super().format(record).replace("\n", " | "), LOG_LINE_CHARS)

    def formatException(self, exc_info) -> str:  # noqa: N802 - logging's name
        return f"{exc_info[0].__name__}: {clean(exc_info[1])}"


def source_of(peer: object) -> str:
    """The address a connection comes from, as the unit of every per-source limit:
    an IPv4-mapped IPv6 address is its IPv4 address, an IPv6 address stands for its /64."""
    host = peer[0] if isinstance(peer, tuple) and peer else peer
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return clean(host, 60)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class Quota:
    """At most `count` events per source in `seconds`: `allow(source)` is False past it.
    Remembers at most `sources` sources (the quietest are forgotten first)."""

    def __init__(self, count: int, seconds: float, sources: int = 4096) -> None:
        self.count, self.seconds, self.sources = count, seconds, sources
        self._seen: OrderedDict[str, list[float]] = OrderedDict()

    def allow(self, source: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        times = [t for t in self._seen.pop(source, []) if now - t < self.seconds]
        allowed = len(times) < self.count
        if allowed:
            times.append(now)
        self._seen[source] = times
        while len(self._seen) > self.sources:
            self._seen.popitem(last=False)
        return allowed


class Buckets:
    """A token bucket per source: at most `burst` events at once, then one every `interval`
    seconds (an interval of 0 lets everything through). `wait(source)` is 0 if one may
    happen now, else the seconds until one may; `take(source)` counts one. Remembers at most
    `sources` sources (the quietest are forgotten first: a full bucket)."""

    def __init__(self, burst: float, interval: float, sources: int = 4096) -> None:
        self.burst, self.interval, self.sources = burst, interval, sources
        self._level: OrderedDict[str, tuple[float, float]] = OrderedDict()  # source -> (tokens, when)

    def _tokens(self, source: str, now: float) -> float:
        tokens, when = self._level.get(source, (self.burst, now))
        return min(self.burst, tokens + (now - when) / self.interval)

    def wait(self, source: str, now: float | None = None) -> float:
        if self.interval <= 0:
            return 0.0
        tokens = self._tokens(source, time.monotonic() if now is None else now)
        return 0.0 if tokens >= 1 else (1 - tokens) * self.interval

    def take(self, source: str, now: float | None = None) -> None:
        if self.interval <= 0:
            return
        now = time.monotonic() if now is None else now
        tokens = self._tokens(source, now)
        self._level.pop(source, None)
        self._level[source] = (tokens - 1, now)
        while len(self._level) > self.sources:
            self._level.popitem(last=False)


class StartRate:
    """How often tutors may start (each costs about half a second of CPU): per source address
    a burst of `burst`, then one every `interval` seconds; and from all addresses together a
    burst of 10 x `burst`, then one every `interval` / 4 seconds (defaults: 30, then 2 a
    second, about one core of a 2-core machine), so that many addresses at once are bounded
    too and a room arriving together still gets in within seconds. `refusal(source)` is None
    if a tutor may start now (then call `started(source)`), else one line for the attendee."""

    TOTAL_BURST, TOTAL_RATE = 10, 4  # the bucket of all addresses, in multiples of one address's

    def __init__(self, burst: int = 3, interval: float = 2.0) -> None:
        self.burst, self.interval = burst, interval
        self.per_source = Buckets(burst, interval)
        self.total = Buckets(burst * self.TOTAL_BURST, interval / self.TOTAL_RATE)

    def refusal(self, source: str, now: float | None = None) -> str | None:
        now = time.monotonic() if now is None else now
        if (wait := self.per_source.wait(source, now)) > 0:
            return f"Too many tutors started from your address just now; try again in {math.ceil(wait)} s."
        if (wait := self.total.wait("", now)) > 0:
            return f"Too many tutors are starting at once; try again in {math.ceil(wait)} s."
        return None

    def started(self, source: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.per_source.take(source, now)
        self.total.take("", now)

    def describe(self) -> str:
        if self.interval <= 0:
            return "no limit on how often tutors start"
        return (f"{self.burst} tutor starts at once per address, then one every {self.interval:g} s "
                f"({self.burst * self.TOTAL_BURST}, then one every {self.interval / self.TOTAL_RATE:g} s in all)")


class RefusalLog:
    """Log a refusal, but at most `burst` lines per source and kind each `seconds`; the next
    line after a quiet spell says how many were left out."""

    def __init__(self, burst: int = 3, seconds: float = 10.0) -> None:
        self._quota = Quota(burst, seconds)
        self._dropped: dict[tuple[str, str], int] = {}

    def __call__(self, source: str, kind: str, message: str, *args: object) -> None:
        key = (source, kind)
        if not self._quota.allow(f"{source}\x00{kind}"):
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return
        dropped = self._dropped.pop(key, 0)
        if dropped:
            message += f" (and {dropped} more like it from %s not logged)"
            args = (*args, source)
        log.info(message, *args)


class Backoff:
    """A growing delay per source for repeated failures (wrong passwords): 0.5 s, 1 s, 2 s, ...
    at most `longest`; a source that stays quiet for `forget` seconds starts over."""

    def __init__(self, first: float = 0.5, longest: float = 8.0, forget: float = 300.0) -> None:
        self.first, self.longest, self.forget = first, longest, forget
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def failure(self, source: str, now: float | None = None) -> float:
        """Count a failure; return the delay the next answer to this source waits."""
        now = time.monotonic() if now is None else now
        count, last = self._failures.pop(source, (0, now))
        count = 1 if now - last > self.forget else count + 1
        self._failures[source] = (count, now)
        while len(self._failures) > 4096:
            self._failures.popitem(last=False)
        return min(self.first * 2 ** (count - 1), self.longest)

    def delay(self, source: str, now: float | None = None) -> float:
        """The delay before answering `source` now, from its recent failures."""
        now = time.monotonic() if now is None else now
        count, last = self._failures.get(source, (0, now))
        if not count or now - last > self.forget:
            return 0.0
        return min(self.first * 2 ** (count - 1), self.longest)

    def success(self, source: str) -> None:
        self._failures.pop(source, None)


class Turns:
    """One at a time per source: `async with turns(source):` waits while another coroutine of
    the same source is inside. Password checks go through it, so that the growing delay of
    `Backoff` holds per address however many connections it opens at once (each one waiting
    its own delay beside the others multiplied the guessing rate). A source's lock is kept
    only while someone holds it or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def __call__(self, source: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(source, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[source] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[source]
            if users <= 1:
                del self._locks[source]
            else:
                self._locks[source] = (lock, users - 1)

    def waiting(self, source: str) -> int:
        """Coroutines of `source` inside or waiting."""
        return self._locks.get(source, (None, 0))[1]


class ReadThrottle:
    """Reads from one client's connection at most `rate` bytes a second on average, in bursts up
    to `burst`: past it the transport stops reading until the average is back under, and the
    kernel's buffer, then TCP, make the client wait. For a server whose protocol handles what
    it reads before the next read: an SSH client may send tiny packets (SSH_MSG_IGNORE) that
    the server decrypts one by one, before login too, 6,000 to 12,000 a second from one
    connection; with six such connections every attendee's keys waited 400 ms. `limit(rate,
    burst)` changes the budget (after login, say). `received(n)` after each read of n bytes.

    And each read is at most `READ_SIZE` bytes (asyncio reads 256 KiB at once): a flood the
    kernel buffered while reading was paused came back as one read of 90-170 KB, whose
    packets the server handled in one go, holding every other connection for 0.2-0.6 s."""

    READ_SIZE = 8192

    def __init__(self, transport: asyncio.BaseTransport, rate: float, burst: float) -> None:
        self.transport = transport
        if hasattr(transport, "max_size"):  # asyncio's socket transports: the size passed to recv()
            transport.max_size = self.READ_SIZE  # type: ignore[attr-defined]
        self.rate, self.burst = rate, burst
        self._tokens = burst
        self._stamp = time.monotonic()
        self._resume: asyncio.TimerHandle | None = None

    def limit(self, rate: float, burst: float) -> None:
        """A new budget, from now; a larger burst is granted at once."""
        self._tokens += max(0.0, burst - self.burst)
        self.rate, self.burst = rate, burst

    def received(self, count: int, now: float | None = None) -> float:
        """Count a read of `count` bytes; returns the seconds reading now pauses (0: none)."""
        now = time.monotonic() if now is None else now
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate) - count
        self._stamp = now
        if self._tokens >= 0 or self._resume is not None or self.transport.is_closing():
            return 0.0
        wait = -self._tokens / self.rate
        self.transport.pause_reading()  # type: ignore[attr-defined]
        self._resume = asyncio.get_running_loop().call_later(wait, self._go_on)
        return wait

    def _go_on(self) -> None:
        self._resume = None
        if not self.transport.is_closing():
            self.transport.resume_reading()  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None


def file_descriptors(needed: int) -> tuple[int, int]:
    """Raise this process's open-file limit to its hard limit; return (soft, needed).
    The caller refuses to start (or serves fewer) when soft < needed: running out of file
    descriptors would make asyncio's accept loop flood the log and stop answering."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft, needed


class InputFilter:
    """Bounds what one attendee's keys cost the tutor, and keeps from it what would stop it.

    `scan(data)` reads each byte once, in order, and returns what may reach the tutor:
    - valid UTF-8 only, never a character cut in two: the tutor's terminal driver decodes
      its input strictly, and one stray byte (a Latin-1 terminal, an Alt key that sets the
      8th bit, an old X10 mouse report past column 95) would end it. Invalid bytes are dropped.
    - a CSI sequence (ESC [ ... final byte) whole or not at all: it is held until its final
      byte and passed only if Textual's own parser reads it without an error (a parameter
      such as 99999999999999999999 or 1114112 raises in the tutor's parser and ends it), and
      only up to `max_sequence` characters (a 60 KB parameter would cost a tutor seconds).
    - other escape strings (OSC, DCS, ...) up to `max_sequence` characters, the rest dropped.
    Everything else passes at once: a lone escape key must not wait.

    `release(data)` lets at most `rate` bytes a second through on average, in bursts up to
    `burst`, and returns (bytes to pass now, bytes to hold back). What is held back was
    scanned already: it goes back through `release` (after `wait()` seconds), never `scan`,
    so each byte costs one scan however long it waits. `feed(data)` is `release(scan(data))`.
    """

    ESC, BEL = "\x1b", "\x07"
    STRINGS = "]P_^X"  # OSC, DCS, APC, PM, SOS: end at BEL or ESC \\

    def __init__(self, rate: float = 8192.0, burst: float = 32768.0, max_sequence: int = 256) -> None:
        self.rate, self.burst, self.max_sequence = rate, burst, max_sequence
        self._tokens = burst
        self._stamp = time.monotonic()
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="ignore").decode
        self._state = "text"  # text, esc (an ESC not passed yet), esc-passed, csi, skip, string
        self._csi: list[str] = []  # the CSI sequence being read, from its ESC (when not passed yet)
        self._length = 0  # characters of the string being passed
        self._previous = ""
        self._last_read = 0.0  # when the last read was scanned

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait(self) -> float:
        """Seconds until a character (up to 4 bytes) may pass again."""
        self._refill(time.monotonic())
        return 0.0 if self._tokens >= 4 else (4 - self._tokens) / self.rate

    def feed(self, data: bytes, now: float | None = None) -> tuple[bytes, memoryview]:
        """`release(scan(data))`: for new bytes only (what it holds back goes to `release`)."""
        return self.release(self.scan(data, now), now)

    def release(self, data: bytes | memoryview, now: float | None = None) -> tuple[bytes, memoryview]:
        """(bytes to pass now, the rest held back for later: a view of `data`, not a copy, as a
        flood waits in it for many releases) of scanned `data`, by the rate; never cut inside
        a UTF-8 character."""
        self._refill(time.monotonic() if now is None else now)
        view = memoryview(data)
        take = min(max(0, int(self._tokens)), len(view))
        while 0 < take < len(view) and view[take] & 0xC0 == 0x80:  # a continuation byte
            take -= 1
        self._tokens -= take
        return bytes(view[:take]), view[take:]

    def scan(self, data: bytes, now: float | None = None) -> bytes:
        """What of `data` may reach the tutor (see the class), in order. Keeps its state across
        calls: a character or a sequence split between two reads is read whole."""
        now = time.monotonic() if now is None else now
        if self._state != "text" and now - self._last_read > ESCAPE_DELAY:
            # A sequence left open when its read ended, and nothing more for ESCAPE_DELAY: the
            # tutor's parser (Textual's) has given up on it and reads on as keys, and so does
            # this. An ESC passed alone was the escape key ("[" typed later is a "["); alt+]
            # starts an OSC string no terminal will end, and waiting for its BEL would drop
            # every key after the next max_sequence.
            self._state, self._csi = "text", []
        self._last_read = now
        out: list[str] = []
        emit = out.append
        for ch in self._decode(data):
            state = self._state
            if state == "text":
                if ch == self.ESC:
                    self._state = "esc"
                else:
                    emit(ch)
            elif state in ("esc", "esc-passed"):
                prefix = self.ESC if state == "esc" else ""
                if ch == "[":
                    self._csi = [prefix, ch]
                    self._state = "csi"
                elif ch in self.STRINGS:
                    emit(prefix + ch)
                    self._state, self._length, self._previous = "string", 2, ch
                elif ch == self.ESC:  # ESC ESC: the first is a key of its own
                    emit(prefix)
                    self._state = "esc"
                else:  # ESC x: alt+x, one key
                    emit(prefix + ch)
                    self._state = "text"
            elif state == "csi":
                if ch == self.ESC:  # a sequence cut short by the next one: dropped
                    self._csi, self._state = [], "esc"
                    continue
                self._csi.append(ch)
                if len(self._csi) > self.max_sequence:
                    self._csi = []
                    self._state = "text" if "\x40" <= ch <= "\x7e" else "skip"
                elif "\x40" <= ch <= "\x7e":
                    sequence = "".join(self._csi)
                    self._csi = []
                    self._state = "text"
                    if sequence.endswith("[M"):  # an X10 mouse report: three characters follow
                        self._csi, self._state = [sequence], "x10"
                    elif readable_csi(sequence):
                        emit(sequence)
            elif state == "x10":
                if ch < " ":  # not a report after all (its bytes were not UTF-8): dropped
                    self._csi = []
                    self._state = "esc" if ch == self.ESC else "text"
                    if ch != self.ESC:
                        emit(ch)
                    continue
                self._csi.append(ch)
                if len(self._csi) == 4:
                    emit("".join(self._csi))
                    self._csi, self._state = [], "text"
            elif state == "skip":  # an over-long CSI sequence, dropped to its final byte
                if "\x40" <= ch <= "\x7e":
                    self._state = "text"
            else:  # a string: passed up to max_sequence characters, ends at BEL or ESC \\
                self._length += 1
                if self._length <= self.max_sequence:
                    emit(ch)
                if ch == self.BEL or (ch == "\\" and self._previous == self.ESC):
                    self._state = "text"
                self._previous = ch
        if self._state == "esc":  # a lone escape key: passed now, not when the next key comes
            emit(self.ESC)
            self._state = "esc-passed"
        return "".join(out).encode("utf-8")


# Seconds the tutor's parser waits for the rest of a sequence: Textual's ESCAPE_DELAY at its
# default (a served tutor's environment holds no ESCDELAY); serve imports nothing of Textual.
ESCAPE_DELAY = 0.1
_CSI_NUMBER = re.compile(r"\d+")
CSI_BODY = frozenset(chr(c) for c in range(0x20, 0x40)) - {":"}


def readable_csi(sequence: str) -> bool:
    """Whether the tutor's input parser (Textual's) reads the CSI sequence `sequence` (ESC [
    or [, parameters, final byte) without an error: parameters and intermediates only
    (0x20-0x3F), no ':' (Textual reads "97;1:3u" as a number), and no number past the last
    code point (it makes a character of the first: "1114112u" and longer raise)."""
    body = sequence[sequence.index("[") + 1:-1]
    return all(ch in CSI_BODY for ch in body) and all(
        len(number) <= 7 and int(number) < 0x110000 for number in _CSI_NUMBER.findall(body))
