"""The learn view's session and words: a training run that steps on demand, and the gradient
of the sentence as a chain of backward stages, each with its formula and one line of narration.
No Textual here: the screen (tui/screens/learn.py) only shows what this module decides.

    dY  dW_out  dZ  dA  dV  dS  mask/scale  dQ  dK  dW  dE

The gradient shown is the loss of the scenario's own sentence alone (a batch of one) at
the current weights, so that every matrix has one row per word of the sentence on screen;
a training step averages the same over a batch of random sequences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tui_attention.core import learning
from tui_attention.core.attention import scale_factor
from tui_attention.core.config import Config
from tui_attention.i18n import N_, _, ngettext

from .labels import trained_source  # noqa: F401  (part of this module's interface)
from .notation import factor_decimals, fmt, readds, shown, significant, unrounded

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500)  # steps a second
DEFAULT_SPEED = 3  # 10 steps a second: the pattern forms in about ten seconds
HISTORY = 2000  # losses kept for the curve (older ones are thinned out, every second one dropped)
MEASURED = 512  # evaluation sequences measured at each redraw: every 6th of the notebook's 3 125, in order
# (and at most 2**18 attention cells of them, so that a long sentence's redraw stays quick)

TASK_PATTERNS = {
    "reverse": N_("word i must name word n + 1 − i: the anti-diagonal (no mask)"),
    "previous": N_("word i must name word i − 1: the diagonal just below (causal mask)"),
    "first": N_("every word must name word 1: the first column (causal mask)"),
}


@dataclass(frozen=True, eq=False)
class Grid:
    """One matrix of a stage: its title, values and row and column labels."""

    title: str
    values: np.ndarray
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    heat: bool = False
    masked: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Stage:
    """One equation of the backward pass: title (the formula), a line of narration, the matrices it reads and writes."""

    kind: str
    index: int
    total: int
    title: str
    narration: str
    reads: tuple[Grid, ...]
    writes: tuple[Grid, ...]


STAGE_KINDS = ("d_logits", "d_w_out", "d_z", "d_a", "d_v", "d_s", "mask_scale", "d_q", "d_k", "d_w", "d_e")


def word_labels(tokens: tuple[str, ...], width: int = 7) -> tuple[str, ...]:
    """"3 estud": the word's number and the start of the word."""
    return tuple(f"{i + 1} {t}"[:width].rstrip() for i, t in enumerate(tokens))


def _numbers(count: int) -> tuple[str, ...]:
    return tuple(str(k + 1) for k in range(count))


def _biggest(a: np.ndarray) -> str:
    """The largest |value| of a gradient, to 2 significant digits: cells round to +0.0000 late in training."""
    return significant(float(np.abs(a).max())) if a.size else "0"


def _target_gradient(p: float, count: int, decimals: int) -> str:
    """"p = +0.99321, so dY = (+0.99321 - 1)/5 = -0.0014": the target's cell of dY, worked from p as
    shown (a factor, one decimal more). A result that rounds to zero at `decimals` is given to 2
    significant digits (-4.2e-06), never as -0.0000; a line whose p as shown does not give it says so."""
    d = (float(p) - 1.0) / count
    places = factor_decimals(decimals)
    again = (shown(p, places) - 1.0) / count
    if d == 0 or shown(d, decimals) != 0:
        result, ok = fmt(d, decimals), readds([again], [d], decimals)
    else:
        result = significant(d)
        ok = again != 0 and significant(again) == result
    shown_p = fmt(p, places)
    return unrounded(_("p = {p}, so dY = ({p} - 1)/{n} = {d}").format(p=shown_p, n=count, d=result), ok)


def stages(setup: learning.Setup, params: dict[str, np.ndarray], step: int, decimals: int = 4) -> tuple[Stage, ...]:
    """The backward pass of the sentence at the current weights, one Stage per equation."""
    c = setup.config
    _loss, fwd, g = learning.sentence_pass(setup, params)
    words = word_labels(c.tokens)
    vocab = tuple(w[:7] for w in setup.vocabulary)
    dk, dv, dm = _numbers(c.d_k), _numbers(c.d_v), _numbers(c.d_model)
    targets = learning.task_targets(setup.task, learning.sentence_tokens(setup))[0]
    count = int((targets >= 0).sum())
    mask = learning.mask_of(c)
    # The softmax reads S″ = mask(S / √d_k); its gradient is dS only when neither is on. Two
    # matrices both called dS (one √d_k times the other) would leave a learner no way to check them.
    softmax_input = "dS" if c.mask == "none" and c.scale == "none" else "dS″"
    i = int(np.argmax(targets >= 0))  # the first word with a target, for the live examples
    t = int(targets[i])
    out: list[tuple[str, str, str, tuple[Grid, ...], tuple[Grid, ...]]] = [
        ("d_logits", "dY = (softmax(Y) − onehot(target)) / N",
         (_("How wrong each guess is: word {i}'s target is '{word}', with {worked}; every other column of "
            "that row gets its own p/{n}.") if count == c.n else
          _("How wrong each guess is: word {i}'s target is '{word}', with {worked}; every other column of "
            "that row gets its own p/{n}; a position without a target (word {none} here) gets 0.")).format(
             i=i + 1, word=setup.vocabulary[t], worked=_target_gradient(fwd.probs[0, i, t], count, decimals),
             n=count, none=int(np.argmax(targets < 0)) + 1),
         (Grid("p = softmax(Y)", fwd.probs[0], words, vocab, heat=True),),
         (Grid("dY", g.d_logits[0], words, vocab),)),
        ("d_w_out", "dW_out = Zᵀ dY",
         _("The readout's gradient: each word's output z_i times how wrong its guess was, summed over the "
           "words (largest |dW_out| {big}).").format(big=_biggest(g.W_out)),
         (Grid("Z", fwd.Z[0], words, dv), Grid("dY", g.d_logits[0], words, vocab)),
         (Grid("dW_out", g.W_out, dv, vocab),)),
        ("d_z", "dZ = dY W_outᵀ",
         _("How the loss grows with each output z_i, so z_i should move against dz_i: the readout sends "
           "each wrong guess back to the numbers that made it (largest |dZ| {big}).").format(big=_biggest(g.Z)),
         (Grid("dY", g.d_logits[0], words, vocab), Grid("W_out", params["W_out"], dv, vocab)),
         (Grid("dZ", g.Z[0], words, dv),)),
        ("d_a", "dA = dZ Vᵀ",
         _("dA[i, j] = dz_i · v_j. Negative dA: more weight on j would lower the loss if the row's other "
           "weights stayed put; the softmax step (dS) compares it with its row's A-weighted average."),
         (Grid("dZ", g.Z[0], words, dv), Grid("V", fwd.V[0], words, dv)),
         (Grid("dA", g.A[0], words, words),)),
        ("d_v", "dV = Aᵀ dZ",
         _("Each value v_j is pulled by every word that attends to it, in proportion to its weight "
           "(largest |dV| {big}).").format(big=_biggest(g.V)),
         (Grid("A", fwd.A[0], words, words, heat=True), Grid("dZ", g.Z[0], words, dv)),
         (Grid("dV", g.V[0], words, dv),)),
        ("d_s", f"{softmax_input} = A ⊙ (dA − rowsum(A ⊙ dA))",
         _("dS[i, j] < 0 (raising S[i, j] lowers the loss) exactly when A[i, j] > 0 and dA[i, j] is below "
           "its row's A-weighted average. Each row sums to 0: adding one amount to a whole row of scores "
           "leaves A unchanged."),
         (Grid("A", fwd.A[0], words, words, heat=True), Grid("dA", g.A[0], words, words)),
         (Grid(softmax_input, g.S_masked[0], words, words, masked=mask),)),
    ]
    divisor = scale_factor(c.scale, c.d_k)
    masked_cells = _("masked cells stay 0 (A is 0 there and their score is the constant −inf)")
    scaled_cells = _("every cell is divided by √d_k = {c}, as the scores were").format(c=fmt(divisor, decimals))
    raw = _("from dS″, the gradient of the scores the softmax read, to dS, that of the raw scores Q Kᵀ")
    if c.mask == "causal" and c.scale == "sqrt_dk":
        title = "dS = mask(dS″) / √d_k"
        say = _("Back through the mask and the scale, {raw}: {mask}; {scale}.").format(
            raw=raw, mask=masked_cells, scale=scaled_cells)
    elif c.mask == "causal":
        title = "dS = mask(dS″)"
        say = _("Back through the mask, {raw}: {mask}.").format(raw=raw, mask=masked_cells)
    elif c.scale == "sqrt_dk":
        title = "dS = dS″ / √d_k"
        say = _("Back through the scale, {raw}: {scale}.").format(raw=raw, scale=scaled_cells)
    else:
        title = "dS unchanged"
        say = _("No mask and no scaling here, so the gradient of the raw scores Q Kᵀ is dS itself.")
    out.append(("mask_scale", title, say, (Grid(softmax_input, g.S_masked[0], words, words, masked=mask),),
                (Grid("dS", g.S[0], words, words, masked=mask),)))
    out += [
        ("d_q", "dQ = dS K",
         _("Each query q_i is pushed (against dq_i) toward the keys whose scores should rise (dS[i, j] < 0: "
           "raising that score lowers the loss) and away from the keys whose scores should fall (largest "
           "|dQ| {big}).").format(big=_biggest(g.Q)),
         (Grid("dS", g.S[0], words, words, masked=mask), Grid("K", fwd.K[0], words, dk)),
         (Grid("dQ", g.Q[0], words, dk),)),
        ("d_k", "dK = dSᵀ Q",
         _("Each key k_j is pushed (against dk_j) toward the queries that should look at it more and away "
           "from those that should look at it less (largest |dK| {big}).").format(
             big=_biggest(g.K)),
         (Grid("dS", g.S[0], words, words, masked=mask), Grid("Q", fwd.Q[0], words, dk)),
         (Grid("dK", g.K[0], words, dk),)),
        ("d_w", "dW_q = Xᵀ dQ   dW_k = Xᵀ dK   dW_v = Xᵀ dV",
         _("The weights collect every word's wish: x_i times its row of dQ, dK or dV, summed over the "
           "words (largest |dW_q| {q}).").format(q=_biggest(g.W_q)),
         (Grid("X", fwd.X[0], words, dm), Grid("dQ", g.Q[0], words, dk), Grid("dK", g.K[0], words, dk),
          Grid("dV", g.V[0], words, dv)),
         (Grid("dW_q", g.W_q, dm, dk), Grid("dW_k", g.W_k, dm, dk), Grid("dW_v", g.W_v, dm, dv))),
        ("d_e", "dX = dQ W_qᵀ + dK W_kᵀ + dV W_vᵀ;  dE[w] = Σ dX[i] where word i is w",
         _("X = E + P, and P is fixed: each word's embedding gets the gradient of every place it stands. "
           "Shown: this sentence alone. A step averages {batch} random sequences; Adam moves each number "
           "by up to about lr = {lr:g} against a running average of those gradients (step {step}).").format(
             batch=setup.batch, lr=setup.lr, step=step),
         (Grid("dQ", g.Q[0], words, dk), Grid("W_q", params["W_q"], dm, dk),
          Grid("dK", g.K[0], words, dk), Grid("W_k", params["W_k"], dm, dk),
          Grid("dV", g.V[0], words, dv), Grid("W_v", params["W_v"], dm, dv)),
         # dE first: where one row of grids has room for one of the two, it is the one a step uses.
         (Grid("dE", g.E, vocab, dm), Grid("dX", g.X[0], words, dm))),
    ]
    total = len(out)
    return tuple(Stage(kind, k, total, title, narration, reads, writes)
                 for k, (kind, title, narration, reads, writes) in enumerate(out))


@dataclass
class LearnSession:
    """A training run the learn view drives: its setup, the current state, and the curve so far."""

    config: Config
    task: str = "reverse"
    speed: int = DEFAULT_SPEED
    setup: learning.Setup = field(init=False)
    state: learning.State = field(init=False)
    measured: np.ndarray = field(init=False, repr=False)  # the sequences loss and accuracy are measured on
    losses: list[float] = field(default_factory=list)  # evaluation loss at each point of the curve
    steps_at: list[int] = field(default_factory=list)
    accuracy: float = 0.0
    first: tuple[float, float] = (math.nan, math.nan)  # (loss, accuracy) at step 0
    stage: int = 0

    def __post_init__(self) -> None:
        self.reset(self.task)

    def reset(self, task: str | None = None) -> None:
        """Back to the scenario's own weights (of `task`, if given): step 0, or the step a scenario
        trained on `task` stopped at, with its Adam means (learning.initial_state)."""
        task = task or self.task
        n = self.config.n
        # A long sentence trains on fewer sequences a step, within the memory bound of one step.
        batch = max(1, min(learning.DEFAULT_BATCH, learning.MAX_BATCH_CELLS // (n * n)))
        # ConfigError if this scenario cannot learn `task`: then the session stays as it was.
        self.setup = learning.make_setup(self.config, task, batch=batch)
        self.task = task
        self.state = learning.initial_state(self.setup)
        every = learning.evaluation_tokens(self.setup)
        # Ten redraws a second measure a spread-out subset; `tui-attention train` measures them all.
        self.measured = every[:: max(1, len(every) // MEASURED)][: max(1, 2**18 // (n * n))]
        self.losses, self.steps_at = [], []
        self.measure()
        self.first = (self.losses[-1], self.accuracy)

    def advance(self, steps: int) -> None:
        """`steps` training steps (the caller measures afterwards, at most ~10 times a second)."""
        self.state = learning.train(self.setup, steps, self.state)

    def measure(self) -> None:
        """Loss and accuracy over the evaluation sequences, added to the curve."""
        loss, self.accuracy = learning.evaluate(self.setup, self.state.params, self.measured)
        if self.steps_at and self.steps_at[-1] == self.state.step:
            return
        self.losses.append(loss)
        self.steps_at.append(self.state.step)
        if len(self.losses) > HISTORY:
            # Keep the start and thin the rest: the curve keeps its shape in bounded memory.
            self.losses[1:] = self.losses[1::2][: HISTORY // 2]
            self.steps_at[1:] = self.steps_at[1::2][: HISTORY // 2]

    @property
    def loss(self) -> float:
        return self.losses[-1]

    @property
    def steps_per_second(self) -> int:
        return SPEEDS[self.speed]

    def change_speed(self, delta: int, fastest: int = SPEEDS[-1]) -> bool:
        """Move `delta` places along SPEEDS, up to `fastest` steps a second; False if it was
        already at that end."""
        top = max(k for k, speed in enumerate(SPEEDS) if speed <= fastest)
        before = self.speed
        self.speed = max(0, min(top, self.speed + delta))
        return self.speed != before

    def stages(self, decimals: int = 4) -> tuple[Stage, ...]:
        return stages(self.setup, self.state.params, self.state.step, decimals)

    def move_stage(self, delta: int) -> None:
        self.stage = max(0, min(len(STAGE_KINDS) - 1, self.stage + delta))

    def attention(self) -> np.ndarray:
        """A of the sentence at the current weights.  (n, n)"""
        return learning.sentence_pass(self.setup, self.state.params)[1].A[0]

    def trained_config(self) -> Config:
        return learning.trained_config(self.setup, self.state)

    # --- words --------------------------------------------------------------------------------
    def pattern(self) -> str:
        return _(TASK_PATTERNS[self.task])

    def status(self, playing: bool, width: int = 200) -> str:
        """learn reverse · step 120 · loss 0.0123 · accuracy 100.0% · 10 steps/s · playing, in
        `width` cells: first the speed goes (the footer's keys change it), then "accuracy"
        shortens to "acc"; playing or paused always shows."""
        parts = [
            _("learn {task}").format(task=self.task),
            _("step {step}").format(step=self.state.step),
            _("loss {loss}").format(loss=significant(self.loss, 3)),
            _("accuracy {accuracy:.1%}").format(accuracy=self.accuracy),
            ngettext("{speed} step/s", "{speed} steps/s", self.steps_per_second).format(speed=self.steps_per_second),
            _("playing") if playing else _("paused"),
        ]
        line = " " + " · ".join(parts)
        if len(line) > width:
            del parts[4]
            line = " " + " · ".join(parts)
        if len(line) > width:
            parts[3] = _("acc {accuracy:.1%}").format(accuracy=self.accuracy)
            line = " " + " · ".join(parts)
        return line

    def curve_text(self) -> str:
        """loss 1.61 → 0.0123, then accuracy 20% → 100%, on two lines."""
        return _("loss {start} → {now}\naccuracy {a0:.0%} → {a1:.0%}").format(
            start=significant(self.first[0], 3), now=significant(self.loss, 3), a0=self.first[1], a1=self.accuracy)

    def predictions(self) -> str:
        """What the model says at each word of the sentence: "→ artificial ✓" per word, a ✗ when wrong."""
        guess = learning.predictions(self.setup, self.state.params)
        targets = learning.task_targets(self.task, learning.sentence_tokens(self.setup))[0]
        parts = []
        for i, g in enumerate(guess):
            mark = "" if targets[i] < 0 else ("✓" if g == targets[i] else "✗")
            parts.append(f"{i + 1}→{self.setup.vocabulary[g][:7]}{mark}")
        return _("predicts: {words}").format(words=" ".join(parts))



def log_curve(losses: list[float]) -> list[float]:
    """The loss curve on a log scale (a sparkline's heights): the fall from 1.6 to 0.0001 is four
    steps of ten, not one cliff and a flat line."""
    return [math.log10(max(x, 1e-12)) for x in losses]
