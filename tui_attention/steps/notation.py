"""How numbers are written and read: fixed decimals with the sign always shown, -inf for masked
cells, subscripts for indices, and the one grammar of a number a learner types.

The sign is always printed so that negative and positive values differ without colour.
"""

from __future__ import annotations

import math
import re

import numpy as np

from tui_attention.i18n import _

DEFAULT_DECIMALS = 4
MIN_DECIMALS, MAX_DECIMALS = 2, 8
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def fmt(value: float, decimals: int = DEFAULT_DECIMALS) -> str:
    """+0.1234 / -0.1234 / -inf / +inf / nan."""
    value = float(value)
    if math.isinf(value):
        return "-inf" if value < 0 else "+inf"
    if math.isnan(value):
        return "nan"
    return f"{value:+.{decimals}f}"


def fmt_vector(v: np.ndarray, decimals: int = DEFAULT_DECIMALS, limit: int = 8) -> str:
    """[+0.1 -0.2 ...]; long vectors keep the first limit-2 and last 2 entries around an ellipsis."""
    v = np.asarray(v).ravel()
    if v.size <= limit:
        parts = [fmt(x, decimals) for x in v]
    else:
        parts = [fmt(x, decimals) for x in v[: limit - 2]] + ["…"] + [fmt(x, decimals) for x in v[-2:]]
    return "[" + " ".join(parts) + "]"


def sub(i: int) -> str:
    """1-based subscript: sub(1) == '₁'."""
    return str(i).translate(SUBSCRIPTS)


def sub2(i: int, j: int, n: int) -> str:
    """α₁₂ for small n; α₁,₁₂ once indices can have two digits."""
    return sub(i) + ("," if n >= 10 else "") + sub(j)


def width(decimals: int, magnitude: float = 9.0) -> int:
    """Characters needed by fmt() for |x| <= magnitude (so columns align on the point)."""
    whole = len(str(int(abs(magnitude)))) if math.isfinite(magnitude) else 3
    return 1 + whole + 1 + decimals


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
