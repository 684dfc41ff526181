"""How the switches and counters are written on screen: the scores' suffixes, the status words
and "word 2/5", "step 3/9", once each. The suffixes are notation and stay as they are; the
words are translated.

    score_suffix("scores")  ""          the raw q·k
    score_suffix("scaled")  "/√d"       after ÷√d_k (when scaling is on)
    score_suffix("logits")  "/√d+M"     after scaling and the causal mask (what the softmax reads)
"""

from __future__ import annotations

import re

import numpy as np

from tui_attention.core.config import Config
from tui_attention.i18n import _

from .notation import significant
from .step import Step


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
    formula = "S = Q Kᵀ" + ("/√d_k" if config.scale == "sqrt_dk" else "")
    return _("{formula}, masked").format(formula=formula) if config.mask == "causal" else formula


def attention_label(config: Config) -> str:
    """The weights' formula under `config`: A = softmax(Q Kᵀ), with /√d_k when scaled and + M
    (the causal mask, -inf above the diagonal) when masked."""
    return "A = softmax(Q Kᵀ" + ("/√d_k" if config.scale == "sqrt_dk" else "") + \
        (" + M" if config.mask == "causal" else "") + ")"


def scale_word(config: Config) -> str:
    return "÷√d_k" if config.scale == "sqrt_dk" else _("unscaled")


def mask_word(config: Config) -> str:
    return _("causal") if config.mask == "causal" else _("no mask")


def weights_word(config: Config) -> str:
    """How big W_q, W_k, W_v are: "W×0.1" for seeded N(0, 1) draws times weight_scale; for
    explicit ones (a file, an edit), their standard deviation, which is what is true of them, to
    2 significant digits (0.089, 0.89, 2.7: one rule at every scale; the toast says the same)."""
    explicit = [config.weights[k] for k in ("w_q", "w_k", "w_v") if k in config.weights]
    if not explicit:
        return f"W×{config.weight_scale:g}"
    spread = float(np.std(np.concatenate([w.ravel() for w in explicit])))
    return _("W std {spread}").format(spread=significant(spread))


def word_counter(word: int, n: int) -> str:
    """word 2/5, for the 0-based `word` of `n`."""
    return _("word {word}/{n}").format(word=word + 1, n=n)


def step_counter(step: Step) -> str:
    """step 3/9: where `step` is in its sequence."""
    return _("step {step}/{steps}").format(step=step.index + 1, steps=step.total)


def trained_source(training: dict, short: bool = False) -> str:
    """Where trained numbers come from, for the status line: "trained: reverse @ step 400",
    or where the line is short, "reverse @400"."""
    if short:
        return _("{task} @{step}").format(task=training["task"], step=training["steps"])
    return _("trained: {task} @ step {step}").format(task=training["task"], step=training["steps"])


_TOKEN_INDEX = re.compile(r"^tokens\[(\d+)\]")


def in_words(message: str) -> str:
    """A core message about tokens[k] as a learner counts: word k + 1, since every screen and
    prompt numbers words from 1 ("tokens[7]: longer than 64 characters" is the eighth word)."""
    return _TOKEN_INDEX.sub(lambda m: _("word {n}").format(n=int(m[1]) + 1), message)
