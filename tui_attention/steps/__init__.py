"""The step layer: a Trace turned into Steps, each with its narration and every presentation
decision, and the tutor's state that moves through them. NumPy and the core below; no Textual."""

from .matrix import matrix_steps
from .step import MATRIX_STEP_KINDS, WORD_STEP_KINDS, Cell, Step, matrix_step_kinds
from .word import word_step, word_steps

__all__ = ["Cell", "MATRIX_STEP_KINDS", "Step", "WORD_STEP_KINDS", "matrix_step_kinds", "matrix_steps",
           "word_step", "word_steps"]
