"""Key exchanges a stranger can make the SSH server compute, before login: cheap ones only, and
few per connection.

A key exchange is the one thing a client can make the server compute before it logs in.
asyncssh's defaults include rsa2048-sha256, which makes a new 2048-bit RSA key for each
connection (about 40 ms of the server's only loop): 30 handshakes a second from one address,
without a password, held every attendee's keys for seconds. And asyncssh answers every KEXINIT
a client sends (its rekey options bound only the re-keys the server starts), so one connection
could re-key in a loop.
"""

from __future__ import annotations

from typing import Callable

import asyncssh
from asyncssh.constants import MSG_KEXINIT
from asyncssh.kex import get_kex_algs

from tui_attention.serve.guard import Buckets

# Key exchanges that cost the server well under a millisecond each (measured with this
# cryptography: X25519 0.08 ms, P-256 0.08 ms, P-384 0.6 ms, P-521 0.5 ms, ML-KEM-768 0.02 ms),
# of which every OpenSSH since 5.7 (2011), PuTTY since 0.63 (2013) and asyncssh offer at least one.
# Left out: rsa2048-sha256 and rsa1024-sha1 (a new RSA key per connection, 40 ms), the
# finite-field Diffie-Hellman groups and group exchange (group18: 19 ms), curve448 (no
# OpenSSH client has it), GSS. Only those this asyncssh has are offered (`cheap_kex_algs`).
CHEAP_KEX = (
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
)
# Key exchanges one connection may start: the first and a few re-keys, then one a minute.
# Clients re-key after an hour or a gigabyte (OpenSSH, PuTTY, asyncssh), and so does this
# server. Ten connections from one address re-keying back to back (7 to 20 a second each, about
# 1 ms of the loop each) raised another attendee's key latency from 20 ms to 220 ms (median).
KEX_BURST, KEX_INTERVAL = 4, 60.0


def cheap_kex_algs() -> list[str]:
    """The key exchanges of `CHEAP_KEX` this asyncssh offers (the post-quantum ones depend
    on its cryptography or liboqs); asyncssh refuses a name it does not know."""
    known = {alg.decode("ascii") for alg in get_kex_algs()}
    return [alg for alg in CHEAP_KEX if alg in known]


def bound_key_exchanges(conn: asyncssh.SSHServerConnection, refused: Callable[[], None]) -> None:
    """At most KEX_BURST key exchanges on `conn`, then one per KEX_INTERVAL; past that `refused()`
    is called and the client disconnected. asyncssh looks a packet's handler up in its
    connection's `_packet_handlers`, which this instance attribute takes precedence over;
    tests/serve/test_ssh_hardening.py checks that it is still consulted."""
    handlers = getattr(conn, "_packet_handlers", None)
    if not isinstance(handlers, dict) or MSG_KEXINIT not in handlers:
        return
    kexinit = handlers[MSG_KEXINIT]
    pace = Buckets(KEX_BURST, KEX_INTERVAL, sources=1)

    def counted(connection: object, pkttype: int, pktid: int, packet: object) -> object:
        if pace.wait("") > 0:
            refused()
            raise asyncssh.ProtocolError("too many key exchanges")
        pace.take("")
        return kexinit(connection, pkttype, pktid, packet)

    conn._packet_handlers = {**handlers, MSG_KEXINIT: counted}  # type: ignore[attr-defined]  # noqa: SLF001
