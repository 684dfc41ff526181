"""The Trace as named tensors, JSON and notebook-style text.

`trace_tensors` is the single naming of every tensor; `trace --format json`,
the npz/csv/md exports and the py export all use it.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import numpy as np

from .config import NOTEBOOK_DEFAULTS
from .trace import BlockTrace, HeadTrace, Trace

HEAD_KEYS = ("W_q", "W_k", "W_v", "Q", "K", "V", "scores", "weights", "output")
BLOCK_KEYS = tuple(f.name for f in fields(BlockTrace))


def config_summary(trace: Trace) -> dict[str, Any]:
    c = trace.config
    out = {k: getattr(c, k) for k in NOTEBOOK_DEFAULTS}
    out["n"] = c.n
    out["positions"] = c.positions_kind
    out["embeddings"] = "explicit" if c.embeddings is not None else "seeded"
    out["explicit_weights"] = sorted(c.weights)
    return out


def head_dict(head: HeadTrace) -> dict[str, np.ndarray]:
    """The contract keys of one head, plus `scaled` and `logits` (after scale and mask)."""
    out = {k: getattr(head, k) for k in HEAD_KEYS}
    out["scaled"] = head.scaled
    out["logits"] = head.logits
    return out


def trace_tensors(trace: Trace) -> dict[str, np.ndarray]:
    """Flat name -> array: E, P, X, heads.0.Q, ..., attention, block.W_o, ..."""
    out: dict[str, np.ndarray] = {"E": trace.E, "P": trace.P, "X": trace.X}
    for h, head in enumerate(trace.heads):
        for key, value in head_dict(head).items():
            out[f"heads.{h}.{key}"] = value
    out["attention"] = trace.attention
    for key in BLOCK_KEYS:
        out[f"block.{key}"] = getattr(trace.block, key)
    return out


def _jsonable(a: np.ndarray) -> Any:
    # JSON has no -inf; masked logits become null.
    if np.all(np.isfinite(a)):
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def trace_to_dict(trace: Trace) -> dict[str, Any]:
    return {
        "tokens": list(trace.tokens),
        "config": config_summary(trace),
        "E": trace.E.tolist(),
        "P": trace.P.tolist(),
        "X": trace.X.tolist(),
        "heads": [{k: _jsonable(v) for k, v in head_dict(h).items()} for h in trace.heads],
        "attention": trace.attention.tolist(),
        "block": {k: getattr(trace.block, k).tolist() for k in BLOCK_KEYS},
    }


def trace_to_json(trace: Trace) -> str:
    return json.dumps(trace_to_dict(trace), ensure_ascii=False, indent=1) + "\n"


def trace_to_text(trace: Trace, decimals: int = 4) -> str:
    """Labelled NumPy arrays at `decimals`, printed the way the notebook prints them."""
    lines = [f"tokens: {' '.join(trace.tokens)}"]
    lines.append("config: " + ", ".join(f"{k}={v}" for k, v in config_summary(trace).items()))
    with np.printoptions(precision=decimals, suppress=True, linewidth=100, threshold=2000):
        for name, value in trace_tensors(trace).items():
            lines.append("")
            lines.append(f"{name} {value.shape}:")
            lines.append(str(value))
    return "\n".join(lines) + "\n"
