"""The tutor's state: which scenario, which switches, which word and step. No Textual here.

The Config is always rebuilt with `build_config(scenario, overrides)`, the same
rule `tui-attention trace` uses, so a switch pressed in the app gives exactly
the numbers `trace` prints with the same options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tui_attention.core import Overrides, Trace, build_config, compute
from tui_attention.core.config import Config
from tui_attention.core.editing import with_cell
from tui_attention.core.scenario import apply_overrides
from tui_attention.i18n import _

from .conceal import NOTHING, Concealed
from .labels import trained_source
from .matrix import matrix_steps
from .notation import DEFAULT_DECIMALS, MAX_DECIMALS, MIN_DECIMALS
from .step import WORD_STEP_KINDS, Step, matrix_step_kinds
from .word import word_step

STEPS_PER_WORD = len(WORD_STEP_KINDS)

WEIGHT_SCALES = (0.1, 1.0, 3.0)
# The same moment of the computation in the two views.
WORD_TO_MATRIX = {"embed": "x", "query": "qkv", "keys": "qkv", "values": "qkv", "scores": "qkt",
                  "scale": "scale", "mask": "mask", "softmax": "softmax", "output": "av"}
MATRIX_TO_WORD = {"x": "embed", "qkv": "query", "qkt": "scores", "scale": "scale", "mask": "mask",
                  "softmax": "softmax", "av": "output"}
HEAD_CHOICES = (1, 2, 4)
VIEWS = ("walkthrough", "matrix")


@lru_cache(maxsize=256)
def _word_step(trace: Trace, word: int, index: int, head: int, decimals: int) -> Step:
    # Built one at a time: at 512 tokens a step formats hundreds of lines, the other eight can wait.
    return word_step(trace, word, index, head, decimals)


@lru_cache(maxsize=16)
def _matrix_steps(trace: Trace, head: int, decimals: int, word: int) -> Sequence[Step]:
    return matrix_steps(trace, head, decimals, word)  # the block's steps are built when first shown


@dataclass
class TutorState:
    """Mutable session state; `trace` is recomputed only when the config changes."""

    scenario: Path | None = None
    overrides: Overrides = field(default_factory=Overrides)
    config: Config | None = None  # an edited config replaces the file + overrides
    view: str = "walkthrough"
    word: int = 0
    step: int = 0
    matrix_step: int = 0
    head: int = 0
    all_heads: bool = False  # the matrix view lays every head's A side by side
    concealed: Concealed = NOTHING  # what an open lesson question hides until it is answered
    decimals: int = DEFAULT_DECIMALS
    edited: frozenset[tuple[str, int, int]] = frozenset()
    trace: Trace = field(init=False)

    def __post_init__(self) -> None:
        if self.config is None:
            self.config = build_config(self.scenario, self.overrides)
        self.trace = compute(self.config)

    # --- derived ---------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.trace.n

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(_word_step(self.trace, self.word, k, self.head, self.decimals) for k in range(STEPS_PER_WORD))

    @property
    def current(self) -> Step:
        return _word_step(self.trace, self.word, self.step, self.head, self.decimals)

    @property
    def matrix_steps(self) -> Sequence[Step]:
        return _matrix_steps(self.trace, self.head, self.decimals, self.word)

    @property
    def current_matrix(self) -> Step:
        return self.matrix_steps[min(self.matrix_step, len(self.matrix_steps) - 1)]

    # --- navigation --------------------------------------------------------------
    def move_step(self, delta: int) -> None:
        if self.view == "matrix":
            self.matrix_step = max(0, min(len(self.matrix_steps) - 1, self.matrix_step + delta))
        else:
            self.step = max(0, min(STEPS_PER_WORD - 1, self.step + delta))

    def first_step(self) -> None:
        if self.view == "matrix":
            self.matrix_step = 0
        else:
            self.step = 0

    def last_step(self) -> None:
        if self.view == "matrix":
            self.matrix_step = len(self.matrix_steps) - 1
        else:
            self.step = STEPS_PER_WORD - 1

    def move_word(self, delta: int) -> None:
        self.word = max(0, min(self.n - 1, self.word + delta))

    def toggle_view(self) -> None:
        """Switch views; the step carries across (softmax of word i <-> A = softmax(S))."""
        if self.view == "walkthrough":
            kind = WORD_TO_MATRIX[self.current.kind]
            kinds = list(matrix_step_kinds(self.config.heads))
            self.matrix_step = kinds.index(kind)
            self.view = "matrix"
        else:
            kind = MATRIX_TO_WORD.get(self.current_matrix.kind, "output")
            self.step = WORD_STEP_KINDS.index(kind)
            self.view = "walkthrough"

    # --- switches: each rebuilds the config with build_config, as `trace` does ----
    def _rebuild(self, **changes) -> None:
        overrides = self.overrides.merged(**changes)
        if "heads" in changes and not self.edited:
            # Back to the scenario's own head count: back to exactly its own config, as `trace`
            # without --heads gives (an explicit W_o the extra heads had to drop comes back).
            without = overrides.merged(heads=None)
            if build_config(self.scenario, without).heads == changes["heads"]:
                overrides = without
        if self.edited and self.config is not None:
            # An edited scenario has no file to rebuild from: apply the switch to it directly.
            config = apply_overrides(self.config, Overrides(**changes))
        else:
            config = build_config(self.scenario, overrides)
        self.overrides = overrides
        self.set_config(config, keep_edits=bool(self.edited))

    def set_config(self, config: Config, keep_edits: bool = False) -> None:
        # The step caches are keyed by Trace: drop them, or every switch keeps an old trace alive.
        _word_step.cache_clear()
        _matrix_steps.cache_clear()
        before = matrix_step_kinds(self.config.heads) if self.config is not None else ()
        self.config = config
        self.trace = compute(config, previous=self.trace)  # a scale or mask switch keeps Q, K, V and S
        self.concealed = NOTHING  # its cells were of the old trace
        if not keep_edits:
            self.edited = frozenset()
        self.word = min(self.word, self.n - 1)
        self.head = min(self.head, config.heads - 1)
        # Counted from the kinds, not by building the new trace's matrix steps: the step-through
        # has no use for them, and at 512 words they cost milliseconds per switch. The same step
        # under the new number of heads (the concatenation, which one head does not have, gives
        # way to the step before it), not the same index: H at the block's output stays there.
        kinds = matrix_step_kinds(config.heads)
        earlier = [k for k in before[:self.matrix_step + 1] if k in kinds]
        self.matrix_step = kinds.index(earlier[-1]) if earlier else min(self.matrix_step, len(kinds) - 1)

    def toggle_scale(self) -> None:
        self._rebuild(scale="none" if self.config.scale == "sqrt_dk" else "sqrt_dk")

    def toggle_mask(self) -> None:
        self._rebuild(mask="none" if self.config.mask == "causal" else "causal")

    def cycle_weight_scale(self) -> None:
        current = self.config.weight_scale
        later = [w for w in WEIGHT_SCALES if w > current + 1e-12]
        self._rebuild(weight_scale=later[0] if later else WEIGHT_SCALES[0])

    def allowed_heads(self) -> tuple[int, ...]:
        return tuple(h for h in HEAD_CHOICES if self.config.d_model % h == 0)

    def cycle_heads(self) -> None:
        """1 -> 2 -> 4 -> 1, over the counts that divide d_model."""
        choices = self.allowed_heads()
        later = [h for h in choices if h > self.config.heads]
        self._rebuild(heads=later[0] if later else choices[0])

    def toggle_all_heads(self) -> None:
        """Every head's A side by side (in the matrix view), or only the head shown."""
        self.all_heads = not self.all_heads
        self.view = "matrix"

    def cycle_head_shown(self) -> None:
        self.head = (self.head + 1) % self.config.heads

    def change_decimals(self, delta: int) -> None:
        self.decimals = max(MIN_DECIMALS, min(MAX_DECIMALS, self.decimals + delta))

    def edit_cell(self, matrix: str, row: int, col: int, value: float) -> None:
        """Give one cell of E, P, W_q, W_k or W_v (head self.head) a new value; everything downstream recomputes."""
        self.set_config(with_cell(self.config, self.trace, matrix, row, col, value, self.head), keep_edits=True)
        self.edited = self.edited | {(matrix, row, col)}

    def source(self, short: bool = False) -> str:
        """Where the numbers come from, in a word: notebook, seeded, a file name, edited, or
        "trained: reverse @ step 400" for a trained scenario (its [training] table; short:
        "reverse @400")."""
        if self.edited:
            return _("edited")
        if self.config is not None and self.config.training is not None:
            return trained_source(self.config.training, short)
        if self.scenario is not None:
            name = Path(self.scenario).name
            return name if len(name) <= 14 else name[:13] + "…"
        generating = any(k in self.overrides.given() for k in Overrides.GENERATING)
        return _("seeded") if generating else _("notebook")

    def snapshot(self) -> dict:
        return {"view": self.view, "word": self.word, "step": self.step, "matrix_step": self.matrix_step,
                "head": self.head, "decimals": self.decimals}
