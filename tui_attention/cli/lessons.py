"""`tui-attention lessons`: the lesson list, what is done, and where the learner left off."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from tui_attention.core.config import ConfigError
from tui_attention.i18n import _, ngettext

from .options import UsageError

if TYPE_CHECKING:
    from tui_attention.lessons import Lesson
    from tui_attention.lessons.progress import Progress

DONE, TODO = "✓", " "


def _marks(stream: TextIO) -> tuple[str, str]:
    """✓ where the terminal can print it, else x."""
    try:
        DONE.encode(stream.encoding or "ascii")
        return DONE, TODO
    except (UnicodeEncodeError, LookupError):
        return "x", TODO


def format_lessons(lessons: list[Lesson], progress: Progress, done_mark: str = DONE) -> str:
    """The text printed by `tui-attention lessons` (also usable by a UI)."""
    ids = [lesson.id for lesson in lessons]
    done = progress.count_completed(ids)
    width = len(str(len(lessons)))
    lines = [_("Lessons: {done} / {total} completed").format(done=done, total=len(lessons)), ""]
    for lesson in lessons:
        mark = done_mark if progress.is_completed(lesson.id) else TODO
        # "pages" in both forms keeps the English as it was; a catalogue gives each form its own.
        pages = ngettext("{count} pages", "{count} pages", len(lesson.pages)).format(count=len(lesson.pages))
        lines.append(f"  [{mark}] {lesson.number:>{width}}. {lesson.title}  ({pages})")
    lines.append("")
    by_id = {lesson.id: lesson for lesson in lessons}
    last = by_id.get(progress.last_lesson or "")
    if last is not None:
        page = min(progress.last_page, len(last.pages) - 1)
        lines.append(_("Next: lesson {number}, \"{title}\", page {page} of {pages}.").format(
            number=last.number, title=last.title, page=page + 1, pages=len(last.pages)))
        lines.append(_("Continue with: {command}").format(command=f"tui-attention --lesson {last.number}"))
    else:
        first = next((lesson for lesson in lessons if not progress.is_completed(lesson.id)), None)
        if first is not None:
            lines.append(_("Start with: {command}").format(command=f"tui-attention --lesson {first.number}"))
        else:
            lines.append(_("All lessons completed."))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from tui_attention.lessons import LessonError, load_lessons
    from tui_attention.lessons.progress import load_progress, progress_path, reset_progress

    try:
        lessons = load_lessons()
    except LessonError as exc:
        raise ConfigError(str(exc)) from None
    path = progress_path()
    if args.yes and not args.reset:  # --yes alone would read as "reset without asking" and do nothing
        raise UsageError(_("tui-attention lessons: --yes only goes with --reset"))
    if args.reset:
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError(_("tui-attention lessons: --reset needs --yes when not run from a terminal"))
            # The answer is read as y or yes in every language, as the [y/N] in the question says.
            answer = input(_("Forget all progress in {path}? [y/N]").format(path=path) + " ").strip().lower()
            if answer not in ("y", "yes"):
                print(_("Nothing changed."))
                return 0
        try:
            reset_progress(path)
        except OSError as exc:
            raise UsageError(_("tui-attention lessons: cannot remove {path}: {why}").format(
                path=path, why=exc.strerror or exc)) from None
        print(_("Progress reset."))
    progress = load_progress(path)
    if progress.notice:
        print(progress.notice, file=sys.stderr)
    done_mark = _marks(sys.stdout)[0]
    sys.stdout.write(format_lessons(lessons, progress, done_mark))
    return 0


def register(subparsers: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "lessons",
        help=_("list the lessons and your progress"),
        description=_("List the lessons with a check mark for completed ones, overall progress and where you left "
                      "off. Progress lives in $XDG_STATE_HOME/tui-attention/progress.json (default ~/.local/state)."),
    )
    p.add_argument("--reset", action="store_true", help=_("forget all progress (asks first)"))
    p.add_argument("--yes", action="store_true", help=_("with --reset: do not ask"))
    p.set_defaults(func=run)
