"""`serve web`: what one tab's keys cost the server's loop (`web_tab.TabInput`, no server).

Every tab's keys are scanned (`guard.InputFilter.scan`) on the one loop that serves every tab:
a 256 KiB message scanned in one call held all the others for 150-400 ms. These tests hold the
scanning to SSH's terms: at most one SSH read (8 KiB) per call, the loop running between two
calls, and no more bytes a second than SSH reads from one connection after login.
"""

from __future__ import annotations

import asyncio

import pytest

from serve_helpers import bounded, wait_until
from tui_attention.serve import web_tab
from tui_attention.serve.guard import InputFilter, ReadThrottle

pytestmark = pytest.mark.serve

CHUNK = ReadThrottle.READ_SIZE  # what SSH scans at once
SHIFT_UP = "\x1b[1;2A"  # a key Textual reads
UNREADABLE = "\x1b[1:2A"  # a CSI sequence the filter drops whole (Textual reads "1:2" as a number)


class Service:
    """What TabInput needs of textual-serve's AppService: somewhere to send keys."""

    member = None

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send_bytes(self, data: bytes) -> bool:
        self.sent.append(data)
        return True

    async def set_terminal_size(self, width: int, height: int) -> None:
        pass

    async def focus(self) -> None:
        pass

    async def blur(self) -> None:
        pass


@pytest.fixture
def scans(monkeypatch):
    """Every InputFilter.scan call: (bytes in, bytes out, ticks of the loop so far)."""
    calls: list[tuple[int, bytes, int]] = []
    ticks = [0]
    scan = InputFilter.scan

    def recorded(self, data, now=None):
        out = scan(self, data, now)
        calls.append((len(data), out, ticks[0]))
        return out

    monkeypatch.setattr(InputFilter, "scan", recorded)
    return calls, ticks


async def ticking(ticks: list[int]) -> None:
    while True:
        ticks[0] += 1
        await asyncio.sleep(0)


async def test_a_256_kib_message_is_scanned_a_chunk_at_a_time_with_the_loop_running_between(scans):
    """Attack: ["stdin", SHIFT_UP * 43690], 256 KiB of keys in one message. No scan call reads
    more than SSH's 8 KiB read, and the loop (every other tab) runs between two calls."""
    calls, ticks = scans

    async def scenario():
        ticker = asyncio.create_task(ticking(ticks))
        tab = web_tab.TabInput(Service(), asyncio.get_running_loop())
        try:
            tab.key((SHIFT_UP * 43690).encode())
            assert await wait_until(lambda: not tab.pending, 30), len(tab.pending)
        finally:
            ticker.cancel()
            await tab.stop()

    await bounded(scenario())
    sizes = [size for size, _, _ in calls]
    assert sum(sizes) == 43690 * len(SHIFT_UP)
    assert max(sizes) <= CHUNK, f"one scan call read {max(sizes)} bytes on the loop"
    loop_ran = [after > before for (_, _, before), (_, _, after) in zip(calls, calls[1:])]
    assert all(loop_ran), "the loop did not run between two scan calls"
    print(f"{len(calls)} scan calls of at most {max(sizes)} bytes")


async def test_scanning_in_chunks_passes_what_one_scan_of_the_message_would(scans):
    """A chunk ending on an ESC (whose sequence the filter drops whole), a UTF-8 character and
    a key sequence cut by a chunk's end: the tutor gets what one scan of the whole would pass,
    in order, and no stray escape key."""
    calls, _ = scans
    text = "a" * (CHUNK - 1) + UNREADABLE  # its ESC is the last byte of the first chunk
    text += "b" * (2 * CHUNK - 2 - len(text)) + "€"  # three bytes across the next chunk's end
    text += "c" * (3 * CHUNK - 4 - len(text.encode())) + SHIFT_UP + "d" * 100
    message = text.encode()
    expected = InputFilter().scan(message, 0.0)
    assert b"\x1b[1:2A" not in expected and b"\x1b[1;2A" in expected and "€".encode() in expected
    calls.clear()

    async def scenario():
        tab = web_tab.TabInput(Service(), asyncio.get_running_loop())
        try:
            tab.key(message)
            assert await wait_until(lambda: not tab.pending, 30), len(tab.pending)
        finally:
            await tab.stop()

    await bounded(scenario())
    assert b"".join(out for _, out, _ in calls) == expected


async def test_keys_that_scan_to_nothing_are_scanned_at_most_at_sshs_read_rate(scans):
    """Attack: 256 KiB of UNREADABLE again and again. They scan to nothing, so nothing waits
    for the tutor and the next 256 KiB was taken (and scanned) at once: one tab kept the loop
    busy. Past a 256 KiB burst a tab's keys are scanned at SSH's 64 KiB a second after login,
    and what waits beyond 256 KiB is dropped whole."""
    calls, _ = scans
    rate, burst = 64 * 1024, 256 * 1024  # ssh.READ_AFTER_LOGIN
    flood = (UNREADABLE * (256 * 1024 // len(UNREADABLE))).encode()

    async def scenario():
        loop = asyncio.get_running_loop()
        tab = web_tab.TabInput(Service(), loop)
        try:
            start = loop.time()
            while loop.time() - start < 1.0:
                tab.key(flood)
                await asyncio.sleep(0.01)
            return tab.dropped, loop.time() - start
        finally:
            await tab.stop()

    dropped, elapsed = await bounded(scenario())
    scanned = sum(size for size, _, _ in calls)
    assert not any(out for _, out, _ in calls)
    allowed = burst + rate * elapsed + CHUNK
    assert scanned <= allowed, f"{scanned} bytes scanned in {elapsed:.2f} s (at most {allowed:.0f})"
    assert dropped > 0
    print(f"{scanned} bytes scanned in {elapsed:.2f} s; {dropped} bytes dropped")
