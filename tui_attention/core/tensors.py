"""The tensor registry: every tensor of a Trace named once.

Each `Tensor` gives its key (the last part of its name in `trace --format json`),
the symbol the screens and lessons use, its axes (so its shape), a short
description and an accessor. Serialization, export, lesson references, the
Vectors pane and the matrix view all read this table; nothing else names a
tensor.

    key         symbol  rows     cols      scope
    E           E       token    d_model   trace    token embeddings
    Q           Q       token    d_k       head     Q = X W_q
    scores      S       token    token     head     S = Q Kᵀ (unscaled)
    scaled      S       token    token     head     S after scaling
    logits      S       token    token     head     S after scaling and mask
    weights     A       token    token     head     A = softmax(logits)
    output      Z       token    d_v       head     Z = A V
    attention   concat  token    concat    trace    [Z_1 | ... | Z_h]
    W_o         W_o     concat   d_model   block    ...

The descriptions are English, marked with `N_` so that the layers above
translate them when they show them; the core itself never shows text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tui_attention.i18n import N_

if TYPE_CHECKING:
    from .config import Config
    from .trace import Trace

SCOPES = ("trace", "head", "block")


@dataclass(frozen=True)
class Tensor:
    """One named tensor.

    key:        name in `trace --format json` ("heads.0.<key>", "block.<key>" or "<key>")
    symbol:     the matrix's name on screen and in lessons ("S" for scores, scaled and logits)
    rows, cols: axes, one of token, d_model, d_k, d_v, d_ff, concat; rows None for a vector
    scope:      "trace" (E, P, X, attention), "head" (one per head) or "block"
    row_symbol: the name of one row ("q" for Q, so q₁), "" when rows are not per token
    aliases:    other names a lesson reference may use ("A" and "a" for weights)
    title:      its heading in the matrix view, the formula that makes it ("Q = X W_q")
    """

    key: str
    symbol: str
    rows: str | None
    cols: str
    scope: str
    description: str
    row_symbol: str = ""
    aliases: tuple[str, ...] = ()
    title: str = ""

    def of(self, trace: Trace, head: int = 0) -> np.ndarray:
        """The array in `trace` (head `head`, 0-based, for per-head tensors)."""
        if self.scope == "head":
            return getattr(trace.heads[head], self.key)
        if self.scope == "block":
            return getattr(trace.block, self.key)
        return getattr(trace, self.key)

    def json_key(self, head: int = 0) -> str:
        """The flat name: "E", "heads.0.Q", "block.W_o"."""
        if self.scope == "head":
            return f"heads.{head}.{self.key}"
        if self.scope == "block":
            return f"block.{self.key}"
        return self.key

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a lesson reference may use for this tensor."""
        return tuple(dict.fromkeys((self.key, self.symbol, *self.aliases)))


def _t(key, symbol, rows, cols, scope, description, row_symbol="", aliases=(), title="") -> Tensor:
    return Tensor(key, symbol, rows, cols, scope, description, row_symbol, tuple(aliases), title or symbol)


# In the order of `trace --format json` (and of every export).
TENSORS: tuple[Tensor, ...] = (
    _t("E", "E", "token", "d_model", "trace", N_("token embeddings"), "e", ("e",), N_("E (embeddings)")),
    _t("P", "P", "token", "d_model", "trace", N_("positional encodings"), "p", ("p",), N_("P (positions)")),
    _t("X", "X", "token", "d_model", "trace", N_("X = E + P, the input of attention"), "x", ("x",), "X = E + P"),
    _t("W_q", "W_q", "d_model", "d_k", "head", N_("query weights")),
    _t("W_k", "W_k", "d_model", "d_k", "head", N_("key weights")),
    _t("W_v", "W_v", "d_model", "d_v", "head", N_("value weights")),
    _t("Q", "Q", "token", "d_k", "head", N_("queries, Q = X W_q"), "q", ("q",), "Q = X W_q"),
    _t("K", "K", "token", "d_k", "head", N_("keys, K = X W_k"), "k", ("k",), "K = X W_k"),
    _t("V", "V", "token", "d_v", "head", N_("values, V = X W_v"), "v", ("v",), "V = X W_v"),
    _t("scores", "S", "token", "token", "head", N_("S = Q Kᵀ, unscaled"), "s", ("s",), "S = Q Kᵀ"),
    _t("weights", "A", "token", "token", "head",
       N_("attention weights A = softmax(logits), each row sums to 1"), "α", ("a",), "A = softmax(S)"),
    _t("output", "Z", "token", "d_v", "head", N_("Z = A V"), "z", ("z",), "Z = A V"),
    _t("scaled", "S", "token", "token", "head", N_("the scores after scaling"), "s"),
    _t("logits", "S", "token", "token", "head", N_("the scores after scaling and masking (-inf = masked)"), "s"),
    _t("attention", "concat", "token", "concat", "trace", N_("the heads' outputs side by side"), title=N_("concat(heads)")),
    _t("W_o", "W_o", "concat", "d_model", "block", N_("output projection")),
    _t("projection", "proj", "token", "d_model", "block", N_("concat W_o"), title="concat W_o"),
    _t("residual_1", "X + proj", "token", "d_model", "block", N_("X + projection")),
    _t("norm_1", "norm1", "token", "d_model", "block", N_("LayerNorm(X + projection)"), title="LayerNorm(X + proj)"),
    _t("W_1", "W_1", "d_model", "d_ff", "block", N_("feed-forward weights, first layer")),
    _t("b_1", "b_1", None, "d_ff", "block", N_("feed-forward bias, first layer")),
    _t("W_2", "W_2", "d_ff", "d_model", "block", N_("feed-forward weights, second layer")),
    _t("b_2", "b_2", None, "d_model", "block", N_("feed-forward bias, second layer")),
    _t("ffn_hidden", "hidden", "token", "d_ff", "block", N_("norm_1 W_1 + b_1, before ReLU")),
    _t("ffn_activation", "ReLU", "token", "d_ff", "block", N_("ReLU(ffn_hidden)")),
    _t("ffn_output", "ffn", "token", "d_model", "block", N_("ffn_activation W_2 + b_2"), title=N_("FFN")),
    _t("residual_2", "norm1 + ffn", "token", "d_model", "block", N_("norm_1 + ffn_output")),
    _t("norm_2", "out", "token", "d_model", "block", N_("LayerNorm(norm_1 + ffn_output), the block's output"), title="LayerNorm(y + FFN)"),
)

BY_KEY: dict[str, Tensor] = {t.key: t for t in TENSORS}
HEAD_TENSORS: tuple[Tensor, ...] = tuple(t for t in TENSORS if t.scope == "head")


def tensor(key: str) -> Tensor:
    """The registry entry of `key` (KeyError names the unknown key)."""
    return BY_KEY[key]


def by_name() -> dict[str, Tensor]:
    """Every name a lesson may use (key, symbol, alias) -> its tensor; a symbol shared by
    several stages (S) names the first, the raw scores."""
    out: dict[str, Tensor] = {}
    for t in TENSORS:
        for name in t.names:
            out.setdefault(name, t)
    return out


def axis_length(config: Config, axis: str) -> int:
    """The length of an axis under `config`."""
    c = config
    return {"token": c.n, "d_model": c.d_model, "d_k": c.d_k, "d_v": c.d_v, "d_ff": c.d_ff,
            "concat": c.heads * c.d_v}[axis]


def axis_size(trace: Trace, axis: str) -> int:
    """The length of an axis under the trace's config."""
    return axis_length(trace.config, axis)


def trace_bytes(config: Config) -> int:
    """Bytes of float64 a Trace of `config` holds: sum over the registry of rows x cols
    (x heads for per-head tensors) x 8. Computing it takes about twice this at its peak."""
    total = 0
    for t in TENSORS:
        cells = (axis_length(config, t.rows) if t.rows else 1) * axis_length(config, t.cols)
        total += cells * (config.heads if t.scope == "head" else 1)
    return total * 8


def trace_tensors(trace: Trace) -> dict[str, np.ndarray]:
    """Flat name -> array in registry order: E, P, X, heads.0.W_q, ..., attention, block.W_o, ..."""
    out: dict[str, np.ndarray] = {}
    for t in TENSORS:
        if t.scope != "head":
            out[t.json_key()] = t.of(trace)
        elif t is HEAD_TENSORS[0]:  # every head's tensors, head by head, where the first stands
            for h in range(len(trace.heads)):
                out.update((ht.json_key(h), ht.of(trace, h)) for ht in HEAD_TENSORS)
    return out
