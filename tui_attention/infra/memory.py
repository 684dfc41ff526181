"""Whether this process can still take a given amount of memory.

A served tutor runs under an address-space limit (RLIMIT_AS, `serve --memory-limit`)
and, under Landlock, cannot read /proc; so the question is asked of the kernel
directly: reserve that much address space (an anonymous mapping that is never
touched, so it costs no memory) and give it back. Where /proc/meminfo can be read,
the machine's available memory is a second bound.
"""

from __future__ import annotations

import mmap


def available_bytes() -> int | None:
    """MemAvailable, or None where /proc/meminfo cannot be read (a confined tutor)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def can_reserve(size: int) -> bool:
    """True if `size` bytes of address space can be mapped now (under RLIMIT_AS and the
    kernel's overcommit rules) and, where known, the machine has that much available."""
    if size <= 0:
        return True
    available = available_bytes()
    if available is not None and size > available:
        return False
    try:
        reservation = mmap.mmap(-1, size)  # private and anonymous; counted by RLIMIT_AS and overcommit
    except (OSError, OverflowError, ValueError):
        return False
    reservation.close()
    return True
