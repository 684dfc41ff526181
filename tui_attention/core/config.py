"""The configuration of one attention computation: a frozen, validated dataclass.

Everything the Trace computes is a function of a `Config`. Explicit matrices
(embeddings, positions, weights) are optional; whatever is absent is derived
from `seed` when the trace is computed, so two equal configs give equal traces.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field, fields, replace
from operator import itemgetter
from typing import Any

import numpy as np

from tui_attention.i18n import _

from .seeding import head_draw

MAX_TOKENS = 1024
MAX_DIM = 1024
MAX_D_FF = 4096
MAX_HEADS = 16
MAX_TOKEN_CHARS = 64
MAX_SEED = 2**32 - 1
MAX_ABS_VALUE = 1e6  # larger inputs overflow q.k in float64 long before they teach anything

SCALES = ("none", "sqrt_dk")
MASKS = ("none", "causal")
POSITION_KINDS = ("table", "sinusoidal", "none")
WEIGHT_NAMES = ("w_q", "w_k", "w_v", "w_o", "w_1", "b_1", "w_2", "b_2")
# The [training] table of a trained scenario (core/learning.py): what was learnt, and W_out.
TRAINING_TASKS = ("reverse", "previous", "first")
TRAINING_KEYS = ("task", "steps", "seed", "lr", "batch", "w_out", "adam_m", "adam_v")
TRAINING_REQUIRED = ("task", "steps", "seed", "w_out")
MAX_TRAINING_STEPS = 1_000_000

NOTEBOOK_DEFAULTS: dict[str, Any] = {
    "seed": 23,
    "d_model": 4,
    "d_k": 3,
    "d_v": 3,
    "d_ff": 5,
    "heads": 1,
    "scale": "none",
    "mask": "none",
    "weight_scale": 0.1,
}


BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
JOINERS = frozenset("\u200c\u200d")  # ZERO WIDTH NON-JOINER and JOINER: kept between two characters


def _is_control(ch: str) -> bool:
    """C0, DEL, C1 and the bidi controls (a word of the sentence never needs them)."""
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or ch in BIDI_CONTROLS


# Characters that do not show, in a word the learner could not see or tell from another:
# every format character (category Cf, as of Unicode 14: zero width space, word joiner, soft
# hyphen, tags, ...), the other default-ignorable code points (Hangul fillers, reserved ones),
# the braille blank, lone surrogates and noncharacters. The joiners are Cf too: they are kept
# between two characters (👩‍💻, Persian and Indic words), see _token_problem. Not the variation
# selectors (U+FE00.., U+E0100..): marks that choose a glyph of the letter before them.
# tests/core/test_scenario.py checks these lists against unicodedata, every code point.
_INVISIBLE_BMP = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
                  "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u115f\u1160\u3164\uffa0\u2800\u2065\ufff0-\ufff8"
                  "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff")
_INVISIBLE_ASTRAL = ("\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
                     "\U000e0000-\U000e00ff\U000e01f0-\U000e0fff"
                     + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(1, 17)))
_INVISIBLE = re.compile("[" + _INVISIBLE_BMP + _INVISIBLE_ASTRAL + "]")
_SPACES = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # str.isspace

# One search over the whole sentence for what a token may need looked at: white space, a
# control, an invisible character of the BMP, or any character beyond it (an emoji, mostly;
# those found are checked against _INVISIBLE). Every switch validates a new Config, and
# checking 512 words a character at a time in Python cost milliseconds per key; so does one
# class with ranges beyond the BMP, which re searches range by range.
_LOOK_AT = re.compile("[\x00-\x1f\x7f-\x9f" + _SPACES + _INVISIBLE_BMP + "\U00010000-\U0010ffff]")


class ConfigError(ValueError):
    """A configuration that cannot be computed; the message says what and where."""


def char_name(ch: str) -> str:
    """U+200B ZERO WIDTH SPACE: a character named for a message (a control has no name)."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def _token_problem(token: str) -> str | None:
    """Why a string token may not be a word on screen (one clause), or None: white space, a
    control, a character that does not show, or a word that opens with a mark (an accent, a
    variation selector) with no letter to sit on. The joiners U+200C and U+200D are kept between
    two characters other than a joiner: 👩‍💻 and می‌خواهم stay words. Tokens reach every
    attendee's terminal: no escape sequences, no bidi reordering, no word that shows as nothing."""
    if len(token) > MAX_TOKEN_CHARS:
        return _("longer than {limit} characters").format(limit=MAX_TOKEN_CHARS)
    if _LOOK_AT.search(token) is None and unicodedata.category(token[0])[0] != "M":
        return None  # nothing to look at one character at a time
    for k, ch in enumerate(token):
        if ch.isspace():
            return _("{token} contains white space ({char})").format(token=brief_repr(token), char=char_name(ch))
        if ch in BIDI_CONTROLS:
            return _("{token} contains {char}, a bidi control character that reorders the text shown; "
                     "words must be printable text").format(token=brief_repr(token), char=char_name(ch))
        if _is_control(ch):
            return _("{token} contains {char}, a control character; words must be printable text").format(
                token=brief_repr(token), char=char_name(ch))
        if ch in JOINERS:
            if k == 0 or k == len(token) - 1 or token[k - 1] in JOINERS or token[k + 1] in JOINERS:
                return _("{token} has {char} where it joins nothing; it goes between two characters").format(
                    token=brief_repr(token), char=char_name(ch))
        elif _INVISIBLE.match(ch) or unicodedata.category(ch) in ("Cf", "Cs"):
            return _("{token} contains {char}, which does not show; words must be visible text").format(
                token=brief_repr(token), char=char_name(ch))
    if unicodedata.category(token[0])[0] == "M":
        return _("{token} starts with {char}, a mark with no letter to sit on; words must be visible text").format(
            token=brief_repr(token), char=char_name(token[0]))
    return None


def _plain(tokens: tuple, joined: str) -> bool:
    """True when no token needs a look a character at a time: each has 1 to MAX_TOKEN_CHARS
    characters, none white space, a control, a joiner or one that does not show, and none opens
    with a mark. One search over the sentence, then the few characters it found."""
    if not 0 < min(map(len, tokens)) or max(map(len, tokens)) > MAX_TOKEN_CHARS:
        return False
    found = set(_LOOK_AT.findall(joined))  # beyond the BMP (emoji, mostly), or a character to refuse
    if not all(ch > "\uffff" for ch in found) or _INVISIBLE.search("".join(found)) is not None:
        return False
    return not any(unicodedata.category(ch)[0] == "M" for ch in set(map(itemgetter(0), tokens)) if ch > "\x7f")


def _check_tokens(tokens: tuple) -> None:
    """ConfigError naming the first token that is not a string of 1 to MAX_TOKEN_CHARS
    visible characters (see _token_problem), and why."""
    try:
        joined = "".join(tokens)
    except TypeError:  # a token that is not a string: the loop below names it
        joined = None
    if joined is not None and _plain(tokens, joined):
        return  # every sentence the tutor builds: one search, no loop over its characters
    for i, token in enumerate(tokens):
        if not isinstance(token, str) or not token.strip():
            raise ConfigError(_("tokens[{index}]: must be a non-empty string, got {token}").format(
                index=i, token=brief_repr(token)))
        if (why := _token_problem(token)) is not None:
            raise ConfigError(_("tokens[{index}]: {why}").format(index=i, why=why))


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def _check_numbers(name: str, value: Any, depth: int) -> None:
    """ConfigError naming the first entry of nested lists `value` (down to `depth` levels) that
    is not an int or a float: a string, a boolean, a table, a date. An ndarray is checked by dtype.

    Rows are checked by the set of their types, so a 1024 x 1024 matrix costs no Python loop
    per number. Anything else wrong (ragged, too deep) is left to np.array and the shape check."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf":
            raise ConfigError(_("{name}: must be numbers, got an array of {dtype}").format(
                name=name, dtype=value.dtype))
        return
    stack: list[tuple[tuple[int, ...], Any]] = [((), value)]
    while stack:
        index, row = stack.pop()
        if not isinstance(row, (list, tuple)) or len(index) >= depth:
            continue
        if set(map(type, row)) <= {int, float}:
            continue
        for i, item in enumerate(row):
            if isinstance(item, (list, tuple)):
                continue
            if isinstance(item, bool) or not isinstance(item, (int, float, np.integer, np.floating)):
                raise ConfigError(_("{name}: value at {index} is {value}, not a number").format(
                    name=name, index=[*index, i], value=brief_repr(item)))
        stack.extend(((*index, i), item) for i, item in reversed(list(enumerate(row)))
                     if isinstance(item, (list, tuple)))


def brief_repr(value: Any, limit: int = 40) -> str:
    """repr(value), cut to about `limit` characters, for a message: the value may be most of a file."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int of more than 4300 digits; a list nested too deeply
        return _("(too large to show)")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def brief_name(name: Any, limit: int = 100) -> str:
    """A file name, path or key for a message: as it is when short and printable (the usual
    case reads as before), else its repr (a newline or an escape shown as \\n, \\x1b) cut in
    the middle to about `limit` characters, so that the end of a path, the file, stays."""
    text = str(name)
    if len(text) <= limit and text.isprintable():
        return text
    shown = repr(text)
    head = limit // 3
    return shown if len(shown) <= limit else shown[:head] + "…" + shown[len(shown) - (limit - head - 1):]


def frozen_matrix(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Turn nested lists into a read-only float64 array of exactly `shape`.

    Raises ConfigError naming `name` on a ragged, mis-shaped or non-finite value, and on an
    entry that is not an int or a float: np.array would read "1.5" as 1.5 and true as 1.0.
    """
    _check_numbers(name, value, len(shape))
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond float64
        raise ConfigError(_("{name}: must be a {shape} array of numbers").format(
            name=name, shape=_shape_text(shape))) from None
    if array.dtype == object or array.shape != tuple(shape):
        got = _shape_text(array.shape) if array.dtype != object else _("ragged")
        raise ConfigError(_("{name}: shape is {got}, expected {shape}").format(
            name=name, got=got, shape=_shape_text(shape)))
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ConfigError(_("{name}: value at {index} is not finite ({value})").format(
            name=name, index=list(bad), value=array[bad]))
    if array.size and np.max(np.abs(array)) > MAX_ABS_VALUE:
        bad = tuple(int(i) for i in np.argwhere(np.abs(array) > MAX_ABS_VALUE)[0])
        raise ConfigError(_("{name}: value at {index} is {value}; keep values within ±{limit:g}").format(
            name=name, index=list(bad), value=float(array[bad]), limit=MAX_ABS_VALUE))
    array.setflags(write=False)
    return array


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(_("{name}: must be a whole number, got {value}").format(name=name, value=brief_repr(value)))
    if not low <= value <= high:
        raise ConfigError(_("{name}: must be between {low} and {high}, got {value}").format(
            name=name, low=low, high=high, value=brief_repr(int(value))))
    return int(value)


def training_size(d_model: int, d_k: int, d_v: int, vocab: int) -> int:
    """How many numbers a training run moves: E (vocab x d_model), W_q and W_k (d_model x d_k),
    W_v (d_model x d_v) and W_out (d_v x vocab), the length of Adam's adam_m and adam_v."""
    return vocab * d_model + d_model * (2 * d_k + d_v) + d_v * vocab


def _checked_training(table: Any, d_model: int, d_k: int, d_v: int, vocab: int) -> dict[str, Any]:
    """The [training] table, validated: w_out is (d_v, vocab), vocab the number of distinct words;
    adam_m and adam_v, both or neither, Adam's running means after `steps` steps (training_size
    numbers each, adam_v never negative), so that training on the same task goes on from there."""
    if not isinstance(table, dict):
        raise ConfigError(_("training: must be a table ([training])"))
    for key in table:
        if key not in TRAINING_KEYS:
            raise ConfigError(_("training.{key}: unknown key (expected one of {choices})").format(
                key=brief_name(key, 40), choices=", ".join(TRAINING_KEYS)))
    for key in TRAINING_REQUIRED:
        if key not in table:
            raise ConfigError(_("training.{key}: missing").format(key=key))
    if table["task"] not in TRAINING_TASKS:
        raise ConfigError(_("training.task: must be one of {choices}, got {value}").format(
            choices=", ".join(TRAINING_TASKS), value=brief_repr(table["task"])))
    out: dict[str, Any] = {"task": table["task"],
                           "steps": _check_int("training.steps", table["steps"], 0, MAX_TRAINING_STEPS),
                           "seed": _check_int("training.seed", table["seed"], 0, MAX_SEED)}
    if "lr" in table:
        lr = table["lr"]
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 10:
            raise ConfigError(_("training.lr: must be a number in (0, 10], got {value}").format(value=brief_repr(lr)))
        out["lr"] = float(lr)
    if "batch" in table:
        out["batch"] = _check_int("training.batch", table["batch"], 1, 4096)
    out["w_out"] = frozen_matrix("training.w_out", table["w_out"], (d_v, vocab))
    moments = [key for key in ("adam_m", "adam_v") if key in table]
    if len(moments) == 1:
        other = "adam_v" if moments[0] == "adam_m" else "adam_m"
        raise ConfigError(_("training.{key}: given without training.{other}; Adam needs both running means").format(
            key=moments[0], other=other))
    if moments:
        size = training_size(d_model, d_k, d_v, vocab)
        for key in moments:
            out[key] = frozen_matrix(f"training.{key}", table[key], (size,))
        if np.any(out["adam_v"] < 0):
            at = int(np.argmax(out["adam_v"] < 0))
            raise ConfigError(_("training.adam_v: value at [{index}] is {value}; a mean of squares is never "
                                "negative").format(index=at, value=float(out["adam_v"][at])))
    return out


@dataclass(frozen=True, eq=False)
class Config:
    """One scenario, validated on construction.

    Shapes (n = len(tokens), h = heads):
      embeddings  (n, d_model) or None (seeded per word)
      positions   (n, d_model) when positions_kind == "table"
      w_q, w_k    (d_model, d_k) for h == 1, else (h, d_model, d_k); None = seeded
      w_v         (d_model, d_v) or (h, d_model, d_v)
      w_o         (h*d_v, d_model)
      w_1, b_1    (d_model, d_ff), (d_ff,);  w_2, b_2  (d_ff, d_model), (d_model,)
      training    None, or {task, steps, seed, [lr], [batch], w_out (d_v, distinct words),
                  [adam_m, adam_v] (training_size,)}
    """

    tokens: tuple[str, ...]
    seed: int = 23
    d_model: int = 4
    d_k: int = 3
    d_v: int = 3
    d_ff: int = 5
    heads: int = 1
    scale: str = "none"
    mask: str = "none"
    weight_scale: float = 0.1
    embeddings: np.ndarray | None = None
    positions_kind: str = "sinusoidal"
    positions: np.ndarray | None = None
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    training: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        tokens = tuple(self.tokens)
        if not tokens:
            raise ConfigError(_("tokens: there must be at least one token"))
        if len(tokens) > MAX_TOKENS:
            raise ConfigError(_("tokens: {count} tokens, the limit is {limit}").format(
                count=len(tokens), limit=MAX_TOKENS))
        _check_tokens(tokens)
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "seed", _check_int("seed", self.seed, 0, MAX_SEED))
        for name in ("d_model", "d_k", "d_v"):
            object.__setattr__(self, name, _check_int(name, getattr(self, name), 1, MAX_DIM))
        object.__setattr__(self, "d_ff", _check_int("d_ff", self.d_ff, 1, MAX_D_FF))
        object.__setattr__(self, "heads", _check_int("heads", self.heads, 1, MAX_HEADS))
        if self.scale not in SCALES:
            raise ConfigError(_("scale: must be one of {choices}, got {value}").format(
                choices=", ".join(SCALES), value=brief_repr(self.scale)))
        if self.mask not in MASKS:
            raise ConfigError(_("mask: must be one of {choices}, got {value}").format(
                choices=", ".join(MASKS), value=brief_repr(self.mask)))
        ws = self.weight_scale
        if isinstance(ws, bool) or not isinstance(ws, (int, float)) or not math.isfinite(ws) or ws <= 0 or ws > 100:
            raise ConfigError(_("weight_scale: must be a number in (0, 100], got {value}").format(
                value=brief_repr(ws)))
        object.__setattr__(self, "weight_scale", float(ws))
        if self.positions_kind not in POSITION_KINDS:
            raise ConfigError(_("positions.kind: must be one of {choices}, got {value}").format(
                choices=", ".join(POSITION_KINDS), value=brief_repr(self.positions_kind)))
        n, d = len(tokens), self.d_model
        if self.embeddings is not None:
            object.__setattr__(self, "embeddings", frozen_matrix("embeddings.values", self.embeddings, (n, d)))
        if self.positions_kind == "table":
            if self.positions is None:
                raise ConfigError(_('positions.values: kind = "table" needs values (n x d_model)'))
            object.__setattr__(self, "positions", frozen_matrix("positions.values", self.positions, (n, d)))
        elif self.positions is not None:
            raise ConfigError(_('positions.values: only allowed with kind = "table", not {kind!r}').format(
                kind=self.positions_kind))
        checked = {}
        for name, value in dict(self.weights).items():
            if name not in WEIGHT_NAMES:
                raise ConfigError(_("weights.{name}: unknown key (expected one of {choices})").format(
                    name=brief_name(name, 40), choices=", ".join(WEIGHT_NAMES)))
            checked[name] = frozen_matrix(f"weights.{name}", value, self.weight_shape(name))
        object.__setattr__(self, "weights", checked)
        if self.training is not None:
            object.__setattr__(self, "training", _checked_training(self.training, self.d_model, self.d_k, self.d_v,
                                                                     len(set(tokens))))

    @property
    def n(self) -> int:
        return len(self.tokens)

    def weight_shape(self, name: str) -> tuple[int, ...]:
        """The shape an explicit matrix `name` must have under this config."""
        h, d = self.heads, self.d_model
        per_head = {"w_q": (d, self.d_k), "w_k": (d, self.d_k), "w_v": (d, self.d_v)}
        if name in per_head:
            return per_head[name] if h == 1 else (h, *per_head[name])
        return {
            "w_o": (h * self.d_v, d),
            "w_1": (d, self.d_ff),
            "b_1": (self.d_ff,),
            "w_2": (self.d_ff, d),
            "b_2": (d,),
        }[name]

    def replace(self, **changes: Any) -> "Config":
        """A new validated Config with `changes` applied."""
        return replace(self, **changes)

    def with_weight_scale(self, new_scale: float) -> "Config":
        """Change weight_scale; explicit W_q, W_k, W_v are rescaled by new/old.

        Explicit attention weights are read as N(0,1) draws times the current
        weight_scale (the notebook's are randn * 0.1), so they scale the same
        way seeded ones do.
        """
        ratio = float(new_scale) / self.weight_scale
        weights = dict(self.weights)
        for name in ("w_q", "w_k", "w_v"):
            if name in weights:
                weights[name] = weights[name] * ratio
        return replace(self, weight_scale=new_scale, weights=weights)

    def with_heads(self, heads: int) -> "Config":
        """The same inputs with `heads` heads.

        X = E + P is untouched, and so is every head the scenario already has: an explicit
        W_q, W_k, W_v of shape (d_model, d) (one head) or (h, d_model, d) keeps its first
        min(h, heads) heads, and each new head j gets seeded draws N(0, 1) * weight_scale keyed
        by (seed, name, j). An explicit W_o, shaped (h*d_v, d_model), no longer fits and is seeded.
        """
        heads = _check_int("heads", heads, 1, MAX_HEADS)
        if heads == self.heads:
            return self
        cols = {"w_q": self.d_k, "w_k": self.d_k, "w_v": self.d_v}
        weights = {k: v for k, v in self.weights.items() if k != "w_o"}
        for name, width in cols.items():
            if name not in weights:
                continue
            old = [weights[name]] if self.heads == 1 else list(weights[name])
            new = old[:heads] + [head_draw(self.seed, name, j, (self.d_model, width)) * self.weight_scale
                                 for j in range(len(old), heads)]
            weights[name] = new[0] if heads == 1 else np.stack(new)
        return replace(self, heads=heads, weights=weights)

    def same_as(self, other: "Config") -> bool:
        """Field-by-field equality, comparing arrays by value."""
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name in ("weights", "training") and a is not None and b is not None:
                if a.keys() != b.keys() or any(not np.array_equal(a[k], b[k]) for k in a):
                    return False
            elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True
