"""The cost of one training step of the learn view and `tui-attention train`.

Usage::

    python benchmarks/train_step.py               # about 10 s
    python benchmarks/train_step.py --rounds 50   # steadier

stdout gets one JSON object per line, nothing else; the method is here.

train_step_ms
    {"figure": "train_step_ms", "task": T, "batch": 64, "tokens": 5, "d_model": 4,
     "median": ms, "p95": ms, "cpu_median": ms, "floor_ms": ms, "ratio": r,
     "target_ms": 1.0, "met": bool}

    One step is ``core.learning.train_step`` on the default (notebook) scenario: the
    batch's tokens, the forward pass, the loss, the hand-written backward pass and Adam
    on every parameter. A round times ``--steps`` consecutive steps from a state
    trained for 100 steps (past the start, where nothing is special) and divides by
    their number; the figure is the median (and nearest-rank p95) over ``--rounds``
    rounds, in wall-clock ms, and the median of the same rounds in thread CPU time
    (steadier on a loaded machine, where other processes' time slices count as wall time).

    The floor is measured in the same run, in rounds interleaved with the step's: the
    matrix products a step cannot do without, on arrays of the same shapes, as plain
    NumPy calls: X W_q, X W_k, X W_v, Q Kᵀ, A V, Z W_out forward; dW_out, dZ, dA, dV,
    dQ, dK, dW_q, dW_k, dW_v and the three products of dX backward. It is what NumPy's
    call overhead alone costs on this machine for this step, so ``ratio`` = median /
    floor compares machines that differ in speed. The target is 1 ms per step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from tui_attention.core import build_config, learning


def floor_chain(b: int, n: int, d: int, dk: int, dv: int, vocab: int):
    """A function running the step's matrix products (batched like the step's) once."""
    rng = np.random.default_rng(0)
    x2 = rng.standard_normal((b * n, d))
    w = rng.standard_normal((d, dk))
    wv = rng.standard_normal((d, dv))
    wo = rng.standard_normal((dv, vocab))
    q = rng.standard_normal((b, n, dk))
    a = rng.standard_normal((b, n, n))
    v = rng.standard_normal((b, n, dv))
    y2 = rng.standard_normal((b * n, vocab))
    z2 = rng.standard_normal((b * n, dv))
    q2 = rng.standard_normal((b * n, dk))

    def run() -> None:
        x2 @ w, x2 @ w, x2 @ wv                      # Q, K, V
        q @ np.swapaxes(q, -1, -2)                   # S = Q Kᵀ
        a @ v                                        # Z = A V
        z2 @ wo                                      # Y = Z W_out
        z2.T @ y2                                    # dW_out
        y2 @ wo.T                                    # dZ
        v @ np.swapaxes(v, -1, -2)                   # dA = dZ Vᵀ
        np.swapaxes(a, -1, -2) @ v                   # dV = Aᵀ dZ
        a @ q, np.swapaxes(a, -1, -2) @ q            # dQ, dK
        x2.T @ q2, x2.T @ q2, x2.T @ z2              # dW_q, dW_k, dW_v
        q2 @ w.T, q2 @ w.T, z2 @ wv.T                # dX

    return run


def timed(fn, count: int) -> tuple[float, float]:
    """(wall ms, thread CPU ms) per call of fn over `count` calls."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        fn()
    return ((time.perf_counter() - wall) * 1000 / count, (time.thread_time() - cpu) * 1000 / count)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def measure(task: str, rounds: int, steps: int, batch: int) -> dict:
    config = build_config(None)
    setup = learning.make_setup(config, task, batch=batch)
    state = learning.train(setup, 100)
    c = setup.config
    floor = floor_chain(batch, c.n, c.d_model, c.d_k, c.d_v, len(setup.vocabulary))

    def run_steps() -> None:
        nonlocal state
        state = learning.train_step(setup, state)

    step_wall, step_cpu, floor_wall = [], [], []
    timed(run_steps, steps)  # warm-up
    timed(floor, steps)
    for _ in range(rounds):
        wall, cpu = timed(run_steps, steps)
        step_wall.append(wall)
        step_cpu.append(cpu)
        floor_wall.append(timed(floor, steps)[0])
    median = statistics.median(step_wall)
    floor_ms = statistics.median(floor_wall)
    return {"figure": "train_step_ms", "task": task, "batch": batch, "tokens": c.n, "d_model": c.d_model,
            "median": round(median, 4), "p95": round(p95(step_wall), 4),
            "cpu_median": round(statistics.median(step_cpu), 4), "floor_ms": round(floor_ms, 4),
            "ratio": round(median / floor_ms, 2), "target_ms": 1.0, "met": median <= 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--steps", type=int, default=100, help="steps per round")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    for task in learning.TASKS:
        print(json.dumps(measure(task, args.rounds, args.steps, args.batch)), flush=True)


if __name__ == "__main__":
    main()
