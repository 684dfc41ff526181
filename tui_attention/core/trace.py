"""The Trace: every intermediate of one encoder block, computed once per Config.

Screens and exports read the Trace; nothing downstream redoes the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import attention, block
from .config import Config
from .embeddings import embed
from .positions import no_positions, sinusoidal
from .seeding import head_draw, rng_for


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def seeded_head_weights(config: Config, name: str, head: int, cols: int) -> np.ndarray:
    """W ~ N(0, 1) * weight_scale, keyed by (seed, name, head).  Shape (d_model, cols)."""
    return head_draw(config.seed, name, head, (config.d_model, cols)) * config.weight_scale


def seeded_dense(config: Config, name: str, shape: tuple[int, int]) -> np.ndarray:
    """W ~ N(0, 1) / sqrt(fan_in) (LeCun initialisation, variance 1/fan_in; independent of weight_scale)."""
    return rng_for(config.seed, "weights", name).standard_normal(shape) / np.sqrt(shape[0])


def head_weights(config: Config, name: str, cols: int) -> list[np.ndarray]:
    """Per-head W_q/W_k/W_v: explicit ones from the config, else seeded."""
    explicit = config.weights.get(name)
    if explicit is not None:
        return [explicit] if config.heads == 1 else [explicit[h] for h in range(config.heads)]
    return [seeded_head_weights(config, name, h, cols) for h in range(config.heads)]


@dataclass(frozen=True, eq=False)
class HeadTrace:
    """One attention head.  n tokens, d_k/d_v columns."""

    W_q: np.ndarray  # (d_model, d_k)
    W_k: np.ndarray  # (d_model, d_k)
    W_v: np.ndarray  # (d_model, d_v)
    Q: np.ndarray  # (n, d_k)
    K: np.ndarray  # (n, d_k)
    V: np.ndarray  # (n, d_v)
    scores: np.ndarray  # (n, n) raw Q K^T
    scaled: np.ndarray  # (n, n) after scaling
    logits: np.ndarray  # (n, n) after scaling and mask (-inf where masked)
    weights: np.ndarray  # (n, n) softmax rows, masked cells exactly 0
    output: np.ndarray  # (n, d_v) weights @ V


@dataclass(frozen=True, eq=False)
class BlockTrace:
    """The rest of the encoder block after attention."""

    W_o: np.ndarray  # (h*d_v, d_model)
    projection: np.ndarray  # (n, d_model) concat @ W_o
    residual_1: np.ndarray  # (n, d_model) X + projection
    norm_1: np.ndarray  # (n, d_model)
    W_1: np.ndarray  # (d_model, d_ff)
    b_1: np.ndarray  # (d_ff,)
    W_2: np.ndarray  # (d_ff, d_model)
    b_2: np.ndarray  # (d_model,)
    ffn_hidden: np.ndarray  # (n, d_ff) before ReLU
    ffn_activation: np.ndarray  # (n, d_ff) after ReLU
    ffn_output: np.ndarray  # (n, d_model)
    residual_2: np.ndarray  # (n, d_model) norm_1 + ffn_output
    norm_2: np.ndarray  # (n, d_model) the block's output


@dataclass(frozen=True, eq=False)
class Trace:
    config: Config
    E: np.ndarray  # (n, d_model)
    P: np.ndarray  # (n, d_model)
    X: np.ndarray  # (n, d_model)
    heads: tuple[HeadTrace, ...]
    mask: np.ndarray | None  # (n, n) bool, True = masked
    attention: np.ndarray  # (n, h*d_v) concatenated head outputs

    @cached_property
    def block(self) -> BlockTrace:
        """The rest of the block, computed when first asked for: a view that shows only the
        attention steps never pays for LayerNorm and the FFN at 512 x 1024."""
        return compute_block(self.config, self.X, self.attention)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.config.tokens

    @property
    def n(self) -> int:
        return self.config.n

    @cached_property
    def scale_divisor(self) -> float:
        return attention.scale_factor(self.config.scale, self.config.d_k)


def compute_head(config: Config, x: np.ndarray, w_q: np.ndarray, w_k: np.ndarray, w_v: np.ndarray, mask: np.ndarray | None) -> HeadTrace:
    """One head: Q, K, V, S, scaled S, masked S, A = softmax, Z = A V."""
    q = attention.project(x, w_q)
    k = attention.project(x, w_k)
    v = attention.project(x, w_v)
    s = attention.scores(q, k)
    scaled = attention.scale_scores(s, config.scale, config.d_k)
    logits = attention.apply_mask(scaled, mask)
    a = attention.softmax(logits)
    z = attention.attend(a, v)
    return HeadTrace(*(_readonly(m) for m in (w_q, w_k, w_v, q, k, v, s, scaled, logits, a, z)))


def _same_but_scale_and_mask(a: Config, b: Config) -> bool:
    """True when b is a with only the scale and/or the mask switched."""
    return a.replace(scale=b.scale, mask=b.mask).same_as(b)


def _rescored(config: Config, head: HeadTrace, mask: np.ndarray | None) -> HeadTrace:
    """A head whose W, Q, K, V and S stand, under another scale or mask."""
    scaled = attention.scale_scores(head.scores, config.scale, config.d_k)
    logits = attention.apply_mask(scaled, mask)
    a = attention.softmax(logits)
    z = attention.attend(a, head.V)
    return HeadTrace(head.W_q, head.W_k, head.W_v, head.Q, head.K, head.V, head.scores,
                     *(_readonly(m) for m in (scaled, logits, a, z)))


def compute(config: Config, previous: Trace | None = None) -> Trace:
    """Every intermediate of the block for `config`.

    `previous`, a trace of the same scenario with another scale or mask (the s and c
    switches), lends its E, P, X, W, Q, K, V and S, which those switches do not change.
    """
    mask = attention.causal_mask(n=config.n) if config.mask == "causal" else None
    if mask is not None:
        mask.setflags(write=False)
    if previous is not None and _same_but_scale_and_mask(previous.config, config):
        heads = tuple(_rescored(config, h, mask) for h in previous.heads)
        concat = _readonly(block.concat_heads([h.output for h in heads]))
        return Trace(config, previous.E, previous.P, previous.X, heads, mask, concat)
    n, d = config.n, config.d_model
    e = config.embeddings if config.embeddings is not None else embed(config.tokens, d, config.seed)
    if config.positions_kind == "table":
        p = config.positions
    elif config.positions_kind == "sinusoidal":
        p = sinusoidal(n, d)
    else:
        p = no_positions(n, d)
    x = e + p
    w_qs = head_weights(config, "w_q", config.d_k)
    w_ks = head_weights(config, "w_k", config.d_k)
    w_vs = head_weights(config, "w_v", config.d_v)
    heads = tuple(compute_head(config, x, *w, mask) for w in zip(w_qs, w_ks, w_vs))
    concat = block.concat_heads([h.output for h in heads])
    return Trace(config, _readonly(e), _readonly(p), _readonly(x), heads, mask, _readonly(concat))


def compute_block(config: Config, x: np.ndarray, concat: np.ndarray) -> BlockTrace:
    """W_o, the residuals, both LayerNorms and the FFN, from X (n, d_model) and the
    concatenated head outputs (n, h*d_v)."""
    d = config.d_model

    def dense(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name in config.weights:
            return config.weights[name]
        if len(shape) == 1:
            return np.zeros(shape)
        return seeded_dense(config, name, shape)

    w_o = dense("w_o", (config.heads * config.d_v, d))
    proj = block.output_projection(concat, w_o)
    res1 = block.residual(x, proj)
    norm1 = block.layer_norm(res1)
    w_1, b_1 = dense("w_1", (d, config.d_ff)), dense("b_1", (config.d_ff,))
    w_2, b_2 = dense("w_2", (config.d_ff, d)), dense("b_2", (d,))
    hidden, act, ffn = block.feed_forward(norm1, w_1, b_1, w_2, b_2)
    res2 = block.residual(norm1, ffn)
    norm2 = block.layer_norm(res2)
    return BlockTrace(*(_readonly(m) for m in (w_o, proj, res1, norm1, w_1, b_1, w_2, b_2, hidden, act, ffn, res2, norm2)))
