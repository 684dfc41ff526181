"""How the switches are written on screen: the scores' suffixes and the status words, once each.

    score_suffix("scores")  ""          the raw q·k
    score_suffix("scaled")  "/√d"       after ÷√d_k (when scaling is on)
    score_suffix("logits")  "/√d+M"     after scaling and the causal mask (what the softmax reads)
"""

from __future__ import annotations

from tui_attention.core.config import Config


def score_suffix(key: str, config: Config) -> str:
    """The suffix of the scores at stage `key` (scores, scaled, logits) under `config`."""
    scaled = "/√d" if config.scale == "sqrt_dk" else ""
    if key == "scaled":
        return scaled
    if key == "logits":
        return scaled + ("+M" if config.mask == "causal" else "")
    return ""


def score_labels(config: Config) -> tuple[tuple[str, str], ...]:
    """(stage, label) for the three stages of the scores: s, s/√d, s/√d+M."""
    return tuple((key, "s" + score_suffix(key, config)) for key in ("scores", "scaled", "logits"))


def score_grid_label(config: Config) -> str:
    """The matrix view's title of the scores the softmax reads: S = Q Kᵀ/√d_k, masked."""
    return ("S = Q Kᵀ" + ("/√d_k" if config.scale == "sqrt_dk" else "")
            + (", masked" if config.mask == "causal" else ""))


def scale_word(config: Config) -> str:
    return "÷√d_k" if config.scale == "sqrt_dk" else "unscaled"


def mask_word(config: Config) -> str:
    return "causal" if config.mask == "causal" else "no mask"
