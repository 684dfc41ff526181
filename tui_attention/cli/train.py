"""`tui-attention train`: train one attention head on reverse, previous or first, and
write the trained scenario.

    tui-attention train --task reverse|previous|first [--steps N] [--lr X] [--batch N]
                        [--every N] [scenario options] [--out FILE.toml] [--format text|json]

text: a Rich progress bar with the loss and accuracy on a terminal (plain lines
otherwise), then the trained attention of the sentence.  json: one JSON object per
line, {"step", "loss", "accuracy"} (loss and accuracy over the evaluation sequences,
after that step), step 0 first.  --out writes the scenario with the trained E rows
and W_q, W_k, W_v, and a [training] table with W_out (README, "Scenario files").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tui_attention.core.config import brief_name, brief_repr
from tui_attention.i18n import _
from tui_attention.steps.notation import significant

from .options import UsageError, check_new_file, config_from_args, number, whole_number


def _check_out(out: str) -> Path:
    """The path --out names, or UsageError (one line) if it cannot be written: before training,
    not after it, when the refusal would throw the trained weights away."""
    if out and Path(out).suffix.lower() != ".toml":
        raise UsageError(_("tui-attention train: --out {out} must end in .toml (a scenario file)").format(
            out=brief_repr(out, 100)))
    return check_new_file(out, "tui-attention train", "--out")


def _reports(steps: int, every: int | None, lines: int) -> set[int]:
    """The steps that get a report: 0, every `every` (default: about `lines` of them), and the last."""
    every = every or max(1, steps // lines)
    return {0, steps, *range(every, steps + 1, every)}


def _attention_text(config, decimals: int = 2) -> str:
    """The trained A of the sentence, one row per word, with each row's largest weight marked."""
    from tui_attention.core.trace import compute

    trace = compute(config)
    a = trace.heads[0].weights
    width = max(len(t) for t in trace.tokens)
    lines = [_("Attention of the sentence (row: query word; * marks each row's largest weight):")]
    for i, word in enumerate(trace.tokens):
        cells = " ".join(f"{a[i, j]:.{decimals}f}{'*' if j == a[i].argmax() else ' '}" for j in range(trace.n))
        lines.append(f"  {word:>{width}}  {cells}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tui_attention.core import learning
    from tui_attention.core.scenario import dumps_scenario
    from tui_attention.infra.files import write_atomic

    if args.heads not in (None, 1):
        raise UsageError(_("tui-attention train: one head is trained; leave out --heads (got {heads})").format(
            heads=brief_repr(args.heads)))
    need = learning.TASK_MASKS[args.task]
    if args.mask is not None and args.mask != need:
        raise UsageError(_("tui-attention train: the task {task} needs --mask {need}, not {mask}").format(
            task=args.task, need=need, mask=args.mask))
    if args.every is not None and args.every < 1:
        raise UsageError(_("tui-attention train: --every must be at least 1, got {every}").format(
            every=brief_repr(args.every)))
    out = _check_out(args.out) if args.out is not None else None
    steps = learning.check_steps(args.steps)
    setup = learning.make_setup(config_from_args(args), args.task, batch=args.batch, lr=args.lr)
    bar = args.format == "text" and sys.stderr.isatty()
    # JSON is for plotting (about 100 points); plain text is read (about 10 lines).
    state = learning.initial_state(setup)  # a scenario trained on this task goes on from its step
    start = state.step
    reports = {start + k for k in _reports(steps, args.every, 100 if args.format == "json" or bar else 10)}

    if args.format == "json":
        def report(state) -> None:
            loss, acc = learning.evaluate(setup, state.params)
            sys.stdout.write(json.dumps({"step": state.step, "loss": loss, "accuracy": acc}) + "\n")
    elif bar:
        report, progress = _progress_bar(setup, steps, start)
    else:
        def report(state) -> None:
            loss, acc = learning.evaluate(setup, state.params)
            print(_("step {step}/{steps}  loss {loss}  accuracy {accuracy:.1%}").format(
                step=state.step, steps=start + steps, loss=significant(loss, 3), accuracy=acc))

    def on_step(state) -> None:
        learning.check_in_range(state)  # a run that leaves what a scenario may hold stops there, and says so
        if state.step in reports:
            report(state)

    report(state)
    if bar:
        with progress:
            state = learning.train(setup, steps, state, on_step)
    else:
        state = learning.train(setup, steps, state, on_step)

    trained = learning.trained_config(setup, state)
    if args.format == "text":
        loss, acc = learning.evaluate(setup, state.params)
        print(_("{task}: {steps} steps, loss {loss}, accuracy {accuracy:.1%}").format(
            task=args.task, steps=state.step, loss=significant(loss, 3), accuracy=acc))
        print(_attention_text(trained))
    if out is not None:
        header = "# " + _("Trained by: tui-attention train --task {task} --steps {steps}; load with: "
                          "tui-attention --scenario {path}").format(task=args.task, steps=steps, path=out) + "\n"
        if start:
            header += "# " + _("(going on from step {start} of the scenario's own training: {total} steps in all)").format(
                start=start, total=state.step) + "\n"
        try:
            write_atomic(out, dumps_scenario(trained, header))
        except OSError as exc:
            raise UsageError(_("tui-attention train: cannot write {out}: {why}").format(
                out=brief_name(out), why=exc.strerror or exc)) from None
        if args.format == "text":
            print(_("Wrote {path}").format(path=out))
    return 0


def _progress_bar(setup, steps: int, start: int = 0):
    """A Rich progress bar on stderr for `steps` steps after step `start`; its description shows
    the last loss and accuracy."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tui_attention.core import learning

    progress = Progress(TextColumn(_("training {task}").format(task=setup.task)), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.description}"), TimeElapsedColumn(), console=Console(stderr=True))
    task = progress.add_task("", total=steps)

    def report(state) -> None:
        loss, acc = learning.evaluate(setup, state.params)
        progress.update(task, completed=state.step - start, description=_("loss {loss}  accuracy {accuracy:.1%}").format(
            loss=significant(loss, 3), accuracy=acc))

    return report, progress


def register(subparsers, shared: argparse.ArgumentParser) -> None:
    from tui_attention.core.learning import DEFAULT_BATCH, DEFAULT_LR, DEFAULT_STEPS, TASKS

    p = subparsers.add_parser(
        "train", parents=[shared],
        help=_("train one attention head on a toy task and write the trained scenario"),
        description=_("Train the scenario's first head, with a readout to its words, to reverse the sentence "
                      "(mask none), to name the previous word or the first word (mask causal). Training "
                      "sequences are drawn from the sentence's words; E, W_q, W_k, W_v start as the "
                      "scenario's. A scenario trained on the same task that kept Adam's running means goes on "
                      "from its step. --out writes a scenario that `trace` and the tutor load."))
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--steps", type=whole_number, default=DEFAULT_STEPS, metavar="N",
                   help=_("training steps (default {n})").format(n=DEFAULT_STEPS))
    p.add_argument("--lr", type=number, default=DEFAULT_LR, metavar="X",
                   help=_("Adam's learning rate (default {lr})").format(lr=DEFAULT_LR))
    p.add_argument("--batch", type=whole_number, default=DEFAULT_BATCH, metavar="N",
                   help=_("sequences per step (default {n})").format(n=DEFAULT_BATCH))
    p.add_argument("--every", type=whole_number, default=None, metavar="N",
                   help=_("report every N steps (default: 100 JSON lines or 10 text lines)"))
    p.add_argument("--out", metavar="FILE.toml", help=_("write the trained scenario here"))
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)
