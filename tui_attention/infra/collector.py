"""The cyclic garbage collector, set for a tutor that runs for hours and allocates in bursts.

Each key builds tens of thousands of short-lived objects (Rich segments, Textual strips) and
keeps almost none, while every module, class and widget made at start-up lives as long as the
process. Under CPython's defaults (a young collection every 700 net allocations; a full one
that walks every tracked object, 60 000 to 100 000 of them once the tutor is up) collecting
cost 1.9 to 5 ms of a 20 ms key on average, a full collection 56 to 90 ms about every 30
keys, and one full collection of 23 to 38 ms ran before the first paint (figures:
docs/performance.md, "Fourth round").
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # net allocations between young collections (CPython's default: 700)

_settled = False


def settle_start_up() -> None:
    """Once per process: move every object made so far (the imported modules, their classes and
    functions, and the tutor's state when it was made first) to the permanent generation,
    which no collection walks (`gc.freeze`; reference counting still frees them), and collect
    the young generation less often. Later calls do nothing: a process that makes many apps, as
    the tests do, freezes once, so the garbage of one app is never frozen by the next."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
