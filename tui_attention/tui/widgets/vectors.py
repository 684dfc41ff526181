"""The Vectors pane: the rows a step reads and writes (e_i, p_i, x_i, q_i, k_j, v_j), labelled with shapes."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from tui_attention.core.numbers import fmt
from textual.widgets import Static

from tui_attention.core.numbers import sub
from tui_attention.core.trace import Trace
from tui_attention.core.walkthrough import Step

from .render import window

# matrix name in a Step -> (symbol, where its rows live)
SYMBOLS = {"E": "e", "P": "p", "X": "x", "Q": "q", "K": "k", "V": "v", "Z": "z", "S": "s", "A": "α",
           "S_scaled": "s", "S_masked": "s"}


def suffix(trace: Trace, name: str) -> str:
    """s is the raw score; after scaling it is s/√d, after the mask s+M (masked cells -inf)."""
    c = trace.config
    if name == "S_scaled" and c.scale == "sqrt_dk":
        return "/√d"
    if name == "S_masked":
        return ("/√d" if c.scale == "sqrt_dk" else "") + ("+M" if c.mask == "causal" else "")
    return ""


def matrix_of(trace: Trace, name: str, step: Step):
    if name in ("E", "P", "X"):
        return getattr(trace, name)
    h = trace.heads[step.head]
    return {"Q": h.Q, "K": h.K, "V": h.V, "Z": h.output, "A": h.weights, "S": h.scores,
            "S_scaled": h.scaled, "S_masked": h.logits}.get(name)


class VectorsPane(Static):
    DEFAULT_CSS = """
    VectorsPane { border: round $primary; padding: 0 0 0 1; height: auto; }
    """

    def show(self, trace: Trace, step: Step, decimals: int) -> None:
        rows: list[tuple[str, str, np.ndarray, str]] = []  # (name, shape, vector, style)
        notes: list[str] = []
        # A whole-matrix read next to a whole-matrix write (x_j -> k_j) would double the rows; show the result.
        whole_write = any(c.row is None for c in step.writes)
        for role, refs in (("reads", step.reads), ("writes", step.writes)):
            for cell in refs:
                if role == "reads" and cell.row is None and whole_write:
                    continue
                m = matrix_of(trace, cell.matrix, step)
                if m is None or m.ndim != 2:
                    continue
                shown = [cell.row] if cell.row is not None else list(window(trace.n, step.word or 0))
                for r in shown:
                    style = "reverse" if role == "writes" else ("underline" if r == step.word and cell.row is None else "")
                    rows.append((f"{SYMBOLS[cell.matrix]}{sub(r + 1)}{suffix(trace, cell.matrix)}", f"1x{m.shape[1]}",
                                 m[r], style))
                if cell.row is None and len(shown) < trace.n:
                    notes.append(f"{SYMBOLS[cell.matrix]}: rows {shown[0] + 1}-{shown[-1] + 1} of {trace.n}")
        self.border_title = "Vectors"
        self.border_subtitle = "read · written (reversed)"
        if not rows:
            self.update(Text("no vectors in this step", style="dim"))
            return
        name_w = max(len(r[0]) for r in rows)
        shape_w = max(len(r[1]) for r in rows)
        num_w = max(len(fmt(x, decimals)) for r in rows for x in r[2])
        room = max(1, ((self.content_size.width or 38) - name_w - shape_w - 2 + 1) // (num_w + 1))
        text = Text(no_wrap=True, overflow="crop")
        widest = max(len(r[2]) for r in rows)
        if widest > room and widest > 8:
            notes.append(f"first {max(1, room - 1)} of up to {widest} columns shown")
        for k, (name, shape, vec, style) in enumerate(rows):
            shown = vec if len(vec) <= room else vec[: max(1, room - 1)]
            numbers = " ".join(fmt(x, decimals).rjust(num_w) for x in shown)
            if len(shown) < len(vec):
                numbers += " …"
            if k:
                text.append("\n")
            text.append(f"{name:<{name_w}} ", style="bold" if style else "")
            text.append(f"{shape:<{shape_w}} ", style="dim")
            text.append(numbers, style=style)
        for note in notes:
            text.append("\n" + note, style="dim italic")
        self.update(text)
