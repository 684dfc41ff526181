"""Lessons: Markdown pages with live numbers and predict-then-reveal questions.

    refs        the reference language ({{A[1,2]}}) evaluated against a Trace
    model       Lesson, Page, Question, ... (plain data)
    parser      lesson files: parse, validate, load
    answers     a page rendered from a trace, answers judged, one question's state
    progress    the learner's progress file
    controller  which lesson page is open and what it shows (no Textual)
"""

from .answers import QuestionSession, RenderedPage, RenderedQuestion, Verdict, check_answer, render_page
from .model import Choice, Lesson, LessonError, Mistake, Page, Question, ScenarioSpec
from .parser import lessons_dir, load_lessons, parse_lesson, validate_lesson
from .refs import RefError, evaluate, render_text

__all__ = ["Choice", "Lesson", "LessonError", "Mistake", "Page", "Question", "QuestionSession", "RefError",
           "RenderedPage", "RenderedQuestion", "ScenarioSpec", "Verdict", "check_answer", "evaluate",
           "lessons_dir", "load_lessons", "parse_lesson", "render_page", "render_text", "validate_lesson"]
