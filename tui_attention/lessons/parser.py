"""Lesson files: parse and validate the Markdown lessons in assets/lessons/.

Pure Python (no Textual, no Rich); see docs/lessons.md.

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

References in the text and answers are checked here (syntax when parsing, values
in `validate_lesson`); their language is `tui_attention.lessons.refs`.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tui_attention.core.config import ConfigError
from tui_attention.core.scenario import Overrides
from tui_attention.steps.step import MATRIX_STEP_KINDS, WORD_STEP_KINDS, matrix_step_kinds

from .answers import render_page
from .model import (DEFAULT_NUMERIC_DECIMALS, MAX_CHOICES, MAX_HINTS, MAX_PAGES, MIN_PAGES,
                    SCENARIO_OVERRIDE_KEYS, SWITCHES, VIEWS, Choice, Lesson, LessonError, Mistake, Page, Question,
                    ScenarioSpec)
from .refs import _PLACEHOLDER_RE, RefError, _placeholders, cells_of, evaluate, format_value, parse_ref, render_text

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
               "tolerance", "decimals", "mistake", "hides")
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

    hides = data.get("hides", [])
    if not isinstance(hides, list):
        raise _err(block, "hides", 'hides must be a list of references such as ["A[1]", "S[1]"]')
    for h in hides:
        try:
            node = parse_ref(h) if isinstance(h, str) else None
        except RefError:
            node = None
        if node is None or node.op != "tensor":
            raise _err(block, "hides", f"hides: {h!r} must name cells of a matrix, such as \"A[1]\" or \"Q[1,2]\"")
    common = dict(id=qid, kind=kind, prompt=prompt, hints=tuple(hints), worked=worked, explain=explain,
                  hides=tuple(hides), line=block.first - 1)
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
        for ref in q.hides:
            try:
                if not cells_of(ref, trace, page.head_index):
                    raise RefError(f"hides {ref!r} names no cell of a matrix")
            except RefError as exc:
                raise LessonError(lesson.source, qline, f"page {page.number} question: {exc}") from None
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
