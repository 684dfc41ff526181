"""How much memory this process may still use: the lower of what its address-space limit
(RLIMIT_AS, which `serve` sets for every attendee) leaves and what the machine has available."""

from __future__ import annotations

import os
import resource


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _address_space_used() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def memory_headroom() -> int | None:
    """Bytes this process can still allocate, or None when nothing bounds it that we can read."""
    room: list[int] = []
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        room.append(max(0, soft - (_address_space_used() or 0)))
    if (available := _meminfo_available()) is not None:
        room.append(available)
    return min(room) if room else None
