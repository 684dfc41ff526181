"""Token embeddings E: one d_model-vector per token, a lookup table by word.

Seeded embeddings are N(0, 1) draws keyed by (seed, word), so the same word gets
the same vector wherever it stands in the sentence, as in a real embedding table.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .seeding import rng_for


def word_vector(word: str, d_model: int, seed: int) -> np.ndarray:
    """e(word) ~ N(0, 1)^d_model, seeded by (seed, word).  Shape (d_model,)."""
    return rng_for(seed, "embedding", word).standard_normal(d_model)


@lru_cache(maxsize=4)
def embed(tokens: tuple[str, ...], d_model: int, seed: int) -> np.ndarray:
    """E[i] = e(tokens[i]).  Shape (n, d_model).  Read-only: cached, since a switch
    (scale, mask, weight scale) recomputes the trace but not the embeddings."""
    table = {word: word_vector(word, d_model, seed) for word in dict.fromkeys(tokens)}
    out = np.stack([table[t] for t in tokens])
    out.setflags(write=False)
    return out
