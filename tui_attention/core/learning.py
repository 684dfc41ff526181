"""Training one attention head on a toy task: the model, the tasks, the loop, Adam.

The model reads the scenario's sentence the way the Trace does, with one head and
a readout to the vocabulary (the scenario's distinct words, in order of first
appearance). For a batch of b sequences of the scenario's length n:

    X = E[tokens] + P             E (vocab, d_model) learnt, P the scenario's positions
    Q, K, V = X W_q, X W_k, X W_v
    A = softmax(mask(Q Kᵀ / c))   c and the mask as the scenario (task) says
    Z = A V                       (b, n, d_v)
    Y = Z W_out                   (b, n, vocab)   W_out (d_v, vocab) learnt
    L = mean over positions with a target of -log softmax(Y)[target]

There is no residual path: position i can only name a word by attending to where
it stands, so the attention pattern that solves a task is forced (1-based i, j):

    task       target at position i      mask     pattern that solves it
    reverse    token n + 1 - i           none     A[i, n + 1 - i] ≈ 1 (the anti-diagonal)
    previous   token i - 1, for i ≥ 2    causal   A[i, i - 1] ≈ 1 (the sub-diagonal)
    first      token 1                   causal   A[i, 1] ≈ 1 (the first column)

Training sequences are drawn uniformly from the vocabulary, with repetition, from
generators keyed by (seed, "training", task, block), a block being up to 64 steps (fewer
for large batches): step k's batch is the same in every run with the same batch size, so
training is deterministic for a given seed. Every array is float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from tui_attention.i18n import _

from . import backward as bw
from .attention import apply_mask, causal_mask, scale_scores
from .config import MAX_ABS_VALUE, MAX_TRAINING_STEPS, TRAINING_TASKS, Config, ConfigError, brief_repr
from .positions import no_positions, sinusoidal
from .seeding import rng_for
from .trace import compute

TASKS = TRAINING_TASKS  # ("reverse", "previous", "first")
TASK_MASKS = {"reverse": "none", "previous": "causal", "first": "causal"}
PARAM_NAMES = ("E", "W_q", "W_k", "W_v", "W_out")

DEFAULT_STEPS = 1000
DEFAULT_BATCH = 64
DEFAULT_LR = 0.1
MAX_STEPS = MAX_TRAINING_STEPS
MAX_BATCH = 4096
MAX_LR = 10.0
# b·n·n cells in one (b, n, n) array; the step holds about eight of them.  2**20 cells
# is 8 MiB each: a 5-word batch of 64 is 1 600 cells, a 1 024-word sentence fits alone.
MAX_BATCH_CELLS = 2**20
EXHAUSTIVE_LIMIT = 4096  # evaluate on every sequence when vocab**n is at most this
EVALUATION_SEQUENCES = 1024


# ---------------------------------------------------------------- tasks and data

def target_positions(task: str, n: int) -> np.ndarray:
    """Where position i (0-based) must look: t[i] = j whose token is i's target, -1 = no target.

    reverse: n - 1 - i;  previous: i - 1 (-1 at i = 0);  first: 0.  Shape (n,).
    """
    i = np.arange(n)
    if task == "reverse":
        return n - 1 - i
    if task == "previous":
        return i - 1  # i = 0 gives -1: the first word has no previous one
    if task == "first":
        return np.zeros(n, dtype=int)
    raise ConfigError(_("task: must be one of {choices}, got {value}").format(
        choices=", ".join(TASKS), value=brief_repr(task)))


def task_targets(task: str, tokens: np.ndarray) -> np.ndarray:
    """targets[b, i] = tokens[b, t[i]] with t = target_positions, -1 where t[i] = -1.  (b, n) -> (b, n)."""
    where = target_positions(task, tokens.shape[-1])
    out = tokens[:, np.maximum(where, 0)]
    out[:, where < 0] = -1
    return out


def vocabulary(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The distinct words of the sentence, in order of first appearance: the rows of E."""
    return tuple(dict.fromkeys(tokens))


def token_ids(tokens: tuple[str, ...], vocab: tuple[str, ...]) -> np.ndarray:
    """Each word's row of E.  Shape (n,) int."""
    index = {w: r for r, w in enumerate(vocab)}
    return np.array([index[t] for t in tokens], dtype=np.int64)


def positions_of(config: Config) -> np.ndarray:
    """P as the Trace takes it: the table, sinusoidal from 0, or zeros.  Shape (n, d_model)."""
    if config.positions_kind == "table":
        return config.positions
    if config.positions_kind == "sinusoidal":
        return sinusoidal(config.n, config.d_model)
    return no_positions(config.n, config.d_model)


@lru_cache(maxsize=8)
def _mask(n: int) -> np.ndarray:
    m = causal_mask(n)
    m.setflags(write=False)
    return m


def mask_of(config: Config) -> np.ndarray | None:
    """The causal mask (n, n) when config.mask == "causal", else None."""
    return _mask(config.n) if config.mask == "causal" else None


# ---------------------------------------------------------------- the model

@dataclass(frozen=True, eq=False)
class Forward:
    """Every intermediate of the forward pass, kept for the backward pass.  b sequences of n."""

    X: np.ndarray  # (b, n, d_model)  E[tokens] + P
    Q: np.ndarray  # (b, n, d_k)
    K: np.ndarray  # (b, n, d_k)
    V: np.ndarray  # (b, n, d_v)
    S: np.ndarray  # (b, n, n)        Q Kᵀ
    scaled: np.ndarray  # (b, n, n)   S / c
    logits: np.ndarray  # (b, n, n)   scaled, -inf where masked
    A: np.ndarray  # (b, n, n)        softmax rows
    Z: np.ndarray  # (b, n, d_v)      A V
    Y: np.ndarray  # (b, n, vocab)    Z W_out
    log_probs: np.ndarray  # (b, n, vocab) log softmax(Y)
    probs: np.ndarray  # (b, n, vocab) softmax(Y)


def _softmax(s: np.ndarray) -> np.ndarray:
    """softmax along the last axis.  Every row here has an unmasked cell (the diagonal),
    so the plain form is safe and cheaper than attention.softmax's guarded one."""
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(y: np.ndarray) -> np.ndarray:
    """log softmax(y) = y - max y - log Σ exp(y - max y) along the last axis: never the
    log of a rounded 0, however sure the model is."""
    shifted = y - y.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def forward(params: dict[str, np.ndarray], tokens: np.ndarray, config: Config) -> Forward:
    """The model on a batch: tokens (b, n) int rows of E -> Forward (see the module docstring)."""
    x = params["E"][tokens] + positions_of(config)
    q = bw.linear(x, params["W_q"])
    k = bw.linear(x, params["W_k"])
    v = bw.linear(x, params["W_v"])
    s = q @ np.swapaxes(k, -1, -2)
    scaled = scale_scores(s, config.scale, config.d_k)
    mask = mask_of(config)
    logits = scaled if mask is None else apply_mask(scaled, mask)
    a = _softmax(logits)
    z = a @ v
    y = bw.linear(z, params["W_out"])
    log_probs = _log_softmax(y)
    return Forward(x, q, k, v, s, scaled, logits, a, z, y, log_probs, np.exp(log_probs))


def cross_entropy(fwd: Forward, targets: np.ndarray) -> float:
    """L = -(1/N) Σ_{targets ≥ 0} log softmax(Y)[target], N the number of targets.  targets (b, n)."""
    has = targets.reshape(-1) >= 0
    count = int(has.sum())
    if not count:
        return 0.0
    log_probs = fwd.log_probs.reshape(-1, fwd.log_probs.shape[-1])
    picked = log_probs[np.arange(len(has)), np.maximum(targets.reshape(-1), 0)]
    # + 0.0: a sure prediction gives log p = 0 and -(0) = -0.0, printed "-0.0000" as if below 0.
    return float(-(picked @ has) / count) + 0.0


@dataclass(frozen=True, eq=False)
class Backward:
    """Every gradient of the backward pass (dT = ∂L/∂T), in the order the chain rule reaches them."""

    d_logits: np.ndarray  # (b, n, vocab)  dY
    W_out: np.ndarray  # (d_v, vocab)
    Z: np.ndarray  # (b, n, d_v)
    A: np.ndarray  # (b, n, n)
    V: np.ndarray  # (b, n, d_v)
    S_masked: np.ndarray  # (b, n, n)  dS'' (softmax backward)
    S_scaled: np.ndarray  # (b, n, n)  dS'  (0 where masked)
    S: np.ndarray  # (b, n, n)         dS   (÷ c)
    Q: np.ndarray  # (b, n, d_k)
    K: np.ndarray  # (b, n, d_k)
    W_q: np.ndarray  # (d_model, d_k)
    W_k: np.ndarray  # (d_model, d_k)
    W_v: np.ndarray  # (d_model, d_v)
    X: np.ndarray  # (b, n, d_model)
    E: np.ndarray  # (vocab, d_model)

    def grads(self) -> dict[str, np.ndarray]:
        """The gradients of the parameters, keyed like params."""
        return {name: getattr(self, name) for name in PARAM_NAMES}


def backward(params: dict[str, np.ndarray], tokens: np.ndarray, targets: np.ndarray,
             config: Config, fwd: Forward) -> Backward:
    """The chain rule from the loss back to E, one equation of `backward.py` at a time."""
    d_y = bw.grad_logits(fwd.probs, targets)
    d_w_out = bw.grad_w_out(fwd.Z, d_y)
    d_z = bw.grad_z(d_y, params["W_out"])
    d_a = bw.grad_a(d_z, fwd.V)
    d_v = bw.grad_v(fwd.A, d_z)
    d_s2 = bw.softmax_backward(fwd.A, d_a)
    d_s1 = bw.mask_backward(d_s2, mask_of(config))
    d_s = bw.scale_backward(d_s1, config.scale, config.d_k)
    d_q = bw.grad_q(d_s, fwd.K)
    d_k = bw.grad_k(d_s, fwd.Q)
    d_w_q = bw.grad_w_q(fwd.X, d_q)
    d_w_k = bw.grad_w_k(fwd.X, d_k)
    d_w_v = bw.grad_w_v(fwd.X, d_v)
    d_x = bw.grad_x(d_q, d_k, d_v, params["W_q"], params["W_k"], params["W_v"])
    d_e = bw.grad_e(d_x, tokens, params["E"].shape[0])
    return Backward(d_y, d_w_out, d_z, d_a, d_v, d_s2, d_s1, d_s, d_q, d_k, d_w_q, d_w_k, d_w_v, d_x, d_e)


def loss_and_grads(params: dict[str, np.ndarray], tokens: np.ndarray, targets: np.ndarray,
                   config: Config) -> tuple[float, dict[str, np.ndarray]]:
    """The loss of a batch and its gradient with respect to every parameter (a public contract).

    params:  {"E": (vocab, d_model), "W_q": (d_model, d_k), "W_k": (d_model, d_k),
              "W_v": (d_model, d_v), "W_out": (d_v, vocab)}
    tokens:  int array (batch, n), rows of E
    targets: int array (batch, n); -1 means no target at that position
    config:  the scenario's Config; its positions, scale and mask are used
    loss:    mean cross-entropy over the positions with a target
    grads:   the same keys and shapes as params
    """
    tokens = np.asarray(tokens)
    targets = np.asarray(targets)
    fwd = forward(params, tokens, config)
    return cross_entropy(fwd, targets), backward(params, tokens, targets, config, fwd).grads()


# ---------------------------------------------------------------- Adam

def adam(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float,
         beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Adam update (Kingma and Ba, 2015) of one parameter; t counts from 1.

        m = β1 m + (1 - β1) g            running mean of the gradient
        v = β2 v + (1 - β2) g²           running mean of its square
        m̂ = m / (1 - β1^t),  v̂ = v / (1 - β2^t)   (both start at 0: undo that bias)
        θ = θ - lr m̂ / (√v̂ + ε)

    A coordinate moves by at most about lr however large its gradient (|m̂| / √v̂ is
    about 1 or less), which suits a model whose gradients differ by orders of magnitude
    between E and W_out. Its steps shrink far below lr once its gradient is small
    against the earlier ones that v, slower to forget (β2 > β1), still holds.
    Returns (θ, m, v), new arrays of θ's shape.
    """
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad * grad
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


# ---------------------------------------------------------------- training

@dataclass(frozen=True, eq=False)
class Setup:
    """What a training run is: the scenario with the task's mask, the task, its sizes.

    vocabulary: the rows of E;  sentence: (n,) the scenario's words as rows of E.
    """

    config: Config
    task: str
    vocabulary: tuple[str, ...]
    sentence: np.ndarray
    batch: int = DEFAULT_BATCH
    lr: float = DEFAULT_LR

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def targets_at(self) -> np.ndarray:
        """Where each position must look, 0-based (-1: no target).  (n,)"""
        return target_positions(self.task, self.config.n)


def check_steps(steps: Any) -> int:
    """A whole number of steps, 0 .. MAX_STEPS, else ConfigError."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise ConfigError(_("steps: must be a whole number from 0 to {limit}, got {value}").format(
            limit=MAX_STEPS, value=brief_repr(steps)))
    return int(steps)


def make_setup(config: Config, task: str, batch: int = DEFAULT_BATCH, lr: float = DEFAULT_LR) -> Setup:
    """Validate a run on the scenario's first head; its mask is replaced by the task's.  Raises ConfigError."""
    if task not in TASKS:
        raise ConfigError(_("task: must be one of {choices}, got {value}").format(
            choices=", ".join(TASKS), value=brief_repr(task)))
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or not 1 <= batch <= MAX_BATCH:
        raise ConfigError(_("batch: must be a whole number from 1 to {limit}, got {value}").format(
            limit=MAX_BATCH, value=brief_repr(batch)))
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= MAX_LR or lr != lr:
        raise ConfigError(_("lr: must be a number in (0, {limit:g}], got {value}").format(
            limit=MAX_LR, value=brief_repr(lr)))
    n = config.n
    if batch * n * n > MAX_BATCH_CELLS:
        raise ConfigError(_("batch: {batch} sequences of {n} words need {cells} attention cells, the limit is "
                            "{limit}; use a smaller batch or a shorter sentence").format(
            batch=batch, n=n, cells=batch * n * n, limit=MAX_BATCH_CELLS))
    if not np.any(target_positions(task, n) >= 0):
        raise ConfigError(_("task {task}: a sentence of one word has nothing to learn").format(task=task))
    vocab = vocabulary(config.tokens)
    return Setup(config.with_heads(1).replace(mask=TASK_MASKS[task]), task, vocab,
                 token_ids(config.tokens, vocab), int(batch), float(lr))


@dataclass(frozen=True, eq=False)
class State:
    """The parameters after `step` steps, with Adam's running means m and v.

    theta, m and v are flat (all parameters end to end, in PARAM_NAMES order), so
    that one Adam update moves them all; params holds read-only views of theta.
    """

    step: int
    theta: np.ndarray = field(repr=False)
    m: np.ndarray = field(repr=False)
    v: np.ndarray = field(repr=False)
    shapes: tuple[tuple[int, ...], ...] = field(repr=False)
    loss: float = float("nan")  # the loss of the last step's batch (before its update)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """{"E": (vocab, d_model), "W_q", "W_k", "W_v", "W_out"}, views of theta."""
        return unflatten(self.theta, self.shapes)


def flatten(params: dict[str, np.ndarray]) -> np.ndarray:
    """The parameters end to end in PARAM_NAMES order.  Shape (total size,)."""
    return np.concatenate([params[name].reshape(-1) for name in PARAM_NAMES])


def unflatten(theta: np.ndarray, shapes: tuple[tuple[int, ...], ...]) -> dict[str, np.ndarray]:
    """Views of theta with the given shapes, keyed by PARAM_NAMES (read-only when theta is)."""
    out, start = {}, 0
    for name, shape in zip(PARAM_NAMES, shapes):
        size = math.prod(shape)
        out[name], start = theta[start:start + size].reshape(shape), start + size
    return out


def initial_params(setup: Setup) -> dict[str, np.ndarray]:
    """Start from the scenario's own numbers: E's row of each word where it first
    appears, head 1's W_q, W_k, W_v; W_out (d_v, vocab) the scenario's own when it was
    trained on this task ([training].w_out), else ~ N(0, 1) * weight_scale, keyed by
    (seed, "training", "W_out"). A trained head with a fresh readout would start with its
    attention learnt and its predictions wrong."""
    trace = compute(setup.config)
    first = [setup.config.tokens.index(w) for w in setup.vocabulary]
    head = trace.heads[0]
    trained = setup.config.training
    if trained is not None and trained["task"] == setup.task:
        w_out = np.array(trained["w_out"], dtype=np.float64)
    else:
        w_out = rng_for(setup.seed, "training", "W_out").standard_normal(
            (setup.config.d_v, len(setup.vocabulary))) * setup.config.weight_scale
    return {"E": np.array(trace.E[first]), "W_q": np.array(head.W_q), "W_k": np.array(head.W_k),
            "W_v": np.array(head.W_v), "W_out": w_out}


def state_from(params: dict[str, np.ndarray], step: int = 0) -> State:
    """A state holding `params` with Adam's means at 0 (Adam restarts from here)."""
    theta = flatten(params)
    theta.setflags(write=False)
    shapes = tuple(tuple(params[name].shape) for name in PARAM_NAMES)
    return State(step, theta, np.zeros_like(theta), np.zeros_like(theta), shapes)


def initial_state(setup: Setup) -> State:
    """Where training starts: step 0 with Adam's means at 0; or, on a scenario trained on this
    task that kept Adam's running means ([training] adam_m, adam_v), its step with those means,
    so that training goes on as if it had not stopped. Restarted with means at 0, Adam's first
    update is lr times the gradient's sign for every number, however small the gradient: a
    trained head would lose what it learnt (loss 7.7e-06 -> 4.2 in one step on reverse)."""
    state = state_from(initial_params(setup))
    trained = setup.config.training
    if trained is None or trained["task"] != setup.task or "adam_m" not in trained:
        return state
    m, v = np.array(trained["adam_m"]), np.array(trained["adam_v"])
    return State(trained["steps"], state.theta, m, v, state.shapes)


@lru_cache(maxsize=4)
def _batch_block(seed: int, task: str, vocab: int, batch: int, n: int, block: int,
                 size: int) -> tuple[np.ndarray, np.ndarray]:
    """`size` steps' batches and their targets at once, each (size, batch, n), keyed by
    (seed, "training", task, block): making a keyed generator costs more than a step's
    arithmetic, so it is made once per block."""
    tokens = rng_for(seed, "training", task, block).integers(0, vocab, size=(size, batch, n))
    targets = task_targets(task, tokens.reshape(size * batch, n)).reshape(size, batch, n)
    tokens.setflags(write=False)
    targets.setflags(write=False)
    return tokens, targets


def training_batch(setup: Setup, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Step `step`'s training sequences and targets (step ≥ 1), each (batch, n) ints,
    tokens uniform over the vocabulary.

    Drawn in blocks of up to 64 steps from a generator keyed by (seed, "training", task,
    block), so step k's batch is the same whatever ran before it.
    """
    batch, n = setup.batch, setup.config.n
    size = max(1, min(64, 2**18 // (batch * n)))
    block, offset = divmod(step - 1, size)
    tokens, targets = _batch_block(setup.seed, setup.task, len(setup.vocabulary), batch, n, block, size)
    return tokens[offset], targets[offset]


def train_step(setup: Setup, state: State) -> State:
    """One step: the loss and gradients of batch `state.step + 1`, then Adam on every parameter."""
    t = state.step + 1
    tokens, targets = training_batch(setup, t)
    loss, grads = loss_and_grads(state.params, tokens, targets, setup.config)
    theta, m, v = adam(state.theta, flatten(grads), state.m, state.v, t, setup.lr)
    theta.setflags(write=False)
    return State(t, theta, m, v, state.shapes, loss)


class TrainingError(ConfigError):
    """Training took a weight where a scenario cannot hold it (not finite, or beyond
    ±MAX_ABS_VALUE): the scenario was valid, the run left it. The message says after which step."""


def check_in_range(state: State) -> None:
    """TrainingError naming the first parameter entry of `state` that is not finite or is beyond
    ±MAX_ABS_VALUE, the bound every number of a scenario keeps to (a trained scenario too)."""
    with np.errstate(invalid="ignore"):
        if np.all(np.abs(state.theta) <= MAX_ABS_VALUE):  # False for nan too
            return
        for name, value in state.params.items():
            outside = ~(np.abs(value) <= MAX_ABS_VALUE)
            if outside.any():
                break
    at = tuple(int(i) for i in np.argwhere(outside)[0])
    where = f"{name}[{', '.join(map(str, at))}]"
    number = float(value[at])
    if not np.isfinite(number):
        raise TrainingError(_("training diverged: after step {step}, {where} is {value}; a smaller learning rate "
                              "may keep it finite").format(step=state.step, where=where, value=number))
    raise TrainingError(_("training left the range a scenario may hold: after step {step}, {where} is {value}, "
                          "beyond ±{limit:g}; start from values further inside it, or train with a smaller "
                          "learning rate").format(step=state.step, where=where, value=number, limit=MAX_ABS_VALUE))


def train(setup: Setup, steps: int, state: State | None = None,
          on_step: Callable[[State], None] | None = None) -> State:
    """`steps` steps from `state` (default: step 0); on_step sees each new state."""
    state = state or initial_state(setup)
    for _step in range(check_steps(steps)):
        state = train_step(setup, state)
        if on_step is not None:
            on_step(state)
    return state


# ---------------------------------------------------------------- measuring

def evaluation_tokens(setup: Setup) -> np.ndarray:
    """The sequences accuracy is measured on, (m, n) ints: every sequence when
    vocab**n ≤ 4096 (3 125 for the notebook), else up to 1 024 drawn with the key
    (seed, "evaluation", task), never more than the batch memory limit allows."""
    vocab, n = len(setup.vocabulary), setup.config.n
    if vocab**n <= EXHAUSTIVE_LIMIT:
        return np.stack(np.unravel_index(np.arange(vocab**n), (vocab,) * n), axis=1)
    count = max(1, min(EVALUATION_SEQUENCES, MAX_BATCH_CELLS // (n * n)))
    return rng_for(setup.seed, "evaluation", setup.task).integers(0, vocab, size=(count, n))


def accuracy(setup: Setup, params: dict[str, np.ndarray], tokens: np.ndarray | None = None) -> float:
    """The share of positions with a target whose most likely word (argmax Y) is the target."""
    tokens = evaluation_tokens(setup) if tokens is None else tokens
    targets = task_targets(setup.task, tokens)
    guess = forward(params, tokens, setup.config).Y.argmax(axis=-1)
    has = targets >= 0
    return float(np.mean(guess[has] == targets[has]))


def sentence_tokens(setup: Setup) -> np.ndarray:
    """The scenario's sentence as a batch of one: (1, n)."""
    return setup.sentence[None, :]


def sentence_pass(setup: Setup, params: dict[str, np.ndarray]) -> tuple[float, Forward, Backward]:
    """The loss, forward and backward pass of the scenario's sentence alone (batch of one)."""
    tokens = sentence_tokens(setup)
    targets = task_targets(setup.task, tokens)
    fwd = forward(params, tokens, setup.config)
    return cross_entropy(fwd, targets), fwd, backward(params, tokens, targets, setup.config, fwd)


def evaluate(setup: Setup, params: dict[str, np.ndarray], tokens: np.ndarray | None = None) -> tuple[float, float]:
    """(loss, accuracy) on `tokens` (b, n), by default the evaluation sequences (see evaluation_tokens)."""
    tokens = evaluation_tokens(setup) if tokens is None else tokens
    targets = task_targets(setup.task, tokens)
    fwd = forward(params, tokens, setup.config)
    has = targets >= 0
    return cross_entropy(fwd, targets), float(np.mean(fwd.Y.argmax(axis=-1)[has] == targets[has]))


def predictions(setup: Setup, params: dict[str, np.ndarray]) -> np.ndarray:
    """The most likely word (a row of E) at each position of the sentence.  Shape (n,)."""
    return forward(params, sentence_tokens(setup), setup.config).Y[0].argmax(axis=-1)


def trained_config(setup: Setup, state: State) -> Config:
    """The scenario with the trained numbers, one head and the task's mask: E's rows for the
    sentence's words, W_q, W_k, W_v explicit, and the [training] table (task, steps, seed,
    lr, batch, W_out, and Adam's running means adam_m and adam_v).  Its Trace shows the trained attention.  TrainingError (a ConfigError) when
    training took a weight out of the range a scenario may hold (check_in_range)."""
    check_in_range(state)
    p = state.params
    weights = {**setup.config.weights, "w_q": p["W_q"], "w_k": p["W_k"], "w_v": p["W_v"]}
    training = {"task": setup.task, "steps": state.step, "seed": setup.seed, "lr": setup.lr,
                "batch": setup.batch, "w_out": p["W_out"]}
    # Adam's means go with the weights, so that training them again goes on from here. Kept only
    # where a scenario can hold them: past ±MAX_ABS_VALUE (gradients above 1000) Adam restarts.
    if state.step and np.all(np.abs(state.m) <= MAX_ABS_VALUE) and np.all(state.v <= MAX_ABS_VALUE):
        training.update(adam_m=state.m, adam_v=state.v)
    return setup.config.replace(embeddings=p["E"][setup.sentence], weights=weights, training=training)
