"""HTTP-side guards of `serve web`: which Host and Origin the server answers, who a request
comes from (X-Forwarded-For only from a local proxy), whether a request came through the
Jupyter server (`--behind-jupyter`: its secret header), malformed requests as one line,
storms of accept() errors as one warning, the file descriptors in use, and the texts
of websocket close reasons.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import socket
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from tui_attention.serve.guard import RefusalLog, clean, source_of
from tui_attention.serve.jupyter import PROXY_SECRET_HEADER

log = logging.getLogger("tui_attention.serve")

PROXY_PEERS = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})  # a local reverse proxy connects from these
MAX_REASON = 123  # bytes of a close reason (RFC 6455)

_HOST_RE = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::([0-9]{1,5}))?")


def reason_bytes(text: str) -> bytes:
    """`text` as a websocket close reason: at most 123 bytes of UTF-8, cut at a character."""
    return text.encode()[:MAX_REASON].decode("utf-8", "ignore").encode()


def duration(seconds: float) -> str:
    """'15 minutes', '1 minute', '90 seconds', '1 second'."""
    if seconds >= 120 or (seconds >= 60 and seconds % 60 == 0):
        minutes = round(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    whole = f"{seconds:g}"
    return f"{whole} second{'s' if whole != '1' else ''}"


def valid_host(host: str | None) -> str | None:
    """A Host header as `name[:port]` or `[v6][:port]`, lower case; None if it is not one."""
    if not host:
        return None
    match = _HOST_RE.fullmatch(host)
    if match is None or (match.group(1) is not None and int(match.group(1)) > 65535):
        return None
    return host.lower()


def carries_secret(request: web.BaseRequest, secret: str) -> bool:
    """Whether `request` has the Jupyter proxy's secret header (compared in constant time)."""
    given = request.headers.get(PROXY_SECRET_HEADER, "")
    return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8", "replace"))


def origin_of(url: str) -> str:
    """scheme://host[:port] of `url`, lower case, without the scheme's default port."""
    parts = urlsplit(url)
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower().rsplit("@", 1)[-1]
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return f"{scheme}://{netloc}"


def is_proxy_peer(address: str | None) -> bool:
    """Whether a peer at `address` may speak for others (its X-Forwarded-For is believed, its
    connections are not capped): only the documented local proxy's addresses, `PROXY_PEERS`.
    Not all of 127.0.0.0/8, since any local process may bind 127.0.0.2 and name itself anyone."""
    try:
        ip = ipaddress.ip_address(str(address).split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip) in PROXY_PEERS


def bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def this_machine_address(family: int = socket.AF_INET) -> str | None:
    """The address other machines most likely reach this one at (that of the default route):
    a UDP socket 'connected' to a documentation address sends nothing but picks it."""
    target = ("2001:db8::1", 9) if family == socket.AF_INET6 else ("192.0.2.1", 9)
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(target)
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address in ("0.0.0.0", "::") else address


class Client:
    """Who is at the other end of a request: `source` (the unit of the per-address caps) and
    `shown` (for the log, escaped). X-Forwarded-For counts only from a proxy peer
    (`is_proxy_peer`), and then only its last address, the one that proxy saw."""

    def __init__(self, request: web.BaseRequest) -> None:
        remote = request.remote or "?"
        self.source = source_of(remote)
        self.shown = clean(remote, 60)
        forwarded = request.headers.getall("X-Forwarded-For", [])
        if not forwarded:
            return
        value = ",".join(forwarded)
        if not is_proxy_peer(remote):
            self.shown += f" (X-Forwarded-For {clean(value, 60)} ignored: not from a local proxy)"
            return
        last = value.rsplit(",", 1)[-1].strip()  # what the proxy itself saw
        try:
            address = ipaddress.ip_address(last)
        except ValueError:
            self.shown += f" (X-Forwarded-For {clean(value, 60)} ignored: not an address)"
            return
        self.source = source_of(str(address))
        self.shown = f"{address} via {self.shown}"


class OneLineBadRequests(logging.Filter):
    """aiohttp logs a malformed request (a control character in a header, an over-long line)
    at ERROR with a traceback: make it one short, rate-limited line of our own."""

    def __init__(self, refusals: RefusalLog) -> None:
        super().__init__()
        self.refusals = refusals

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        remote = str(args[0]) if args else "?"
        what = [line.strip().rstrip(":") for line in str(getattr(error, "message", "") or type(error).__name__).splitlines()]
        self.refusals(
            source_of(remote), "bad request", "bad HTTP request from %s: %s", clean(remote, 60), clean(what[0] if what else "", 80)
        )
        return False
