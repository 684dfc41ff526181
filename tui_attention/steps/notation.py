"""How numbers are written and read: fixed decimals with the sign always shown (scientific
notation from a million up), -inf for masked cells, subscripts for indices, the one grammar of
a number a learner types, and the rule that a worked line re-adds from the numbers it shows.

The sign is always printed so that negative and positive values differ without colour.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from tui_attention.i18n import _

DEFAULT_DECIMALS = 4
MIN_DECIMALS, MAX_DECIMALS = 2, 8
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
FIXED_LIMIT = 10**6  # from here on fixed notation would print float noise (+3999999999999999932891136.0000)


def fmt(value: float, decimals: int = DEFAULT_DECIMALS) -> str:
    """+0.1234 / -0.1234 / -inf / +inf / nan; +4.0000e+24 once |value| (as printed) reaches 10**6.

    Zero is +0.0000 whatever its IEEE sign: 0 × (-0.17), a masked word's share of z, is no
    negative number. A tiny negative value keeps its sign (-0.0000)."""
    value = float(value) + 0.0  # -0.0 + 0.0 == +0.0; nothing else changes
    if not -FIXED_LIMIT < value < FIXED_LIMIT:  # one test for most numbers, which are neither inf nor nan
        if math.isinf(value):
            return "-inf" if value < 0 else "+inf"
        if math.isnan(value):
            return "nan"
    fixed = f"{value:+.{decimals}f}"
    if abs(value) < FIXED_LIMIT - 1 or abs(float(fixed)) < FIXED_LIMIT:
        return fixed
    return f"{value:+.{decimals}e}"


def significant(value: float, digits: int = 2) -> str:
    """`value` to `digits` significant digits, as a person writes a size: 0.089, 0.89, 2.7, 27, 270;
    scientific (2.7e+06, 2.7e-05) outside 0.001 to a million."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    for _attempt in range(2):  # rounding 0.0999 up to 0.10 moves the first digit: count again
        exponent = math.floor(math.log10(abs(value)))
        rounded = round(value, digits - 1 - exponent)
        if math.floor(math.log10(abs(rounded))) == exponent:
            break
        value = rounded
    if not -3 <= exponent < 6:
        return f"{rounded:.{digits - 1}e}"
    return f"{rounded:.{max(0, digits - 1 - exponent)}f}"


def vector_columns(size: int, limit: int = 8) -> list[int]:
    """The entries fmt_vector() prints of a vector of `size`: all, or the first limit-2 and the last 2."""
    return list(range(size)) if size <= limit else [*range(limit - 2), size - 2, size - 1]


def fmt_vector(v: np.ndarray, decimals: int = DEFAULT_DECIMALS, limit: int = 8) -> str:
    """[+0.1 -0.2 ...]; long vectors keep the first limit-2 and last 2 entries around an ellipsis."""
    v = np.asarray(v).ravel()
    parts = [fmt(v[c], decimals) for c in vector_columns(v.size, limit)]
    if v.size > limit:
        parts.insert(limit - 2, "…")
    return "[" + " ".join(parts) + "]"


@lru_cache(maxsize=4096)
def sub(i: int) -> str:
    """1-based subscript: sub(1) == '₁'. Kept: a step writes one or two per line, for every word."""
    return str(i).translate(SUBSCRIPTS)


def sub2(i: int, j: int, n: int) -> str:
    """α₁₂ for small n; α₁,₁₂ once indices can have two digits."""
    return sub(i) + ("," if n >= 10 else "") + sub(j)


def width(decimals: int, magnitude: float = 9.0) -> int:
    """Characters needed by fmt() for any |x| <= magnitude (so columns align on the point).

    Past 10**6 fmt() turns scientific, which can be narrower than a six-digit fixed number.
    """
    if not math.isfinite(magnitude):
        return 1 + 3 + 1 + decimals
    printed = abs(float(fmt(magnitude, decimals)))
    fixed = 1 + len(str(int(min(printed, FIXED_LIMIT - 1)))) + 1 + decimals
    return fixed if printed < FIXED_LIMIT else max(fixed, len(fmt(printed, decimals)))


def widest(values: np.ndarray, decimals: int) -> int:
    """max(len(fmt(x, decimals)) for x in values), without formatting each value (a pane measures
    d_model-wide rows on every key): the longest fixed-notation number is the largest in size;
    ±inf print in 4 characters, nan in 3. 0 for no values."""
    values = np.asarray(values, dtype=float).ravel()
    finite = np.abs(values[np.isfinite(values)])
    longest = 0
    if finite.size:
        largest = float(finite.max())
        if largest >= FIXED_LIMIT - 1:  # scientific from here: count them as printed
            longest = max(len(fmt(x, decimals)) for x in finite)
        else:
            longest = width(decimals, largest)
    if finite.size < values.size:
        longest = max(longest, 4 if np.isinf(values).any() else 3)
    return longest


def shown(value: float, decimals: int) -> float:
    """The number fmt(value, decimals) prints, read back."""
    return float(fmt(value, decimals))


def shown_all(values: np.ndarray, decimals: int) -> np.ndarray:
    """shown() of every entry, vectorised: rounding at the decimal point, and fmt() itself for
    the entries where that could differ from what fmt() prints (near a tie, huge, not finite)."""
    given = np.asarray(values, dtype=np.float64)
    a = given.reshape(-1)  # a 0-d array rounds to a scalar, which cannot take the exact entries
    scaled = a * 10.0**decimals
    out = np.round(a, decimals)
    with np.errstate(invalid="ignore"):
        exact = (~(np.abs(scaled) < 1e9) | ~(np.abs(a) < FIXED_LIMIT - 1)
                 | (np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < 1e-5))
    if exact.any():
        out[exact] = [shown(x, decimals) for x in a[exact]]
    return out.reshape(given.shape)


def half_unit(value: float, decimals: int) -> float:
    """Half a unit of the last decimal fmt(value, decimals) prints (of the mantissa past 10**6)."""
    text = fmt(value, decimals)
    exponent = int(text.split("e")[1]) if "e" in text else 0
    return 0.5 * 10.0 ** (exponent - decimals)


def agrees(again: np.ndarray, result: np.ndarray, decimals: int) -> np.ndarray:
    """Per entry: whether a value recomputed from printed operands (`again`) is within half a unit
    of the last printed decimal of `result`: what a learner redoing the line by hand gets."""
    result = np.asarray(result, dtype=np.float64)
    half = np.full(result.shape, 0.5 * 10.0**-decimals)
    huge = ~(np.abs(result) < FIXED_LIMIT - 1)
    if huge.any():
        half[huge] = [half_unit(x, decimals) for x in result[huge]]
    # A hair under half a unit, so that float noise in the check never passes a real miss.
    return np.abs(np.asarray(again) - shown_all(result, decimals)) <= half * (1 - 1e-9)


def readds(again: Iterable[float], result: Iterable[float], decimals: int) -> bool:
    """Whether every entry of `again` agrees with `result` (see agrees)."""
    return bool(np.all(agrees(np.asarray(again, dtype=np.float64), np.asarray(result, dtype=np.float64), decimals)))


FACTOR_DECIMALS = 1  # a worked line prints what it reads with this many decimals more than what it computes


def factor_decimals(decimals: int) -> int:
    """The decimals of the factors of every worked line, when results show `decimals`.

    One rule for every line of every step and every word: a number a formula block reads from
    an earlier step (x₁[1], W_q[1,1], s₁₂, the row's max) shows decimals + 1; a number the block
    computes (q₁[1], Σ exp, α₁₂, z₁) shows `decimals`, and the same wherever it appears in the
    block (Σ on its own line and as the divisor below it). So x₁[1] never reads +0.9670 on one
    line and +0.96699 on the next, nor word 1's softmax 5 decimals and word 3's 6. A line whose
    factors so printed do not re-add to its result says so (`unrounded`).
    """
    return decimals + FACTOR_DECIMALS


def lines_readd(again: np.ndarray, results: np.ndarray, decimals: int) -> list[bool]:
    """Per line k: whether again[k] (its result recomputed from its factors as printed, a number or
    a vector) agrees with results[k] printed with `decimals`."""
    results = np.asarray(results, dtype=np.float64)
    return [bool(k) for k in agrees(again, results, decimals).reshape(len(results), -1).all(axis=1)]


def unrounded(line: str, ok: bool) -> str:
    """`line`, marked when its shown operands do not re-add to its shown result."""
    return line if ok else _("{line}  (from unrounded values)").format(line=line)


_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def parse_number(text: str) -> float:
    """A number as a learner types it: optional sign (a Unicode minus too), a decimal point or
    comma, an exponent; spaces are ignored.  "-0,25" -> -0.25, "−1e-3" -> -0.001.

    Raises ValueError with a one-line message for anything else (including inf and nan).
    """
    s = str(text).strip().replace("\u2212", "-").replace(" ", "")
    if not _NUMBER_RE.match(s):
        raise ValueError(_("not a number: {text!r}").format(text=str(text).strip()))
    value = float(s.replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(_("must be a finite number"))
    return value
