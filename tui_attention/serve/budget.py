"""The memory budget of all tutors together (`serve --memory-budget MB`).

Each tutor also has its own address-space limit (`--memory-limit`, RLIMIT_AS); that
bounds one process, not fifty. Before a new tutor starts, the server adds up what
the running tutors use (their proportional set size, so that the NumPy and Python
pages they share are counted once) and refuses the newcomer if that plus one
fresh tutor would pass the budget.

The default budget is three quarters of the machine's memory (MemTotal), leaving
the rest to the server, the kernel and the instructor.
"""

from __future__ import annotations

from typing import Iterable

MAX_MB = 16 * 1024 * 1024  # 16 TiB, in MB: more address space, memory or disk than any tutor has (option bounds)
FRESH_TUTOR_MB = 120  # a tutor on the notebook's scenario: about 80 MB resident, more once it has drawn both views
DEFAULT_SHARE = 0.75


def machine_memory_mb() -> int | None:
    """MemTotal in MB, or None where /proc/meminfo cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_budget_mb() -> int | None:
    total = machine_memory_mb()
    return int(total * DEFAULT_SHARE) if total else None


def process_memory_mb(pid: int) -> float:
    """The proportional set size of `pid` (its resident size where smaps_rollup is missing), in MB;
    0 for a process that is gone."""
    for name, field in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            with open(f"/proc/{pid}/{name}", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith(field):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            continue
    return 0.0


class MemoryBudget:
    """`admit(pids)`: None if one more tutor fits beside the tutors `pids`, else why not (one line)."""

    def __init__(self, budget_mb: int | None, fresh_mb: int = FRESH_TUTOR_MB) -> None:
        self.budget_mb, self.fresh_mb = budget_mb, fresh_mb

    def used_mb(self, pids: Iterable[int]) -> float:
        return sum(process_memory_mb(pid) for pid in pids)

    def admit(self, pids: Iterable[int]) -> str | None:
        if self.budget_mb is None:
            return None
        pids = list(pids)
        used = self.used_mb(pids)
        if used + self.fresh_mb <= self.budget_mb:
            return None
        return (f"Sorry, the workshop server has no memory left for another tutor "
                f"({len(pids)} tutors use {used:.0f} MB of its {self.budget_mb} MB). Please try again later.")

    def describe(self) -> str:
        if self.budget_mb is None:
            return "no total budget (the machine's memory is unknown)"
        return f"{self.budget_mb} MB for all tutors together"

