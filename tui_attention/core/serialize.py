"""The Trace as JSON and as notebook-style text, named by the tensor registry.

`trace --format json` is a public contract: tokens, a config summary, E, P, X,
one object per head, the concatenated attention and the block.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .config import NOTEBOOK_DEFAULTS
from .tensors import HEAD_TENSORS, TENSORS, trace_tensors
from .trace import Trace


def config_summary(trace: Trace) -> dict[str, Any]:
    c = trace.config
    out = {k: getattr(c, k) for k in NOTEBOOK_DEFAULTS}
    out["n"] = c.n
    out["positions"] = c.positions_kind
    out["embeddings"] = "explicit" if c.embeddings is not None else "seeded"
    out["explicit_weights"] = sorted(c.weights)
    return out


def _jsonable(a: np.ndarray) -> Any:
    # JSON has no -inf; masked logits become null.
    if np.all(np.isfinite(a)):
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def trace_to_dict(trace: Trace) -> dict[str, Any]:
    """tokens, config, then every tensor in registry order: E, P, X, heads (a list of
    objects), attention, block (an object). Masked logits are null (JSON has no -inf)."""
    out: dict[str, Any] = {"tokens": list(trace.tokens), "config": config_summary(trace)}
    for t in TENSORS:
        if t.scope == "trace":
            out[t.key] = t.of(trace).tolist()
        elif t is HEAD_TENSORS[0]:
            out["heads"] = [{ht.key: _jsonable(ht.of(trace, h)) for ht in HEAD_TENSORS} for h in range(len(trace.heads))]
        elif t.scope == "block":
            out.setdefault("block", {})[t.key] = t.of(trace).tolist()
    return out


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
