"""The learner's progress: completed lessons, question scores and where they left off.

Pure Python (no Textual). Stored as JSON in
``$XDG_STATE_HOME/tui-attention/progress.json`` (``~/.local/state`` when the
variable is unset or not absolute)::

    {
      "version": 1,
      "completed": ["01-tokens-and-embeddings", "02-positional-encodings"],
      "last": {"lesson": "05-softmax", "page": 2},
      "questions": {
        "05-softmax/2": {"attempts": 2, "correct": true, "hints": 1, "revealed": false}
      }
    }

Lesson ids are the lesson file stems, question ids "<lesson id>/<page number>"
(see tui_attention.lessons); `last.page` is 0-based.

Reading never raises on a bad file: a file that is not valid JSON or has the
wrong shape is moved aside to ``progress.json.bak``, progress starts fresh and
`Progress.notice` says what happened (for the UI to show once). Writes are
atomic (a temporary file in the same directory, then os.replace); a failed
write raises OSError, which the caller shows and otherwise ignores.
`save_changed` writes only when the text differs from what was last read or
written: the tutor calls it on every page turn and answer, and a key held down
(a wrong answer, `[` on the first page) must not rewrite and fsync the file at
key-repeat rate.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_attention.core.config import brief_repr
from tui_attention.i18n import _
from tui_attention.infra.files import TooLargeError, read_regular, write_atomic
from tui_attention.infra.paths import state_dir

__all__ = ["QuestionScore", "Progress", "progress_path", "load_progress", "save_progress", "save_changed",
           "reset_progress"]

VERSION = 1
FILE_NAME = "progress.json"
MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass
class QuestionScore:
    attempts: int = 0  # answers given (right or wrong)
    correct: bool = False  # answered right at least once
    hints: int = 0  # most hints shown
    revealed: bool = False  # the worked answer was shown

    def to_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "correct": self.correct, "hints": self.hints, "revealed": self.revealed}


@dataclass
class Progress:
    completed: list[str] = field(default_factory=list)  # lesson ids, in the order completed
    last_lesson: str | None = None
    last_page: int = 0  # 0-based
    questions: dict[str, QuestionScore] = field(default_factory=dict)
    path: Path | None = None  # where it was loaded from / is saved to
    notice: str | None = None  # set when the file was unreadable or corrupt; not saved
    written: str | None = field(default=None, repr=False, compare=False)  # the text last read from or written to path

    # --- queries
    def is_completed(self, lesson_id: str) -> bool:
        return lesson_id in self.completed

    def count_completed(self, lesson_ids: list[str] | tuple[str, ...]) -> int:
        """How many of `lesson_ids` are completed (ids of lessons no longer shipped are ignored)."""
        return sum(1 for lid in lesson_ids if lid in self.completed)

    def score(self, question_id: str) -> QuestionScore:
        """The score of a question (a fresh zero score if never tried; not stored until changed)."""
        return self.questions.get(question_id, QuestionScore())

    # --- updates (in memory; call save_progress to write)
    def mark_completed(self, lesson_id: str) -> None:
        if lesson_id not in self.completed:
            self.completed.append(lesson_id)

    def set_position(self, lesson_id: str, page: int) -> None:
        """Where the learner is: lesson id and 0-based page."""
        self.last_lesson = lesson_id
        self.last_page = max(0, int(page))

    def clear_position(self) -> None:
        """Nowhere to resume: every lesson is behind the learner."""
        self.last_lesson, self.last_page = None, 0

    def _entry(self, question_id: str) -> QuestionScore:
        return self.questions.setdefault(question_id, QuestionScore())

    def record_answer(self, question_id: str, correct: bool) -> QuestionScore:
        """Count one answer; `correct` stays True once the question was answered right."""
        entry = self._entry(question_id)
        entry.attempts += 1
        entry.correct = entry.correct or bool(correct)
        return entry

    def record_hints(self, question_id: str, hints_used: int) -> QuestionScore:
        """Remember how many hints were shown (the most ever shown for this question)."""
        entry = self._entry(question_id)
        entry.hints = max(entry.hints, int(hints_used))
        return entry

    def record_reveal(self, question_id: str) -> QuestionScore:
        entry = self._entry(question_id)
        entry.revealed = True
        return entry

    def to_dict(self) -> dict[str, Any]:
        last = None if self.last_lesson is None else {"lesson": self.last_lesson, "page": self.last_page}
        return {
            "version": VERSION,
            "completed": list(self.completed),
            "last": last,
            "questions": {qid: s.to_dict() for qid, s in sorted(self.questions.items())},
        }


class _Corrupt(ValueError):
    pass


def progress_path() -> Path:
    """$XDG_STATE_HOME/tui-attention/progress.json (see `tui_attention.infra.paths`)."""
    return state_dir() / FILE_NAME


MAX_COUNT = 2**31 - 1  # attempts, hints, a page: far below the digits json.dumps refuses to write


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise _Corrupt(_("{what} must be a whole number from 0 to {limit}, got {value}").format(
            what=what, limit=MAX_COUNT, value=brief_repr(value)))
    return value


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise _Corrupt(_("{what} must be true or false, got {value}").format(what=what, value=brief_repr(value)))
    return value


def _from_dict(data: Any) -> Progress:
    if not isinstance(data, dict):
        raise _Corrupt(_("the top level is not an object"))
    version = data.get("version")
    if version != VERSION:
        raise _Corrupt(_("unknown version {version}").format(version=brief_repr(version)))
    completed = data.get("completed", [])
    if not isinstance(completed, list) or not all(isinstance(x, str) for x in completed):
        raise _Corrupt(_("completed must be a list of lesson ids"))
    last = data.get("last")
    last_lesson, last_page = None, 0
    if last is not None:
        if not isinstance(last, dict) or not isinstance(last.get("lesson"), str):
            raise _Corrupt(_("last must be {shape}").format(shape='{"lesson": id, "page": n}'))
        last_lesson, last_page = last["lesson"], _int(last.get("page", 0), "last.page")
    raw = data.get("questions", {})
    if not isinstance(raw, dict):
        raise _Corrupt(_("questions must be an object"))
    questions = {}
    for qid, entry in raw.items():
        if not isinstance(entry, dict):
            raise _Corrupt(_("questions[{id}] must be an object").format(id=brief_repr(qid)))
        questions[qid] = QuestionScore(
            attempts=_int(entry.get("attempts", 0), f"{qid}.attempts"),
            correct=_bool(entry.get("correct", False), f"{qid}.correct"),
            hints=_int(entry.get("hints", 0), f"{qid}.hints"),
            revealed=_bool(entry.get("revealed", False), f"{qid}.revealed"),
        )
    return Progress(list(dict.fromkeys(completed)), last_lesson, last_page, questions)


def _move_aside(path: Path) -> Path | None:
    backup = path.with_name(path.name + ".bak")
    try:
        os.replace(path, backup)
        return backup
    except OSError:
        return None


def load_progress(path: str | Path | None = None) -> Progress:
    """Read progress; never raises on a missing, unreadable or corrupt file.

    Missing: fresh progress, no notice. Unreadable (permissions, a directory):
    fresh progress and a notice; the file is left alone. Corrupt (not JSON, not
    UTF-8, wrong types, too large): moved to progress.json.bak, fresh progress
    and a notice.
    """
    path = Path(path) if path is not None else progress_path()
    fresh = Progress(path=path)
    try:
        raw = read_regular(path, MAX_FILE_BYTES)  # a FIFO or a device is refused, never waited on
    except FileNotFoundError:
        return fresh
    except TooLargeError:
        return _corrupt(path, _("larger than {limit} MiB").format(limit=MAX_FILE_BYTES // 2**20))
    except OSError as exc:
        fresh.notice = _("Could not read your progress ({path}: {why}); starting fresh for this session.").format(
            path=path, why=exc.strerror or exc)
        return fresh
    try:
        progress = _from_dict(json.loads(raw.decode("utf-8")))
    except UnicodeDecodeError:
        return _corrupt(path, _("not UTF-8 text"))
    except json.JSONDecodeError as exc:
        # json's "Invalid control character at" expects the position after it: said once, here.
        why = exc.msg.removesuffix(" at")
        return _corrupt(path, _("not valid JSON ({why} at line {line})").format(why=why, line=exc.lineno))
    except _Corrupt as exc:
        return _corrupt(path, str(exc))
    except RecursionError:  # the json module recurses once per level of [ or {
        return _corrupt(path, _("arrays or objects nested too deeply"))
    except ValueError:  # int() refuses a number of more than 4300 digits
        return _corrupt(path, _("a number with too many digits"))
    text = _text(progress)
    try:
        # JSON's "\ud800" escapes give lone surrogates, which no UTF-8 file can hold: refused
        # here, or the next save would raise UnicodeEncodeError.
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _corrupt(path, _("text with a lone surrogate, which is not Unicode"))
    progress.path = path
    progress.written = text
    return progress


def _corrupt(path: Path, why: str) -> Progress:
    backup = _move_aside(path)
    if backup:
        notice = _("Your progress file {path} was damaged ({why}); it was moved to {backup} and progress starts "
                   "fresh.").format(path=path, why=why, backup=backup)
    else:
        notice = _("Your progress file {path} was damaged ({why}); it could not be moved aside and progress starts "
                   "fresh.").format(path=path, why=why)
    return Progress(path=path, notice=notice)


def save_progress(progress: Progress, path: str | Path | None = None) -> Path:
    """Write atomically: a temporary file in the same directory, then os.replace.

    Creates the directory if needed. Raises OSError if it cannot write; no
    temporary file is left behind either way.
    """
    path = Path(path) if path is not None else (progress.path or progress_path())
    text = _text(progress)
    write_atomic(path, text, make_parents=True)
    progress.path, progress.written = path, text
    return path


def save_changed(progress: Progress) -> bool:
    """`save_progress` to the progress's own path, only if the text would differ from what was
    last read from or written to it; True if it wrote. Raises OSError if it cannot write."""
    if progress.path is not None and progress.written == _text(progress):
        return False
    save_progress(progress)
    return True


def _text(progress: Progress) -> str:
    return json.dumps(progress.to_dict(), ensure_ascii=False, indent=2) + "\n"


def reset_progress(path: str | Path | None = None) -> Progress:
    """Forget everything (the UI asks for confirmation first): remove the file and
    return fresh progress. Raises OSError if the file exists but cannot be removed."""
    path = Path(path) if path is not None else progress_path()
    path.unlink(missing_ok=True)
    return Progress(path=path)
