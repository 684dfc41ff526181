"""Load benchmark for `tui-attention serve ssh`.

    python benchmarks/ssh_load.py --sessions 50 --seconds 20

Starts `python -P -m tui_attention serve ssh --port 0` (the real server and
the real tutor), opens N concurrent asyncssh clients with an 80x24 PTY, waits
until every one shows the first screen, then has each press a key every
500 ms (right, left, right, ... so every key changes the screen) for S seconds.

Latency is measured from sending a key to receiving the end of the screen
update it causes. The clients answer Textual's synchronized-output query, so
the tutor brackets every frame with ESC[?2026h ... ESC[?2026l and the end of
a frame is exact. A key's update is every frame that follows it until the
screen has been quiet for --quiet-ms (the tutor draws a step in two frames
about 30 ms apart); "median_ms"/"p95_ms" are to the end of its last frame,
and the times to the end of the first frame and to the first byte back are
reported as well. A client waits for its update to settle before its next
key (a key that falls due earlier is counted as skipped). Memory is the sum over the server and all its descendants,
sampled every 2 s while the keys are flowing: RSS (shared pages counted in
every process, an overestimate) and PSS (shared pages divided among their
users, what the machine really spends).

Output: JSON lines on stdout: one "ready" line once all sessions show the
tutor, one "progress" line every 5 s, and a final "result" line. The result
gives the CPU the server and the tutors spent per key sent, the figure that
the workshop channel (each tutor's state report to the server's room) adds to:
--no-channel serves without it (`serve ssh --no-room`), and --compare-channel
runs without it and then with it, and adds a "channel" line with the
difference.

The clients run on the same machine as the server, so on a 2-core machine
their own SSH work competes with the server for the same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import asyncssh

KEYS = (b"\x1b[C", b"\x1b[D")  # right, left
SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"  # "supported, currently reset"
SYNC_END = b"\x1b[?2026l"
READY_MARK = b"artificial"  # a token of the default sentence, on the first screen
TARGET_P95_MS = 150.0
TARGET_MB_PER_SESSION = 70.0


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[k]


# -- the server ---------------------------------------------------------------------


def start_server(sessions: int, data_dir: str, extra: list[str]) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, XDG_DATA_HOME=data_dir)
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "tui_attention", "serve", "ssh", "--port", "0",
         "--max-sessions", str(sessions), "--max-per-address", str(sessions), "--idle-timeout", "0",
         # every client comes from 127.0.0.1: the per-address start rate would space them 2 s apart
         "--start-burst", str(sessions), "--start-interval", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=data_dir,
    )  # fmt: skip
    buf = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            text = buf.decode(errors="replace")
            if "Ctrl+C" in text:
                port = int(text.split(" on ", 1)[1].split()[0].rsplit(":", 1)[1])
                return proc, port
        elif proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"the server did not start: {buf.decode(errors='replace')}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; (0, 0) if it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> tuple[float, float]:
    """(server, tutors) CPU seconds so far."""
    return cpu_seconds(pid), sum(cpu_seconds(p) for p in process_tree(pid) if p != pid)


def tree_memory_mb(pid: int) -> dict:
    pids = process_tree(pid)
    rss = pss = 0
    for p in pids:
        r, s = memory_kb(p)
        rss += r
        pss += s
    server_rss, server_pss = memory_kb(pid)
    return {
        "processes": len(pids),
        "rss_mb": round(rss / 1024, 1),
        "pss_mb": round(pss / 1024, 1),
        "server_rss_mb": round(server_rss / 1024, 1),
        "server_pss_mb": round(server_pss / 1024, 1),
    }


# -- the clients ----------------------------------------------------------------------


class Client(asyncssh.SSHClientSession):
    """One attendee. A key's update is every frame that arrives after the key
    until the screen has been quiet for `quiet` seconds (the tutor draws some
    steps in two frames ~30 ms apart); its latency is the end of its last frame."""

    quiet = 0.15

    def __init__(self, index: int) -> None:
        self.index = index
        self.chan = None
        self.buffer = b""
        self.ready = asyncio.Event()
        self.closed = False
        self.sync = False
        self.sent_at: float | None = None
        self.first_byte_at: float | None = None
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.frames = 0
        self._quiet_timer: asyncio.TimerHandle | None = None
        self.latencies: list[float] = []  # to the end of the last frame: the update
        self.first_frames: list[float] = []  # to the end of the first frame
        self.first_bytes: list[float] = []
        self.frame_counts: list[int] = []

    def connection_made(self, chan) -> None:
        self.chan = chan

    def data_received(self, data: bytes, datatype) -> None:
        now = time.perf_counter()
        if not self.ready.is_set():
            self.buffer += data
            if SYNC_QUERY in self.buffer:
                self.sync = True
                self.chan.write(SYNC_REPLY)
                self.buffer = self.buffer.replace(SYNC_QUERY, b"")
            if READY_MARK in self.buffer:
                self.ready.set()
                self.buffer = b""
            return
        before = self.buffer[-16:]
        tail = before + data  # a frame end may be split between two chunks
        self.buffer = tail[-16:]
        if self.sent_at is None:
            return
        if self.first_byte_at is None:
            self.first_byte_at = now
        ends = tail.count(SYNC_END) - before.count(SYNC_END)
        if ends:
            self.frames += ends
            self.last_frame_at = now
            if self.first_frame_at is None:
                self.first_frame_at = now
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
        self._quiet_timer = asyncio.get_running_loop().call_later(self.quiet, self._settled)

    def _settled(self) -> None:
        self._quiet_timer = None
        if self.sent_at is None or not self.frames:
            return
        self.latencies.append((self.last_frame_at - self.sent_at) * 1000)
        self.first_frames.append((self.first_frame_at - self.sent_at) * 1000)
        self.first_bytes.append((self.first_byte_at - self.sent_at) * 1000)
        self.frame_counts.append(self.frames)
        self.sent_at = self.first_byte_at = self.first_frame_at = self.last_frame_at = None
        self.frames = 0

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.ready.set()

    def press(self, key: bytes) -> bool:
        if self.closed or self.sent_at is not None:
            return False
        self.sent_at = time.perf_counter()
        self.chan.write(key)
        return True


async def open_client(port: int, index: int) -> tuple[asyncssh.SSHClientConnection, Client]:
    conn = await asyncssh.connect(
        "127.0.0.1", port, known_hosts=None, client_keys=None, agent_path=None, config=None,
        username=f"attendee{index}", gss_host=None,
    )  # fmt: skip
    _, client = await conn.create_session(
        lambda: Client(index), term_type="xterm-256color", term_size=(80, 24), encoding=None
    )
    return conn, client


async def drive(client: Client, seconds: float, interval: float, stats: dict) -> None:
    deadline = time.monotonic() + seconds
    await asyncio.sleep(min(random.uniform(0, interval), seconds))
    n = 0
    while time.monotonic() < deadline and not client.closed:
        if client.press(KEYS[n % 2]):
            stats["sent"] += 1
            n += 1
        else:
            stats["skipped"] += 1  # the previous key's update has not arrived yet
        await asyncio.sleep(max(0.0, min(interval, deadline - time.monotonic())))


async def main_async(args: argparse.Namespace) -> int:
    data_dir = tempfile.mkdtemp(prefix="ssh-load-")
    extra = [*args.server_args, *(["--no-room"] if args.no_channel else [])]
    server, port = start_server(args.sessions, data_dir, extra)
    conns: list[asyncssh.SSHClientConnection] = []
    clients: list[Client] = []
    try:
        t0 = time.monotonic()
        sem = asyncio.Semaphore(args.connect_parallel)

        async def connect(i: int) -> None:
            async with sem:
                conn, client = await open_client(port, i)
                conns.append(conn)
                clients.append(client)
                await asyncio.wait_for(client.ready.wait(), args.startup_timeout)

        await asyncio.gather(*(connect(i) for i in range(args.sessions)))
        ready_s = time.monotonic() - t0
        emit({
            "type": "ready", "sessions": len(clients), "seconds_to_all_ready": round(ready_s, 2),
            "sync_output": sum(1 for c in clients if c.sync), **tree_memory_mb(server.pid),
        })  # fmt: skip
        await asyncio.sleep(1.0)  # let the first frames settle

        stats = {"sent": 0, "skipped": 0}
        samples: list[dict] = []
        cpu_before = tree_cpu(server.pid) + (sum(os.times()[:2]), machine_busy_seconds())
        drivers = [asyncio.create_task(drive(c, args.seconds, args.interval, stats)) for c in clients]
        started = time.monotonic()
        next_progress = started + 5
        while not all(d.done() for d in drivers):
            await asyncio.sleep(2.0)
            # in a thread: reading 50 smaps_rollup files takes long enough to stall the clients
            samples.append(await asyncio.to_thread(tree_memory_mb, server.pid))
            if time.monotonic() >= next_progress:
                next_progress += 5
                lat = [x for c in clients for x in c.latencies]
                emit({
                    "type": "progress", "elapsed_s": round(time.monotonic() - started, 1), "updates": len(lat),
                    "median_ms": round(statistics.median(lat), 1) if lat else None,
                    "p95_ms": round(percentile(lat, 95), 1) if lat else None,
                    "pss_mb": round(samples[-1]["pss_mb"], 1),
                })  # fmt: skip
        await asyncio.gather(*drivers)
        await asyncio.sleep(2.0)  # the last updates settle
        wall = time.monotonic() - started
        cpu_after = tree_cpu(server.pid) + (sum(os.times()[:2]), machine_busy_seconds())
        cpu = [after - before for before, after in zip(cpu_before, cpu_after)]
        latencies = [x for c in clients for x in c.latencies]
        first_bytes = [x for c in clients for x in c.first_bytes]
        first_frames = [x for c in clients for x in c.first_frames]
        frame_counts = [x for c in clients for x in c.frame_counts]
        unanswered = sum(1 for c in clients if c.sent_at is not None)
        peak = max(samples, key=lambda s: s["pss_mb"]) if samples else tree_memory_mb(server.pid)
        median = statistics.median(latencies) if latencies else None
        p95 = percentile(latencies, 95)
        per_session_pss = peak["pss_mb"] / args.sessions
        per_session_rss = peak["rss_mb"] / args.sessions
        keys = max(stats["sent"], 1)
        result = {
            "type": "result",
            "channel": not args.no_channel,
            "sessions": args.sessions,
            "seconds": args.seconds,
            "cpus": os.cpu_count(),
            "keys_sent": stats["sent"],
            "keys_skipped_still_waiting": stats["skipped"],
            "updates_measured": len(latencies),
            "unanswered_at_end": unanswered,
            "sessions_lost": sum(1 for c in clients if c.closed),
            "median_ms": round(median, 1) if median is not None else None,
            "p95_ms": round(p95, 1) if p95 is not None else None,
            "max_ms": round(max(latencies), 1) if latencies else None,
            "first_frame_median_ms": round(statistics.median(first_frames), 1) if first_frames else None,
            "first_frame_p95_ms": round(percentile(first_frames, 95), 1) if first_frames else None,
            "frames_per_key": round(sum(frame_counts) / len(frame_counts), 2) if frame_counts else None,
            "first_byte_median_ms": round(statistics.median(first_bytes), 1) if first_bytes else None,
            "first_byte_p95_ms": round(percentile(first_bytes, 95), 1) if first_bytes else None,
            "peak_total_pss_mb": round(peak["pss_mb"], 1),
            "peak_total_rss_mb": round(peak["rss_mb"], 1),
            "server_rss_mb": round(peak["server_rss_mb"], 1),
            "pss_per_session_mb": round(per_session_pss, 1),
            "rss_per_session_mb": round(per_session_rss, 1),
            "processes": peak["processes"],
            "seconds_to_all_ready": round(ready_s, 2),
            # share of the machine's cores used while keys flowed, by part
            "cpu_share_server": round(cpu[0] / wall / (os.cpu_count() or 1), 3),
            "cpu_share_tutors": round(cpu[1] / wall / (os.cpu_count() or 1), 3),
            "cpu_share_clients": round(cpu[2] / wall / (os.cpu_count() or 1), 3),
            # CPU per key sent: the server's, the tutors' (the channel's cost shows here)
            "cpu_ms_per_key_server": round(cpu[0] / keys * 1000, 3),
            "cpu_ms_per_key_tutors": round(cpu[1] / keys * 1000, 3),
            # everything else the machine did meanwhile (other users' work disturbs the figures)
            "cpu_share_other": round(max(0.0, cpu[3] - cpu[0] - cpu[1] - cpu[2]) / wall / (os.cpu_count() or 1), 3),
            "meets_p95_target": p95 is not None and p95 <= TARGET_P95_MS,
            "meets_memory_target": per_session_pss <= TARGET_MB_PER_SESSION,
        }
    finally:
        for conn in conns:
            conn.close()
        await asyncio.sleep(0.5)
        leftover = [p for p in process_tree(server.pid) if p != server.pid]
        stop_server(server)
    survivors = [p for p in leftover if os.path.exists(f"/proc/{p}")]
    result["children_left_after_stop"] = len(survivors)
    emit(result)
    return result


def compare(args: argparse.Namespace) -> int:
    """Without the channel, then with it: one "channel" line with what it adds per key."""
    runs = {}
    for no_channel in (True, False):
        args.no_channel = no_channel
        runs[no_channel] = asyncio.run(main_async(args))
    without, with_ = runs[True], runs[False]
    cost = {k: (without[k], with_[k]) for k in ("cpu_ms_per_key_server", "cpu_ms_per_key_tutors")}
    total_without = sum(a for a, _b in cost.values())
    total_with = sum(b for _a, b in cost.values())
    emit({
        "type": "channel", "sessions": args.sessions,
        "cpu_ms_per_key_without": round(total_without, 3), "cpu_ms_per_key_with": round(total_with, 3),
        "extra_cpu_percent": round(100 * (total_with - total_without) / total_without, 1) if total_without else None,
        "cpu_share_other": [without["cpu_share_other"], with_["cpu_share_other"]],
        "keys_sent": [without["keys_sent"], with_["keys_sent"]],
    })  # fmt: skip
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10, help="concurrent SSH sessions (default 10)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the keys flow (default 20)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between key presses per client (default 0.5)")
    parser.add_argument("--quiet-ms", type=float, default=150.0, help="an update is over after this long without output (default 150)")
    parser.add_argument("--connect-parallel", type=int, default=4, help="sessions opened at once during start-up")
    parser.add_argument("--startup-timeout", type=float, default=180.0, help="seconds for each tutor to show its first screen")
    parser.add_argument("--no-channel", action="store_true",
                        help="serve without the workshop channel (serve ssh --no-room)")
    parser.add_argument("--compare-channel", action="store_true",
                        help="run without the channel, then with it, and report the CPU it adds per key")
    parser.add_argument("server_args", nargs="*", help="extra `serve ssh` options after --, e.g. -- --sentence 'a b c'")
    args = parser.parse_args()
    if args.sessions < 1 or args.seconds <= 0 or args.interval <= 0 or args.quiet_ms <= 0:
        parser.error("--sessions, --seconds, --interval and --quiet-ms must be positive")
    Client.quiet = args.quiet_ms / 1000
    if args.compare_channel:
        return compare(args)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
