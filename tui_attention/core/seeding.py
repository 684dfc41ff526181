"""Deterministic random draws keyed by name, independent of Python's salted hash().

`rng_for(seed, "embedding", "gusta")` always returns the same generator for the
same seed and key, on every machine and in every process.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_key(*parts: str | int) -> int:
    """A 128-bit integer from BLAKE2b over the parts, joined by NUL bytes."""
    text = "\x00".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "little")


def rng_for(seed: int, *key: str | int) -> np.random.Generator:
    """A PCG64 generator seeded by (seed, stable_key(*key))."""
    return np.random.default_rng([seed, stable_key(*key)])


def head_draw(seed: int, name: str, head: int, shape: tuple[int, int]) -> np.ndarray:
    """N(0, 1) draws for one head's W_q, W_k or W_v, keyed by (seed, name, head): the same
    head gets the same draw whatever the number of heads."""
    return rng_for(seed, "weights", name, head).standard_normal(shape)
