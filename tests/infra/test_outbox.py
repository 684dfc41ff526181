"""The channel's Outbox: lines to a non-blocking socket, bounded, sent as the peer reads them."""

import asyncio
import socket

from serve_helpers import drain

from tui_attention.infra.channel import Outbox


def pair() -> tuple[socket.socket, socket.socket]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    theirs.setblocking(False)
    return ours, theirs


async def test_lines_a_slow_peer_has_not_read_wait_and_go_out_in_order_once_it_reads():
    ours, theirs = pair()
    outbox = Outbox(ours, limit=1 << 20)
    outbox.start(asyncio.get_running_loop())
    lines = [f"line {k:05d}\n".encode() for k in range(5000)]
    assert all(outbox.send(line) for line in lines)
    assert len(outbox) > 0  # the socket's buffers are full: the rest waits
    received = bytearray()
    for _ in range(500):
        received += drain(theirs)
        await asyncio.sleep(0.005)  # the loop's writer callback sends what waits
        if len(received) == sum(map(len, lines)):
            break
    assert bytes(received) == b"".join(lines)
    assert len(outbox) == 0
    outbox.stop()
    ours.close()
    theirs.close()


async def test_a_peer_that_never_reads_costs_at_most_the_limit():
    ours, theirs = pair()
    outbox = Outbox(ours, limit=64 * 1024)
    outbox.start(asyncio.get_running_loop())
    accepted = sum(outbox.send(b"x" * 199 + b"\n") for _ in range(5000))
    assert accepted < 5000  # later lines are refused, not queued
    assert len(outbox) <= 64 * 1024
    outbox.stop()
    ours.close()
    theirs.close()


async def test_a_peer_gone_stops_the_writer_and_reports_once():
    ours, theirs = pair()
    errors = []
    loop = asyncio.get_running_loop()
    outbox = Outbox(ours, limit=1 << 20, on_error=lambda: errors.append(1))
    outbox.start(loop)
    while outbox.send(b"y" * 1000 + b"\n") and len(outbox) == 0:
        pass  # until something waits for the peer
    theirs.close()
    for _ in range(100):
        await asyncio.sleep(0.005)
        if errors:
            break
    assert errors == [1]
    assert len(outbox) == 0
    assert not loop.remove_writer(ours.fileno())  # no callback left behind to spin on a dead socket
    ours.close()
