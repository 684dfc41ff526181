"""Regenerate assets/scenarios/notebook.toml from the notebook's own random draws.

    python scripts/make_notebook_scenario.py

The teaching notebook seeds NumPy's legacy generator with 23 and draws, in this
order: randn(4) for "me" and "gusta", rand(4) for "estudiar", "inteligencia"
and "artificial", then randn(4, 3) * 0.1 for W_q, W_k and W_v. Its positional
table is hand-written. The values are stored at full precision so that the
tutor never depends on NumPy's legacy generator staying the same.
"""

from pathlib import Path

import numpy as np
import tomli_w

D_MODEL, D_K, D_V = 4, 3, 3
TOKENS = ["me", "gusta", "estudiar", "inteligencia", "artificial"]
POSITIONS = [
    [0.3, -0.9, -0.6, 0.8],
    [-0.6, 0.8, -0.9, 0.15],
    [0.8, -0.5, -0.9, 0.5],
    [-0.95, 0.2, -0.4, -0.9],
    [0.95, 0.16, 0.2, -0.95],
]
HEADER = """\
# The teaching notebook's example: "me gusta estudiar inteligencia artificial".
# d_model = 4, d_k = d_v = 3, unscaled scores, hand-written positions.
# Embeddings and W_q, W_k, W_v are np.random.seed(23) draws in the notebook's order,
# stored at full precision. Regenerate with: python scripts/make_notebook_scenario.py
"""


def main() -> None:
    np.random.seed(23)
    embeddings = [np.random.randn(D_MODEL), np.random.randn(D_MODEL)]
    embeddings += [np.random.rand(D_MODEL) for _ in range(3)]
    w_q = np.random.randn(D_MODEL, D_K) * 0.1
    w_k = np.random.randn(D_MODEL, D_K) * 0.1
    w_v = np.random.randn(D_MODEL, D_V) * 0.1
    doc = {
        "tokens": TOKENS,
        "seed": 23,
        "d_model": D_MODEL,
        "d_k": D_K,
        "d_v": D_V,
        "d_ff": 5,
        "heads": 1,
        "scale": "none",
        "mask": "none",
        "weight_scale": 0.1,
        "embeddings": {"values": [row.tolist() for row in embeddings]},
        "positions": {"kind": "table", "values": POSITIONS},
        "weights": {"w_q": w_q.tolist(), "w_k": w_k.tolist(), "w_v": w_v.tolist()},
    }
    out = Path(__file__).resolve().parent.parent / "assets" / "scenarios" / "notebook.toml"
    out.write_text(HEADER + tomli_w.dumps(doc), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
