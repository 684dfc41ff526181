"""The lesson pages and questions an instructor's lead may name (`serve lead`, the dashboard),
checked against the lessons the tutors have, so that a lead to a page that does not exist is
refused in one line instead of being sent to the room."""

from __future__ import annotations

from typing import Sequence

from tui_attention.i18n import _

from .model import Lesson


def page_problem(lessons: Sequence[Lesson], lesson: int, page: int) -> str | None:
    """Why the room cannot be led to page `page` of lesson `lesson` (both 1-based), or None."""
    if not 1 <= lesson <= len(lessons):
        return _("there is no lesson {lesson}: the lessons are 1-{last}").format(lesson=lesson, last=len(lessons))
    pages = len(lessons[lesson - 1].pages)
    if not 1 <= page <= pages:
        return _("lesson {lesson} has pages 1-{last}, not {page}").format(lesson=lesson, last=pages, page=page)
    return None


def question_problem(lessons: Sequence[Lesson], question: str) -> str | None:
    """Why `question` ("05-softmax/2": a lesson's file name and its page) names no question, or None."""
    ids = [q.id for lesson in lessons for q in lesson.questions]
    if question in ids:
        return None
    return _("there is no question {question}: questions are named like {example}").format(
        question=question, example=ids[0] if ids else "05-softmax/2")
