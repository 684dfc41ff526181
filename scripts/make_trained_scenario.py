"""Regenerate the trained scenarios in assets/scenarios/: reverse.toml, previous.toml, first.toml.

    python scripts/make_trained_scenario.py

Each is the notebook's scenario after 1000 steps of training one head on its task
(core/learning.py: batch 64, Adam with learning rate 0.1, seed 23), written the way
`tui-attention train --task TASK --out FILE` writes it: the trained E rows of the
sentence, W_q, W_k, W_v, the task's mask, and a [training] table with W_out. Load one
by name: `tui-attention --scenario reverse`.
"""

from pathlib import Path

from tui_attention.core import build_config, compute, learning
from tui_attention.core.scenario import dumps_scenario

STEPS = 1000
HEADER = """\
# The notebook's sentence after {steps} steps of training its head on "{task}"
# ({pattern}). Made with: python scripts/make_trained_scenario.py
# (the same as: tui-attention train --task {task} --steps {steps} --out {task}.toml)
"""
PATTERNS = {
    "reverse": "word i attends to word n + 1 - i, the anti-diagonal",
    "previous": "word i attends to word i - 1, causal mask",
    "first": "every word attends to word 1, causal mask",
}


def main() -> None:
    folder = Path(__file__).resolve().parent.parent / "assets" / "scenarios"
    for task in learning.TASKS:
        setup = learning.make_setup(build_config(None), task)
        state = learning.train(setup, STEPS)
        config = learning.trained_config(setup, state)
        out = folder / f"{task}.toml"
        out.write_text(dumps_scenario(config, HEADER.format(steps=STEPS, task=task, pattern=PATTERNS[task])),
                       encoding="utf-8")
        loss, accuracy = learning.evaluate(setup, state.params)
        weights = compute(config).heads[0].weights
        print(f"wrote {out}: loss {loss:.2e}, accuracy {accuracy:.1%}, "
              f"smallest weight on the target {min(weights[i, j] for i, j in enumerate(setup.targets_at) if j >= 0):.3f}")


if __name__ == "__main__":
    main()
