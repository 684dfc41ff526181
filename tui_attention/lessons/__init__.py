"""Lessons: Markdown pages with live numbers and predict-then-reveal questions.

    refs        the reference language ({{A[1,2]}}) evaluated against a Trace
    model       Lesson, Page, Question, ... (plain data)
    parser      lesson files: parse, validate, load
    answers     a page rendered from a trace, answers judged, one question's state
    progress    the learner's progress file
    controller  which lesson page is open and what it shows (no Textual)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Imported when first asked for (PEP 562), not with the package: the tutor's first screen
# imports `lessons.controller`, which needs none of them until a lesson opens.
_SUBMODULES = ("answers", "model", "parser", "refs")

__all__ = ["Choice", "Lesson", "LessonError", "Mistake", "Page", "Question", "QuestionSession", "RefError",
           "RenderedPage", "RenderedQuestion", "ScenarioSpec", "Verdict", "check_answer", "evaluate",
           "lessons_dir", "load_lessons", "parse_lesson", "render_page", "render_text", "validate_lesson"]

if TYPE_CHECKING:
    from .answers import QuestionSession, RenderedPage, RenderedQuestion, Verdict, check_answer, render_page
    from .model import Choice, Lesson, LessonError, Mistake, Page, Question, ScenarioSpec
    from .parser import lessons_dir, load_lessons, parse_lesson, validate_lesson
    from .refs import RefError, evaluate, render_text


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> object:
    if name in __all__:
        for submodule in _SUBMODULES:
            module = importlib.import_module(f".{submodule}", __name__)
            if name in vars(module):
                return vars(module)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
