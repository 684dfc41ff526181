"""Lessons as content: parse, validate and render the Markdown lessons in assets/lessons/.

Pure Python (no Textual, no Rich). The screens build on `load_lessons`,
`render_page`, `check_answer` and `QuestionSession`; see docs/lessons.md.

File format
===========

One UTF-8 file per lesson, ``assets/lessons/NN-name.md``; lessons are ordered
by file name. A file is a TOML front matter between ``+++`` lines, then 3 to 8
pages. Each page is a ``+++ page`` header (TOML, closed by ``+++``), its
Markdown text, and optionally one ``+++ question`` block (TOML, closed by
``+++``) which ends the page::

    +++
    title = "Softmax"
    scenario = "notebook"         # the default; or "other.toml" (in assets/scenarios/)
    # or a table of overrides:  [scenario]  file = "notebook"  heads = 2  scale = "sqrt_dk"
    +++

    +++ page
    title = "Scores become weights"   # optional
    view = "walkthrough"               # or "matrix"
    word = 1                           # 1-based query word (walkthrough: required)
    step = "softmax"                   # a step kind of that view
    switches = { scale = "sqrt_dk" }   # optional: scale, mask, heads, weight_scale
    +++
    The weights of **{{word(1)}}** are {{A[1]}}.

    +++ question
    kind = "choice"                    # or "numeric"
    prompt = "Which word will {{word(1)}} attend to most?"
    choices = "tokens"                 # one choice per word ...
    answer = "argmax(A[1])"            # ... the right one computed from the trace
    why = "{{word(choice)}} gets {{A[1,choice]}}, less than {{max(A[1])}}."
    hints = ["...", "..."]             # at most 3
    worked = "..."                     # the worked answer, shown last
    +++

Literal choices are ``[[choice]]`` tables (``text``, and ``correct = true`` on
exactly one, ``why`` on every other). Numeric questions have ``answer`` (a
reference), ``tolerance`` (absolute, > 0), optional ``decimals`` (default 2)
and optional ``[[mistake]]`` tables (``answer`` reference + ``why``) for
likely wrong results such as a swapped index.

References
==========

Numbers shown to the learner are never typed into a lesson: ``{{...}}`` in any
text, and every ``answer``, is a small expression evaluated against the Trace
of the page's configuration (no eval; grammar in `_Parser`). Indices are
1-based, like the word numbers: ``A[1,2]`` is alpha_12, ``A[1]`` row 1,
``A[:,2]`` column 2, ``A@2[1,2]`` head 2. Names: E P X, per head Q K V S
(raw scores) scaled logits A (weights) Z (output) W_q W_k W_v (lower-case
q k v z x e p a s are the same tensors, for ``q[1]``), concat, and the block's
W_o projection residual_1 norm_1 W_1 b_1 W_2 b_2 ffn_hidden ffn_activation
ffn_output residual_2 norm_2. Constants: n d_model d_k d_v d_ff heads seed
weight_scale divisor. Functions: sum max min mean var std exp sqrt abs (on
numbers or arrays), argmax argmin (-> a 1-based word index, shown as the
word), word(i) (the token). Operators + - * / and parentheses. ``choice`` is
the chosen number inside a wrong choice's ``why``. ``{{expr|2}}`` prints with 2
decimals (default: the `decimals` of `render_page`).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tui_attention.core.config import MASKS, SCALES, Config, ConfigError
from tui_attention.core.numbers import fmt, fmt_vector
from tui_attention.core.scenario import Overrides, apply_overrides, build_config
from tui_attention.core.trace import Trace, compute
from tui_attention.core.walkthrough import MATRIX_STEP_KINDS, WORD_STEP_KINDS, matrix_step_kinds

__all__ = [
    "LessonError", "ScenarioSpec", "Choice", "Mistake", "Question", "Page", "Lesson",
    "RenderedQuestion", "RenderedPage", "Verdict", "QuestionSession",
    "VIEWS", "WORD_STEP_KINDS", "MATRIX_STEP_KINDS", "SWITCHES",
    "load_lessons", "parse_lesson", "validate_lesson", "render_page", "render_text",
    "evaluate", "check_answer", "lessons_dir",
]

VIEWS = ("walkthrough", "matrix")
SWITCHES: dict[str, tuple[Any, ...]] = {
    "scale": SCALES,
    "mask": MASKS,
    "heads": (1, 2, 4),
    "weight_scale": (0.1, 1, 3),
}
SCENARIO_OVERRIDE_KEYS = ("sentence", "seed", "d_model", "d_k", "d_v", "heads", "scale", "mask", "weight_scale")
MIN_PAGES, MAX_PAGES = 3, 8
MAX_HINTS = 3
MAX_CHOICES = 9
DEFAULT_NUMERIC_DECIMALS = 2


class LessonError(ValueError):
    """A malformed lesson. str() is 'source:line: message'."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line
        self.message = message


# --------------------------------------------------------------------------- references


class RefError(ValueError):
    """A reference that does not parse or does not resolve against a trace."""


class Index(int):
    """A 1-based word index (from argmax/argmin): printed as the word."""


class Plain(float):
    """A setting of the config such as weight_scale: printed as typed (0.1, 3), not +0.1000."""


_TOKEN_RE = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|(.))")

HEAD_TENSORS = {
    "Q": "Q", "K": "K", "V": "V", "S": "scores", "scores": "scores", "scaled": "scaled",
    "logits": "logits", "A": "weights", "weights": "weights", "Z": "output", "output": "output",
    "W_q": "W_q", "W_k": "W_k", "W_v": "W_v",
    "q": "Q", "k": "K", "v": "V", "s": "scores", "a": "weights", "z": "output",
}
TRACE_TENSORS = {"E": "E", "P": "P", "X": "X", "e": "E", "p": "P", "x": "X", "concat": "attention", "attention": "attention"}
BLOCK_TENSORS = ("W_o", "projection", "residual_1", "norm_1", "W_1", "b_1", "W_2", "b_2",
                 "ffn_hidden", "ffn_activation", "ffn_output", "residual_2", "norm_2")
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
    """Recursive descent over:

        expr    := term (('+' | '-') term)*
        term    := unary (('*' | '/') unary)*
        unary   := '-' unary | primary
        primary := NUMBER | '(' expr ')' | FUNC '(' expr ')' | CONST | VAR
                 | TENSOR ['@' INT] ['[' idx [',' idx] ']']
        idx     := ':' | expr
    """

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

    def expr(self) -> _Node:
        node = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            node = _Node("bin", op, (node, self.term()))
        return node

    def term(self) -> _Node:
        node = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            node = _Node("bin", op, (node, self.unary()))
        return node

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
        if name in HEAD_TENSORS or name in TRACE_TENSORS or name in BLOCK_TENSORS:
            head = None
            if self.accept("@"):
                kind, num = self.take()
                if kind != "num" or not num.isdigit() or int(num) < 1:
                    raise RefError(f"{self.text!r}: '@' must be followed by a head number (1, 2, ...)")
                if name not in HEAD_TENSORS:
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
    if name in HEAD_TENSORS:
        h = 1 if head is None else head
        if not 1 <= h <= len(trace.heads):
            raise RefError(f"{name}@{h}: there {'is' if len(trace.heads) == 1 else 'are'} only {len(trace.heads)} head(s)")
        return getattr(trace.heads[h - 1], HEAD_TENSORS[name])
    if name in TRACE_TENSORS:
        return getattr(trace, TRACE_TENSORS[name])
    return getattr(trace.block, name)


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


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ScenarioSpec:
    """Where a lesson's numbers come from: a scenario file (None = the default,
    notebook scenario, with the same rule as no --scenario) plus overrides."""

    file: Path | None = None
    overrides: Overrides = Overrides()

    def config(self, switches: Mapping[str, Any] | None = None) -> Config:
        """build_config(file, overrides + switches): heads > 1 on the default scenario
        gives a fresh generated scenario, exactly as `tui-attention trace --heads 2`."""
        overrides = self.overrides.merged(**dict(switches or {}))
        return build_config(self.file, overrides)


@dataclass(frozen=True)
class Choice:
    text: str  # may contain {{...}}
    correct: bool = False
    why: str = ""  # the misconception behind this wrong choice (may contain {{...}})


@dataclass(frozen=True)
class Mistake:
    answer: str  # a reference: the value a likely mistake gives
    why: str


@dataclass(frozen=True)
class Question:
    """kind "choice": answered with 1..len(choices); kind "numeric": a typed number."""

    id: str  # "<lesson id>/<page number>", the key in progress.json
    kind: str
    prompt: str
    hints: tuple[str, ...] = ()
    worked: str = ""
    explain: str = ""  # optional text shown when right (default: the worked answer)
    choices: tuple[Choice, ...] = ()  # literal choices
    token_choices: bool = False  # choices = "tokens": one per word of the page's trace
    answer: str | None = None  # reference (numeric value, or a word index for token choices)
    why: str = ""  # token choices: explanation template for a wrong word ({{choice}} = its number)
    tolerance: float = 0.0
    decimals: int = DEFAULT_NUMERIC_DECIMALS
    mistakes: tuple[Mistake, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Page:
    number: int  # 1-based within the lesson
    view: str
    step: str
    word: int | None  # 1-based query word
    switches: Mapping[str, Any]
    text: str  # Markdown with {{...}} placeholders
    title: str = ""
    head: int = 1  # 1-based head to show
    question: Question | None = None
    scenario: ScenarioSpec = ScenarioSpec()  # the lesson's
    line: int = 0

    def config(self, base: ScenarioSpec | Config | None = None) -> Config:
        """This page's Config: the lesson's scenario (or `base`) with the page's switches.

        base None: the lesson's ScenarioSpec; a ScenarioSpec: the build_config rule;
        a Config (e.g. the learner's own scenario): apply_overrides(base, switches),
        which raises ConfigError if a switch does not fit its explicit matrices.
        """
        if isinstance(base, Config):
            return apply_overrides(base, Overrides(**dict(self.switches)))
        return (base or self.scenario).config(self.switches)

    def trace(self, base: ScenarioSpec | Config | None = None) -> Trace:
        return compute(self.config(base))

    @property
    def head_index(self) -> int:
        """The 0-based head (as core.walkthrough uses)."""
        return self.head - 1

    @property
    def word_index(self) -> int | None:
        """The 0-based query word (as core.walkthrough uses), or None."""
        return None if self.word is None else self.word - 1

    def step_index(self, heads: int) -> int:
        """0-based index of the step within its sequence (word_steps or matrix_steps)."""
        if self.view == "walkthrough":
            return WORD_STEP_KINDS.index(self.step)
        return matrix_step_kinds(heads).index(self.step)


@dataclass(frozen=True)
class Lesson:
    id: str  # the file stem, e.g. "05-softmax"; the key in progress.json
    number: int  # 1-based position in the curriculum (0 until loaded by load_lessons)
    title: str
    scenario: ScenarioSpec
    pages: tuple[Page, ...]
    summary: str = ""
    source: str = ""

    def config(self) -> Config:
        """The lesson's Config, without any page's switches."""
        return self.scenario.config()

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(p.question for p in self.pages if p.question is not None)


# --------------------------------------------------------------------------- parsing


@dataclass
class _Block:
    """A TOML block of the file: its lines and the file line of its first line."""

    first: int
    lines: list[str]
    source: str

    def data(self) -> dict[str, Any]:
        try:
            return tomllib.loads("\n".join(self.lines))
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            m = re.search(r"\(at line (\d+), column \d+\)", msg)
            line = self.first + int(m.group(1)) - 1 if m else self.first + max(len(self.lines) - 1, 0)
            msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
            raise LessonError(self.source, line, f"invalid TOML: {msg}") from None

    def line_of(self, key: str, table: str | None = None, nth: int = 0, needle: str | None = None) -> int:
        """Best file line for `key` (inside the nth [[table]] if given), else the block's opening line."""
        start, stop, in_table = 0, len(self.lines), False
        if table is not None:
            heads = [i for i, l in enumerate(self.lines) if re.match(rf"\s*\[\[\s*{re.escape(table)}\s*\]\]", l)]
            if nth < len(heads):
                start, in_table = heads[nth], True
                stop = heads[nth + 1] if nth + 1 < len(heads) else len(self.lines)
        if needle is not None:
            for i in range(start, stop):
                if needle in self.lines[i]:
                    return self.first + i
        for i in range(start, stop):
            if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[i]):
                return self.first + i
        # not written (a missing key): the [[table]] header, or the line opening the block
        return self.first + start if in_table else self.first - 1


def _err(block: _Block, key: str, message: str, **where: Any) -> LessonError:
    return LessonError(block.source, block.line_of(key, **where), message)


def _unknown_keys(block: _Block, data: Mapping[str, Any], allowed: tuple[str, ...], what: str, **where: Any) -> None:
    for key in data:
        if key not in allowed:
            raise _err(block, key, f"unknown key {key!r} in {what} (expected one of {', '.join(allowed)})", **where)


def _string(block: _Block, data: Mapping[str, Any], key: str, what: str, required: bool = False, **where: Any) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise LessonError(block.source, block.line_of(key, **where), f"{what}: missing {key!r}")
        return ""
    if not isinstance(value, str):
        raise _err(block, key, f"{what}: {key!r} must be a string, got {value!r}", **where)
    if required and not value.strip():
        raise _err(block, key, f"{what}: {key!r} is empty", **where)
    return value


def _check_refs(block: _Block, key: str, text: str, **where: Any) -> None:
    """Every {{...}} of a TOML string parses; the error points at the line holding the bad one."""
    try:
        _placeholders(text)
    except RefError as exc:
        needle = "{{"
        for m in _PLACEHOLDER_RE.finditer(text):
            try:
                _placeholders(m.group(0))
            except RefError:
                needle = m.group(0).splitlines()[0]
                break
        raise LessonError(block.source, block.line_of(key, needle=needle, **where), f"bad reference: {exc}") from None


def _scenario_spec(block: _Block, value: Any) -> ScenarioSpec:
    if value is None:
        return ScenarioSpec()
    if isinstance(value, str):
        value = {"file": value}
    if not isinstance(value, dict):
        raise _err(block, "scenario", f"scenario must be \"notebook\", a file name or a table, got {value!r}")
    for key in value:
        if key != "file" and key not in SCENARIO_OVERRIDE_KEYS:
            raise LessonError(block.source, block.line_of(key),
                              f"unknown key {key!r} in scenario (expected file or one of {', '.join(SCENARIO_OVERRIDE_KEYS)})")
    name = value.get("file", "notebook")
    if not isinstance(name, str) or not name:
        raise _err(block, "file", f"scenario file must be a string, got {name!r}")
    path: Path | None = None
    if name != "notebook":
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise _err(block, "file", f"scenario file {name!r} must be relative to assets/scenarios/", needle=name)
        path = Path(str(resources.files("tui_attention.assets") / "scenarios" / name))
        if not path.is_file():
            raise LessonError(block.source, block.line_of("file", needle=name), f"no scenario {name!r} in assets/scenarios/")
    overrides = {k: v for k, v in value.items() if k != "file"}
    try:
        return ScenarioSpec(path, Overrides(**overrides))
    except TypeError as exc:  # pragma: no cover - keys were checked above
        raise _err(block, "scenario", str(exc)) from None


def _switches(block: _Block, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(block, "switches", f"switches must be a table such as {{ scale = \"sqrt_dk\" }}, got {value!r}")
    out = {}
    for key, v in value.items():
        line = block.line_of("switches", needle=key)
        if key not in SWITCHES:
            raise LessonError(block.source, line, f"unknown switch {key!r} (expected one of {', '.join(SWITCHES)})")
        allowed = SWITCHES[key]
        if isinstance(v, bool) or v not in allowed:
            shown = ", ".join(repr(a) if isinstance(a, str) else str(a) for a in allowed)
            raise LessonError(block.source, line, f"switch {key} must be one of {shown}, got {v!r}")
        out[key] = v
    return out


def _parse_page(block: _Block, number: int, spec: ScenarioSpec) -> dict[str, Any]:
    data = block.data()
    _unknown_keys(block, data, ("title", "view", "word", "step", "head", "switches"), "a page")
    title = _string(block, data, "title", f"page {number}")
    _check_refs(block, "title", title)
    view = _string(block, data, "view", f"page {number}", required=True)
    if view not in VIEWS:
        raise _err(block, "view", f"unknown view {view!r} (expected walkthrough or matrix)")
    step = _string(block, data, "step", f"page {number}", required=True)
    kinds = WORD_STEP_KINDS if view == "walkthrough" else MATRIX_STEP_KINDS
    if step not in kinds:
        raise _err(block, "step", f"unknown step {step!r} for the {view} view (expected one of {', '.join(kinds)})")
    word = data.get("word")
    if word is None and view == "walkthrough":
        raise _err(block, "word", f"page {number}: a walkthrough page needs word = N (1-based query word)")
    if word is not None and (isinstance(word, bool) or not isinstance(word, int)):
        raise _err(block, "word", f"word must be a whole number, got {word!r}")
    switches = _switches(block, data.get("switches"))
    try:
        config = spec.config(switches)
    except ConfigError as exc:
        raise _err(block, "switches", f"page {number}: scenario does not build: {exc}") from None
    if word is not None and not 1 <= word <= config.n:
        raise _err(block, "word", f"word {word} out of range 1..{config.n} ({' '.join(config.tokens)})")
    head = data.get("head", 1)
    if isinstance(head, bool) or not isinstance(head, int) or not 1 <= head <= config.heads:
        raise _err(block, "head", f"head must be a whole number 1..{config.heads} (heads = {config.heads}), got {head!r}")
    if view == "matrix" and step not in matrix_step_kinds(config.heads):
        raise _err(block, "step", f"step {step!r} needs heads > 1 (this page has heads = {config.heads})")
    return {"number": number, "view": view, "step": step, "word": word, "head": head, "switches": switches,
            "title": title, "scenario": spec, "line": block.first - 1, "n": config.n}


def _parse_question(block: _Block, qid: str, n: int) -> Question:
    data = block.data()
    allowed = ("kind", "prompt", "hints", "worked", "explain", "choices", "choice", "answer", "why",
               "tolerance", "decimals", "mistake")
    _unknown_keys(block, data, allowed, "a question")
    kind = _string(block, data, "kind", "question", required=True)
    if kind not in ("choice", "numeric"):
        raise _err(block, "kind", f"unknown question kind {kind!r} (expected choice or numeric)")
    prompt = _string(block, data, "prompt", "question", required=True)
    worked = _string(block, data, "worked", "question", required=True)
    explain = _string(block, data, "explain", "question")
    hints = data.get("hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) and h.strip() for h in hints):
        raise _err(block, "hints", "hints must be a list of non-empty strings")
    if len(hints) > MAX_HINTS:
        raise _err(block, "hints", f"{len(hints)} hints, at most {MAX_HINTS}")
    for key, text in (("prompt", prompt), ("worked", worked), ("explain", explain)):
        _check_refs(block, key, text)
    for h in hints:
        _check_refs(block, "hints", h)

    def ref(key: str, value: Any, what: str, **where: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _err(block, key, f"{what} must be a reference string such as \"S[1,2]\", got {value!r}", **where)
        try:
            node = parse_ref(value)
        except RefError as exc:
            raise _err(block, key, f"bad reference in {what}: {exc}", **where) from None
        if not node.uses_trace():
            raise _err(block, key, f"{what} {value!r} does not come from the trace; numbers must be computed, not typed", **where)
        return value

    common = dict(id=qid, kind=kind, prompt=prompt, hints=tuple(hints), worked=worked, explain=explain, line=block.first - 1)
    if kind == "choice":
        for key in ("tolerance", "decimals", "mistake"):
            if key in data:
                raise _err(block, key, f"{key!r} is for numeric questions, not choice")
        has_tokens = "choices" in data
        has_list = "choice" in data
        if has_tokens == has_list:
            raise _err(block, "kind", 'a choice question needs either choices = "tokens" or [[choice]] tables (not both)')
        if has_tokens:
            if data["choices"] != "tokens":
                raise _err(block, "choices", f'choices must be "tokens" (or use [[choice]] tables), got {data["choices"]!r}')
            if n > MAX_CHOICES:
                raise _err(block, "choices", f"{n} words, more than the {MAX_CHOICES} number keys")
            answer = ref("answer", data.get("answer"), "answer")
            why = _string(block, data, "why", "token choices", required=True)
            _check_refs(block, "why", why)
            return Question(token_choices=True, answer=answer, why=why, **common)
        if "answer" in data or "why" in data:
            raise _err(block, "answer" if "answer" in data else "why",
                       "with [[choice]] tables, mark the right one with correct = true and give each wrong one its own why")
        raw = data["choice"]
        if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
            raise _err(block, "choice", "choice must be [[choice]] tables")
        if not 2 <= len(raw) <= MAX_CHOICES:
            raise _err(block, "choice", f"{len(raw)} choices, expected 2..{MAX_CHOICES}", table="choice")
        choices = []
        for i, c in enumerate(raw):
            where = {"table": "choice", "nth": i}
            _unknown_keys(block, c, ("text", "correct", "why"), f"choice {i + 1}", **where)
            text = _string(block, c, "text", f"choice {i + 1}", required=True, **where)
            correct = c.get("correct", False)
            if not isinstance(correct, bool):
                raise _err(block, "correct", f"choice {i + 1}: correct must be true or false", **where)
            why = _string(block, c, "why", f"choice {i + 1}", **where)
            if not correct and not why.strip():
                raise _err(block, "text", f"choice {i + 1} is wrong but has no why (explain the misconception)", **where)
            _check_refs(block, "text", text, **where)
            _check_refs(block, "why", why, **where)
            choices.append(Choice(text, correct, why))
        right = sum(c.correct for c in choices)
        if right != 1:
            raise _err(block, "choice", f"exactly one choice must have correct = true, found {right}", table="choice")
        return Question(choices=tuple(choices), **common)
    # numeric
    for key in ("choices", "choice", "why"):
        if key in data:
            raise _err(block, key, f"{key!r} is for choice questions, not numeric")
    answer = ref("answer", data.get("answer"), "answer")
    tol = data.get("tolerance")
    if tol is None:
        raise _err(block, "tolerance", "a numeric question needs tolerance = (absolute, e.g. 0.005)")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol <= 0:
        raise _err(block, "tolerance", f"tolerance must be a number > 0, got {tol!r}")
    decimals = data.get("decimals", DEFAULT_NUMERIC_DECIMALS)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 8:
        raise _err(block, "decimals", f"decimals must be a whole number 0..8, got {decimals!r}")
    raw = data.get("mistake", [])
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        raise _err(block, "mistake", "mistake must be [[mistake]] tables")
    mistakes = []
    for i, m in enumerate(raw):
        where = {"table": "mistake", "nth": i}
        _unknown_keys(block, m, ("answer", "why"), f"mistake {i + 1}", **where)
        mistakes.append(Mistake(ref("answer", m.get("answer"), f"mistake {i + 1} answer", **where),
                                _string(block, m, "why", f"mistake {i + 1}", required=True, **where)))
        _check_refs(block, "why", mistakes[-1].why, **where)
    return Question(answer=answer, tolerance=float(tol), decimals=decimals, mistakes=tuple(mistakes), **common)


_OPEN_RE = re.compile(r"^\+\+\+\s*(page|question)?\s*$")


def parse_lesson(text: str, source_name: str, lesson_id: str | None = None) -> Lesson:
    """Parse one lesson file. Raises LessonError('source:line: message') when malformed.

    lesson_id defaults to the stem of source_name ("assets/lessons/05-softmax.md" -> "05-softmax").
    The structure, keys, step kinds, words (1..n of the page's scenario), switches and
    reference syntax are checked here; `validate_lesson` also evaluates every reference.
    """
    lesson_id = lesson_id or Path(source_name).stem
    lines = text.splitlines()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or lines[i].strip() != "+++":
        raise LessonError(source_name, i + 1 if i < len(lines) else max(len(lines), 1),
                          "a lesson starts with a +++ line opening its front matter (title = ...)")

    def read_block(start: int) -> tuple[_Block, int]:
        """Lines after the opening line `start` up to the closing '+++'."""
        j = start + 1
        while j < len(lines):
            m = _OPEN_RE.match(lines[j].rstrip())
            if m:
                if m.group(1):
                    raise LessonError(source_name, j + 1, f"'+++ {m.group(1)}' inside an unclosed block opened on line {start + 1}")
                return _Block(start + 2, lines[start + 1 : j], source_name), j + 1
            j += 1
        raise LessonError(source_name, start + 1, "block is never closed (expected a line +++)")

    front, i = read_block(i)
    data = front.data()
    _unknown_keys(front, data, ("title", "scenario", "summary"), "the front matter")
    title = _string(front, data, "title", "front matter", required=True)
    summary = _string(front, data, "summary", "front matter")
    spec = _scenario_spec(front, data.get("scenario"))
    try:
        spec.config()
    except ConfigError as exc:
        raise _err(front, "scenario", f"scenario does not build: {exc}") from None

    pages: list[Page] = []
    current: dict[str, Any] | None = None
    body: list[str] = []
    question: Question | None = None

    def finish() -> None:
        nonlocal current, body, question
        if current is not None:
            current.pop("n")  # only needed while parsing the question
            text_ = "\n".join(body).strip("\n")
            pages.append(Page(text=text_, question=question, **current))
        current, body, question = None, [], None

    while i < len(lines):
        raw = lines[i]
        m = _OPEN_RE.match(raw.rstrip())
        if m and m.group(1) == "page":
            finish()
            block, i = read_block(i)
            current = _parse_page(block, len(pages) + 1, spec)
            continue
        if m and m.group(1) == "question":
            if current is None:
                raise LessonError(source_name, i + 1, "+++ question outside a page (put it after a +++ page block)")
            if question is not None:
                raise LessonError(source_name, i + 1, f"page {current['number']} already has a question (one per page)")
            block, i = read_block(i)
            question = _parse_question(block, f"{lesson_id}/{current['number']}", current["n"])
            continue
        if m:
            raise LessonError(source_name, i + 1, "stray +++ (blocks open with '+++ page' or '+++ question')")
        if raw.strip():
            if current is None:
                raise LessonError(source_name, i + 1, "text outside a page (start a page with a +++ page block)")
            if question is not None:
                raise LessonError(source_name, i + 1, "text after the question; the question ends the page")
            try:
                _placeholders(raw)
            except RefError as exc:
                raise LessonError(source_name, i + 1, f"bad reference: {exc}") from None
        if current is not None and question is None:
            body.append(raw)
        i += 1
    finish()
    end_line = max(len(lines), 1)
    if not MIN_PAGES <= len(pages) <= MAX_PAGES:
        raise LessonError(source_name, end_line, f"{len(pages)} page(s), a lesson has {MIN_PAGES} to {MAX_PAGES}")
    for page in pages:
        if not page.text.strip():
            raise LessonError(source_name, page.line, f"page {page.number} has no text")
    if not any(p.question for p in pages):
        raise LessonError(source_name, end_line, "the lesson has no question (every lesson needs at least one)")
    return Lesson(lesson_id, 0, title, spec, tuple(pages), summary, source_name)


def validate_lesson(lesson: Lesson) -> None:
    """Evaluate every reference of every page against that page's trace.

    Raises LessonError naming the lesson file and the page's line on the first
    reference that does not resolve (unknown head, index out of range, a numeric
    answer that is not a finite number, a token answer that is not a word index...).
    """
    for page in lesson.pages:
        trace = page.trace()
        line = page.line
        try:
            render_page(page, trace)
        except RefError as exc:
            raise LessonError(lesson.source, line, f"page {page.number}: {exc}") from None
        q = page.question
        if q is None:
            continue
        qline = q.line
        try:
            if q.kind == "numeric":
                for ref in (q.answer, *(m.answer for m in q.mistakes)):
                    value = evaluate(ref, trace)
                    if isinstance(value, (str, np.ndarray)) or not math.isfinite(float(value)):
                        raise RefError(f"answer {ref!r} must be one finite number, got {format_value(value, trace)}")
            elif q.token_choices:
                value = evaluate(q.answer, trace)
                if not isinstance(value, (int, np.integer)) or not 1 <= value <= trace.n:
                    raise RefError(f"answer {q.answer!r} must be a word index 1..{trace.n} such as argmax(A[1])")
                for c in range(1, trace.n + 1):
                    render_text(q.why, trace, choice=c)
        except RefError as exc:
            raise LessonError(lesson.source, qline, f"page {page.number} question: {exc}") from None


def lessons_dir() -> Path:
    """The packaged assets/lessons directory."""
    return Path(str(resources.files("tui_attention.assets") / "lessons"))


def load_lessons(directory: str | Path | None = None, validate: bool = True) -> list[Lesson]:
    """Every lesson (*.md) of the packaged assets (or `directory`), ordered by file name,
    numbered from 1. Raises LessonError on the first malformed file."""
    folder = Path(directory) if directory is not None else lessons_dir()
    out = []
    for number, path in enumerate(sorted(folder.glob("*.md")), start=1):
        source = f"assets/lessons/{path.name}" if directory is None else str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise LessonError(source, 1, f"not UTF-8 text (byte {exc.start})") from None
        lesson = parse_lesson(text, source, path.stem)
        lesson = Lesson(lesson.id, number, lesson.title, lesson.scenario, lesson.pages, lesson.summary, source)
        if validate:
            validate_lesson(lesson)
        out.append(lesson)
    return out


# --------------------------------------------------------------------------- rendering and answers


@dataclass(frozen=True)
class RenderedQuestion:
    kind: str
    prompt: str
    choices: tuple[str, ...]  # numbered 1..len in the UI; empty for numeric
    hints: tuple[str, ...]
    worked: str
    tolerance: float | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class RenderedPage:
    title: str
    text: str
    question: RenderedQuestion | None


def _choice_labels(question: Question, trace: Trace, decimals: int) -> tuple[str, ...]:
    if question.token_choices:
        tokens = trace.tokens
        return tuple(t if tokens.count(t) == 1 else f"{t} (word {i + 1})" for i, t in enumerate(tokens))
    return tuple(render_text(c.text, trace, decimals) for c in question.choices)


def render_page(page: Page, trace: Trace, decimals: int = 4) -> RenderedPage:
    """The page's title, text and question with every {{...}} filled from `trace`.

    Raises RefError (a ValueError) if a reference does not resolve against this trace
    (validate_lesson checks that for the lesson's own traces).
    """
    q = page.question
    rq = None
    if q is not None:
        r = lambda s: render_text(s, trace, decimals)  # noqa: E731
        rq = RenderedQuestion(
            q.kind, r(q.prompt), _choice_labels(q, trace, decimals), tuple(r(h) for h in q.hints), r(q.worked),
            q.tolerance if q.kind == "numeric" else None, q.decimals if q.kind == "numeric" else None)
    return RenderedPage(render_text(page.title, trace, decimals), render_text(page.text, trace, decimals), rq)


@dataclass(frozen=True)
class Verdict:
    correct: bool
    explanation: str
    answer: str = ""  # the right answer as shown to the learner ("" if not to be revealed yet)
    valid: bool = True  # False when the input was not an answer at all (not counted as an attempt)


_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def parse_number(text: str) -> float | None:
    """A typed number: accepts +/-, a Unicode minus, a decimal comma, exponents. None if not a number."""
    s = str(text).strip().replace("\u2212", "-").replace(" ", "")
    if not _NUMBER_RE.match(s):
        return None
    return float(s.replace(",", "."))


def check_answer(question: Question, trace: Trace, given: Any, decimals: int = 4) -> Verdict:
    """Judge an answer against the page's trace.

    choice: `given` is the chosen number 1..len(choices) (int or str). A wrong
    choice's explanation is its misconception (`why`), not just "wrong".
    numeric: `given` is the typed text (or a number); right when within
    `tolerance` of the answer. A wrong number that matches a listed mistake (or
    the answer with the sign flipped) gets that explanation.
    Input that is not an answer at all gives Verdict(valid=False).
    """
    r = lambda s, **env: render_text(s, trace, decimals, **env)  # noqa: E731
    right_text = r(question.explain or question.worked)
    if question.kind == "choice":
        labels = _choice_labels(question, trace, decimals)
        try:
            pick = int(str(given).strip())
        except ValueError:
            pick = 0
        if not 1 <= pick <= len(labels):
            return Verdict(False, f"Press a number from 1 to {len(labels)}.", valid=False)
        if question.token_choices:
            right = int(evaluate(question.answer, trace))
            if pick == right:
                return Verdict(True, right_text, labels[right - 1])
            return Verdict(False, r(question.why, choice=pick))
        choice = question.choices[pick - 1]
        if choice.correct:
            return Verdict(True, right_text, labels[pick - 1])
        return Verdict(False, r(choice.why))
    value = parse_number(given) if not isinstance(given, (int, float)) or isinstance(given, bool) else float(given)
    if value is None or not math.isfinite(value):
        return Verdict(False, f"Type a number, such as {fmt(-0.0123, question.decimals)}.", valid=False)
    expected = float(evaluate(question.answer, trace))
    shown = fmt(expected, max(question.decimals, 0))
    tol = question.tolerance
    if abs(value - expected) <= tol + 1e-12:
        return Verdict(True, f"Right: {shown} (within ±{tol:g}). " + right_text, shown)
    for m in question.mistakes:
        wrong = float(evaluate(m.answer, trace))
        if abs(value - wrong) <= tol + 1e-12 and abs(wrong - expected) > tol:
            return Verdict(False, r(m.why))
    if expected != 0 and abs(value + expected) <= tol:
        return Verdict(False, "The size is right but the sign is not: a product of two negatives is positive, "
                              "and one negative factor makes it negative. Check each term's sign.")
    return Verdict(False, f"Not within ±{tol:g} of the answer. Recompute step by step, or ask for a hint.")


@dataclass
class QuestionSession:
    """Predict, then reveal: the state of one question on screen (pure, for the UI).

    attempt() checks an answer and counts it; hint() gives the next hint (at most
    len(hints)); reveal() gives the worked answer. `solved` is True once right.
    """

    question: Question
    trace: Trace
    decimals: int = 4
    attempts: int = 0
    hints_used: int = 0
    solved: bool = False
    revealed: bool = False
    verdicts: list[Verdict] = field(default_factory=list)

    def attempt(self, given: Any) -> Verdict:
        verdict = check_answer(self.question, self.trace, given, self.decimals)
        if verdict.valid:
            self.attempts += 1
            self.solved = self.solved or verdict.correct
            self.verdicts.append(verdict)
        return verdict

    @property
    def hints_left(self) -> int:
        return len(self.question.hints) - self.hints_used

    def hint(self) -> str | None:
        """The next hint, or None when there are no more (then offer reveal())."""
        if self.hints_used >= len(self.question.hints):
            return None
        text = render_text(self.question.hints[self.hints_used], self.trace, self.decimals)
        self.hints_used += 1
        return text

    def hints_shown(self) -> list[str]:
        return [render_text(h, self.trace, self.decimals) for h in self.question.hints[: self.hints_used]]

    def reveal(self) -> str:
        """The worked answer."""
        self.revealed = True
        return render_text(self.question.worked, self.trace, self.decimals)
