"""Lesson references: the small expression language that puts live numbers into lesson text.

Numbers shown to the learner are never typed into a lesson: ``{{...}}`` in any
text, and every ``answer``, is an expression evaluated against the Trace of the
page's configuration (no eval). Grammar (see `_Parser`)::

    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/') unary)*
    unary   := '-' unary | primary
    primary := NUMBER | '(' expr ')' | FUNC '(' expr ')' | CONST | VAR
             | TENSOR ['@' INT] ['[' idx [',' idx] ']']
    idx     := ':' | expr

Indices are 1-based, like the word numbers: ``A[1,2]`` is alpha_12, ``A[1]`` row
1, ``A[:,2]`` column 2, ``A@2[1,2]`` head 2. Tensor names are those of the
tensor registry (`tui_attention.core.tensors`): each key, symbol and alias, such
as E P X, Q K V, S (raw scores) scaled logits, A (weights), Z (output), W_q W_k
W_v, lower-case q k v z x e p a s for rows, concat, and the block's W_o
projection residual_1 norm_1 W_1 b_1 W_2 b_2 ffn_hidden ffn_activation
ffn_output residual_2 norm_2. Constants: n d_model d_k d_v d_ff heads seed
weight_scale divisor. Functions: sum max min mean var std exp sqrt abs (on
numbers or arrays), argmax argmin (-> a 1-based word index, shown as the word),
word(i) (the token). ``choice`` is the chosen number inside a wrong choice's
``why``. ``{{expr|2}}`` prints with 2 decimals (default: the caller's decimals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from tui_attention.core.tensors import Tensor, by_name
from tui_attention.core.trace import Trace
from tui_attention.steps.notation import fmt, fmt_vector

class RefError(ValueError):
    """A reference that does not parse or does not resolve against a trace."""


class Index(int):
    """A 1-based word index (from argmax/argmin): printed as the word."""


class Plain(float):
    """A setting of the config such as weight_scale: printed as typed (0.1, 3), not +0.1000."""


_TOKEN_RE = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|(.))")

TENSOR_NAMES: dict[str, Tensor] = by_name()
CONSTANTS = ("n", "d_model", "d_k", "d_v", "d_ff", "heads", "seed", "weight_scale", "divisor")
FUNCTIONS = ("sum", "max", "min", "mean", "var", "std", "exp", "sqrt", "abs", "argmax", "argmin", "word")
VARIABLES = ("choice",)


@dataclass(frozen=True)
class _Node:
    op: str  # num, const, var, tensor, call, neg, bin
    value: Any = None
    args: tuple["_Node", ...] = ()
    head: int | None = None  # tensor: 1-based head (None = 1)
    index: tuple[Any, ...] | None = None  # tensor: each a _Node or ":" (None = whole tensor)

    def uses_trace(self) -> bool:
        if self.op in ("tensor", "const"):
            return True
        nodes = list(self.args) + [i for i in (self.index or ()) if isinstance(i, _Node)]
        return any(n.uses_trace() for n in nodes)


class _Parser:
    """Recursive descent over the grammar in the module docstring."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            if m is None or m.end() == pos:
                break
            pos = m.end()
            if m.group(1):
                self.tokens.append(("num", m.group(1)))
            elif m.group(2):
                self.tokens.append(("name", m.group(2)))
            elif m.group(3):
                self.tokens.append(("op", m.group(3)))
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, op: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise RefError(f"{self.text!r}: unexpected end" + (f", expected {op!r}" if op else ""))
        if op is not None and tok != ("op", op):
            raise RefError(f"{self.text!r}: expected {op!r}, got {tok[1]!r}")
        self.pos += 1
        return tok

    def accept(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.pos += 1
            return True
        return False

    def parse(self) -> _Node:
        if not self.tokens:
            raise RefError("empty reference")
        node = self.expr()
        if self.peek() is not None:
            raise RefError(f"{self.text!r}: unexpected {self.peek()[1]!r}")
        return node

    def _left_assoc(self, ops: str, operand) -> _Node:
        """operand (op operand)* for the operators in `ops`, grouped from the left."""
        node = operand()
        while self.peek() in [("op", op) for op in ops]:
            op = self.take()[1]
            node = _Node("bin", op, (node, operand()))
        return node

    def expr(self) -> _Node:
        return self._left_assoc("+-", self.term)

    def term(self) -> _Node:
        return self._left_assoc("*/", self.unary)

    def unary(self) -> _Node:
        if self.accept("-"):
            return _Node("neg", None, (self.unary(),))
        return self.primary()

    def primary(self) -> _Node:
        kind, text = self.take()
        if kind == "num":
            return _Node("num", float(text) if "." in text else int(text))
        if kind == "op":
            if text == "(":
                node = self.expr()
                self.take(")")
                return node
            raise RefError(f"{self.text!r}: unexpected {text!r}")
        name = text
        if name in FUNCTIONS:
            self.take("(")
            arg = self.expr()
            self.take(")")
            return _Node("call", name, (arg,))
        if name in CONSTANTS:
            return _Node("const", name)
        if name in VARIABLES:
            return _Node("var", name)
        if name in TENSOR_NAMES:
            head = None
            if self.accept("@"):
                kind, num = self.take()
                if kind != "num" or not num.isdigit() or int(num) < 1:
                    raise RefError(f"{self.text!r}: '@' must be followed by a head number (1, 2, ...)")
                if TENSOR_NAMES[name].scope != "head":
                    raise RefError(f"{self.text!r}: {name} is not per head, '@{num}' makes no sense")
                head = int(num)
            index = None
            if self.accept("["):
                index = [self.idx()]
                if self.accept(","):
                    index.append(self.idx())
                self.take("]")
                index = tuple(index)
            return _Node("tensor", name, (), head, index)
        raise RefError(f"{self.text!r}: unknown name {name!r}")

    def idx(self) -> Any:
        if self.accept(":"):
            return ":"
        return self.expr()


def parse_ref(text: str) -> _Node:
    """Parse a reference expression; RefError on bad syntax or an unknown name."""
    if not isinstance(text, str):
        raise RefError(f"a reference must be a string, got {text!r}")
    if len(text) > 500:
        raise RefError(f"reference longer than 500 characters: {text[:40]!r}...")
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise RefError(f"{text[:40]!r}: nested too deeply") from None


def _tensor(trace: Trace, name: str, head: int | None) -> np.ndarray:
    t = TENSOR_NAMES[name]
    if t.scope != "head":
        return t.of(trace)
    h = 1 if head is None else head
    if not 1 <= h <= len(trace.heads):
        raise RefError(f"{name}@{h}: there {'is' if len(trace.heads) == 1 else 'are'} only {len(trace.heads)} head(s)")
    return t.of(trace, h - 1)


def _as_index(value: Any, size: int, what: str) -> int:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise RefError(f"{what}: index must be a whole number, got {value!r}")
    if not 1 <= value <= size:
        raise RefError(f"{what}: index {value} out of range 1..{size}")
    return int(value) - 1


def _eval(node: _Node, trace: Trace, env: Mapping[str, Any]) -> Any:
    op = node.op
    if op == "num":
        return node.value
    if op == "var":
        if node.value not in env:
            raise RefError(f"{node.value!r} is only defined in the explanation of a wrong choice")
        return env[node.value]
    if op == "const":
        c = trace.config
        if node.value == "n":
            return c.n
        if node.value == "divisor":
            return float(trace.scale_divisor)
        if node.value == "weight_scale":
            return Plain(c.weight_scale)
        return getattr(c, node.value)
    if op == "neg":
        value = _eval(node.args[0], trace, env)
        _numeric(value, "-")
        return -value
    if op == "bin":
        a, b = (_eval(x, trace, env) for x in node.args)
        _numeric(a, node.value)
        _numeric(b, node.value)
        if node.value == "/" and np.any(np.asarray(b) == 0):
            raise RefError("division by zero")
        try:
            with np.errstate(all="ignore"):
                result = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[node.value](a, b)
        except ValueError:
            raise RefError(f"shapes {np.shape(a)} and {np.shape(b)} do not match for {node.value!r}") from None
        if isinstance(result, np.ndarray) and result.ndim == 0:
            return float(result)
        if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)) and node.value != "/":
            return int(result)
        return float(result) if np.ndim(result) == 0 else result
    if op == "call":
        value = _eval(node.args[0], trace, env)
        return _call(node.value, value, trace)
    if op == "tensor":
        label = node.value + (f"@{node.head}" if node.head else "")
        array = _tensor(trace, node.value, node.head)
        if node.index is None:
            return array
        if len(node.index) > array.ndim:
            raise RefError(f"{label} has {array.ndim} dimension(s), got {len(node.index)} indices")
        picks: list[Any] = []
        for axis, part in enumerate(node.index):
            if part == ":":
                picks.append(slice(None))
            else:
                picks.append(_as_index(_eval(part, trace, env), array.shape[axis], label))
        result = array[tuple(picks)]
        return float(result) if np.ndim(result) == 0 else np.asarray(result)
    raise RefError(f"bad node {op}")  # pragma: no cover


def _numeric(value: Any, what: str) -> None:
    if isinstance(value, str):
        raise RefError(f"{what}: cannot do arithmetic on the word {value!r}")


def _call(name: str, value: Any, trace: Trace) -> Any:
    if name == "word":
        return trace.tokens[_as_index(value, trace.n, "word")]
    _numeric(value, name)
    array = np.asarray(value, dtype=np.float64)
    if name in ("argmax", "argmin"):
        if array.ndim != 1:
            raise RefError(f"{name}() needs a row or a column, got shape {array.shape}")
        return Index(int(np.argmax(array) if name == "argmax" else np.argmin(array)) + 1)
    with np.errstate(all="ignore"):
        if name in ("sum", "max", "min", "mean", "var", "std"):
            return float(getattr(np, name)(array))
        if name == "sqrt" and np.any(array < 0):
            raise RefError("sqrt() of a negative number")
        result = {"exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}[name](array)
    return float(result) if result.ndim == 0 else result


def evaluate(ref: str, trace: Trace, **env: Any) -> Any:
    """Evaluate a reference against a trace: a float, an int (Index for words), a str or an array.

    Raises RefError (a ValueError) on a bad reference.
    """
    return _eval(parse_ref(ref), trace, env)


def format_value(value: Any, trace: Trace, decimals: int = 4) -> str:
    """How a reference's value is printed: Index -> the word, int and weight_scale -> plain,
    float -> fmt (sign, `decimals` places), array -> fmt_vector."""
    if isinstance(value, Index):
        return trace.tokens[int(value) - 1]
    if isinstance(value, str):
        return value
    if isinstance(value, Plain):
        return f"{float(value):g}"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, np.ndarray):
        if value.ndim <= 1:
            return fmt_vector(value, decimals)
        return "\n".join(fmt_vector(row, decimals) for row in value)
    return fmt(float(value), decimals)


_PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}", re.S)
_DECIMALS_RE = re.compile(r"^(.*)\|\s*(\d+)\s*$", re.S)


def _placeholders(text: str) -> list[tuple[str, int | None]]:
    """(expression, decimals or None) of every {{...}} in text; RefError on a bad one."""
    out = []
    rest = _PLACEHOLDER_RE.sub("", text)
    if "{{" in rest:
        raise RefError("'{{' without a closing '}}'")
    for m in _PLACEHOLDER_RE.finditer(text):
        inner = m.group(1)
        decimals = None
        d = _DECIMALS_RE.match(inner)
        if d:
            inner, decimals = d.group(1), int(d.group(2))
            if not 0 <= decimals <= 8:
                raise RefError(f"{{{{{m.group(1)}}}}}: decimals must be 0..8")
        parse_ref(inner)
        out.append((inner, decimals))
    return out


def render_text(text: str, trace: Trace, decimals: int = 4, **env: Any) -> str:
    """Replace every {{expr}} / {{expr|d}} by its live value from the trace."""

    def one(m: re.Match[str]) -> str:
        inner = m.group(1)
        d = _DECIMALS_RE.match(inner)
        places = decimals
        if d:
            inner, places = d.group(1), int(d.group(2))
        return format_value(evaluate(inner, trace, **env), trace, places)

    return _PLACEHOLDER_RE.sub(one, text)


def cells_of(ref: str, trace: Trace, head: int = 0, **env: Any) -> list[tuple[str, int, int, int]]:
    """The cells a tensor reference selects, as (tensor key, 0-based head, row, col).

    "A[1]" is row 1 of head `head` (0-based, the page's); "A@2[1,2]" one cell of head 2;
    "W_q[:,1]" a column. RefError if `ref` is not a tensor reference.
    """
    node = parse_ref(ref)
    if node.op != "tensor":
        raise RefError(f"{ref!r} does not name cells of a matrix")
    t = TENSOR_NAMES[node.value]
    h = (node.head - 1) if node.head else head
    array = _tensor(trace, node.value, h + 1)
    if array.ndim != 2:
        return []
    picks: list[range | list[int]] = [range(array.shape[0]), range(array.shape[1])]
    for axis, part in enumerate(node.index or ()):
        if part != ":":
            picks[axis] = [_as_index(_eval(part, trace, env), array.shape[axis], node.value)]
    return [(t.key, h if t.scope == "head" else 0, r, c) for r in picks[0] for c in picks[1]]
