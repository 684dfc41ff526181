"""`serve web` on loopback: a tab flooding keys does not hold up a tab on another address.

The bound is measured on the machine that runs the test, not set in milliseconds: one scan of
the flood's whole message (what the server did on its one loop, before the rest of that loop
ran) against the other tab's usual round trip.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import aiohttp
import pytest

from serve_helpers import bounded
from tui_attention.serve.guard import InputFilter
from tui_attention.serve.web import TutorWebServer

pytestmark = pytest.mark.serve

# A tutor that takes its keys and draws nothing: the flood is the server's to handle.
QUIET_CHILD = [sys.executable, "-c", "import sys\nwhile sys.stdin.buffer.read1(65536):\n    pass"]
FLOOD = "\x1b[1:2A" * 43690  # 256 KiB of a CSI sequence the filter drops whole: nothing waits


def from_address(address: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), force_close=True))


async def round_trips(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[float]:
    """Seconds from each ["ping", n] to its pong."""
    times = []
    for n in range(count):
        start = time.perf_counter()
        await ws.send_json(["ping", str(n)])
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.TEXT and json.loads(message.data) == ["pong", str(n)]:
                break
            assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), message
        times.append(time.perf_counter() - start)
        await asyncio.sleep(0.01)
    return times


async def test_a_tab_flooding_keys_does_not_slow_another_addresss_round_trips():
    """Attack: a tab on 127.0.0.2 sends 256 KiB of keys that scan to nothing, as fast as the
    server reads them. Scanned in one go, each held the loop (and the tab on 127.0.0.1, whose
    typical round trip took about one whole scan); now that tab's typical round trip stays
    well under a quarter of one."""
    payload = FLOOD.encode()
    whole_scan = min(_timed(lambda: InputFilter().scan(payload)) for _ in range(3))

    async def scenario():
        server = TutorWebServer(QUIET_CHILD, port=0, idle_timeout=0)
        await server.start()
        try:
            async with from_address("127.0.0.1") as mine, from_address("127.0.0.2") as theirs:
                other = await mine.ws_connect(f"http://127.0.0.1:{server.port}/ws")
                flooder = await theirs.ws_connect(f"http://127.0.0.1:{server.port}/ws")
                quiet = statistics.median(await round_trips(other, 20))
                sent = 0

                async def flood() -> None:
                    nonlocal sent
                    text = json.dumps(["stdin", FLOOD])
                    while True:
                        await flooder.send_str(text)
                        sent += 1
                        await asyncio.sleep(0.002)

                flooding = asyncio.create_task(flood())
                try:
                    await asyncio.sleep(0.2)
                    busy = await round_trips(other, 40)
                finally:
                    flooding.cancel()
                await other.close()
                await flooder.close()
                return quiet, busy, sent
        finally:
            await server.close()

    quiet, busy, sent = await bounded(scenario())
    typical = statistics.median(busy)
    print(f"one whole scan {whole_scan * 1000:.0f} ms; round trip {quiet * 1000:.1f} ms quiet, "
          f"{typical * 1000:.1f} ms typical and {max(busy) * 1000:.1f} ms at most during {sent} flood messages")
    assert sent >= 10, sent
    assert typical < whole_scan / 4, f"typical round trip {typical * 1000:.0f} ms, one scan {whole_scan * 1000:.0f} ms"


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start
