"""The lesson data model: a Lesson is pages; a Page is a view, a step, switches and Markdown
text; a Question is a predict-then-reveal question with hints and a worked answer.

See `tui_attention.lessons.parser` for the file format and `docs/lessons.md`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tui_attention.core.config import MASKS, SCALES, Config
from tui_attention.core.scenario import Overrides, apply_overrides, build_config
from tui_attention.core.trace import Trace, compute
from tui_attention.steps.step import WORD_STEP_KINDS, matrix_step_kinds

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


@dataclass(frozen=True)
class ScenarioSpec:
    """Where a lesson's numbers come from: a scenario file (None = the default,
    notebook scenario, with the same rule as no --scenario) plus overrides."""

    file: Path | None = None
    overrides: Overrides = Overrides()

    def config(self, switches: Mapping[str, Any] | None = None) -> Config:
        """build_config(file, overrides + switches): heads > 1 keeps the scenario's inputs and
        its first head and adds seeded heads, exactly as `tui-attention trace --heads 2`."""
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
    hides: tuple[str, ...] = ()  # references to cells no pane may show until answered (see lessons.giveaways)
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
        """The 0-based head (as the step layer counts)."""
        return self.head - 1

    @property
    def word_index(self) -> int | None:
        """The 0-based query word (as the step layer counts), or None."""
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
