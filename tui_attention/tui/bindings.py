"""Every key of the tutor, as data: one row per binding with its id, keys, action, description
and whether the footer shows it.

The id is what a keymap file (`~/.config/tui-attention/keymap.toml`) remaps;
the help screen and the command palette list these rows. `TUTOR_KEYS` belong to
the tutor's screen; `GLOBAL_KEYS` work on every screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from textual.binding import Binding

from tui_attention.i18n import _


@dataclass(frozen=True)
class Key:
    id: str
    keys: str  # comma-separated Textual key names
    action: str  # state('method', args): call that TutorState method, then redraw
    description: str
    footer: bool = False
    short: str = ""  # the footer's label, where the description would not fit beside the others

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.short or self.description, show=self.footer, id=self.id,
                       tooltip=self.description)


TUTOR_KEYS: tuple[Key, ...] = (
    Key("tutor.next_step", "n,right,l", "state('move_step', 1)", _("Next"), footer=True),
    Key("tutor.prev_step", "p,left,h", "state('move_step', -1)", _("Prev"), footer=True),
    Key("tutor.first_step", "home", "state('first_step')", _("First step")),
    Key("tutor.last_step", "end", "state('last_step')", _("Last step")),
    Key("tutor.next_word", "j,down", "state('move_word', 1)", _("Next word"), footer=True),
    Key("tutor.prev_word", "k,up", "state('move_word', -1)", _("Prev word")),
    Key("tutor.toggle_view", "m", "toggle_view", _("Matrix"), footer=True),
    Key("tutor.toggle_scale", "s", "toggle_scale", _("Scale")),
    Key("tutor.toggle_mask", "c", "toggle_mask", _("Mask")),
    Key("tutor.cycle_weight_scale", "w", "cycle_weight_scale", _("Weights x")),
    Key("tutor.cycle_heads", "H", "cycle_heads", _("Heads 1/2/4")),
    Key("tutor.cycle_head_shown", "t", "cycle_head_shown", _("Next head shown")),
    Key("tutor.toggle_all_heads", "g", "toggle_all_heads", _("All heads' A side by side")),
    Key("tutor.more_decimals", "plus,equals_sign", "state('change_decimals', 1)", _("More decimals")),
    Key("tutor.fewer_decimals", "minus", "state('change_decimals', -1)", _("Fewer decimals")),
    Key("tutor.page_down", "pagedown", "scroll_page(1)", _("Scroll down")),
    Key("tutor.page_up", "pageup", "scroll_page(-1)", _("Scroll up")),
    Key("tutor.edit_scenario", "e", "edit_scenario", _("Your sentence")),
    Key("tutor.default_scenario", "0", "default_scenario", _("Back to the notebook scenario")),
    Key("tutor.save", "ctrl+s", "save", _("Save scenario")),
    Key("tutor.export", "x", "export", _("Export")),
    Key("tutor.lessons", "L", "lessons", _("Lessons"), footer=True),
    Key("tutor.learn", "T", "learn", _("Watch attention learn (train a head)")),
    Key("lesson.next_page", "right_square_bracket", "page(1)", _("Next lesson page")),
    Key("lesson.scroll_down", "right_curly_bracket", "scroll_lesson(1)", _("Scroll the lesson down")),
    Key("lesson.scroll_up", "left_curly_bracket", "scroll_lesson(-1)", _("Scroll the lesson up")),
    Key("lesson.prev_page", "left_square_bracket", "page(-1)", _("Previous lesson page")),
    *(Key(f"lesson.choose_{k}", str(k), f"choose({k})", _("Answer choice {k}").format(k=k)) for k in range(1, 10)),
    Key("lesson.answer", "a", "answer", _("Type an answer")),
    Key("lesson.hint", "i", "hint", _("Hint, then the worked answer")),
    Key("tutor.unfocus", "escape,full_stop", "back", _("Leave the matrix grid, then the lesson")),
)

# The learn view's own keys (screens/learn.py), on a screen of their own: space, ., + and -
# mean other things there than on the tutor's screen, so they stay out of every_key() (one
# namespace for the keymap file) and show in the learn view's footer and command palette.
LEARN_KEYS: tuple[Key, ...] = (
    # The way back first: the footer shows its keys in this order, and at 80 or 120 columns
    # it cuts off the last ones.
    Key("learn.close", "escape,ctrl+g,T", "close", _("Back to the tutor"), footer=True, short=_("Back")),
    Key("learn.play", "space", "play", _("Play / pause training"), footer=True, short=_("Play/pause")),
    Key("learn.step", "full_stop", "step_once", _("One training step"), footer=True, short=_("Step")),
    Key("learn.faster", "plus,equals_sign", "speed(1)", _("Train faster")),
    Key("learn.slower", "minus", "speed(-1)", _("Train slower")),
    Key("learn.next_stage", "right,l,n", "stage(1)", _("Next gradient equation"), footer=True, short=_("Next")),
    Key("learn.prev_stage", "left,h,p", "stage(-1)", _("Previous gradient equation")),
    *(Key(f"learn.task_{k + 1}", str(k + 1), f"task('{t}')", _("Task: {task}").format(task=t))
      for k, t in enumerate(("reverse", "previous", "first"))),
    Key("learn.reset", "r", "reset", _("Reset training to step 0"), footer=True, short=_("Reset")),
    Key("learn.use", "u", "use", _("Use these weights in the tutor"), footer=True, short=_("Use weights")),
)

GLOBAL_KEYS: tuple[Key, ...] = (
    Key("tutor.help", "question_mark,f1", "help", _("Help"), footer=True),
    Key("tutor.quit", "q", "quit", _("Quit"), footer=True),
    # Only does something when a workshop server's instructor leads the room (tui/reporting.py).
    Key("tutor.leave_follow", "f", "leave_follow", _("Leave follow mode (when the instructor leads)")),
)

PALETTE_KEY = Key("app.command_palette", "ctrl+p", "command_palette", _("Command palette (every action)"))


def bindings(keys: tuple[Key, ...]) -> list[Binding]:
    return [k.binding() for k in keys]


def every_key() -> tuple[Key, ...]:
    """The tutor's keys, then the global ones, then the command palette: what help lists."""
    return (*TUTOR_KEYS, *GLOBAL_KEYS, PALETTE_KEY)


MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})


@lru_cache(maxsize=1)
def _key_names() -> frozenset[str]:
    from textual.keys import Keys, _character_to_key

    # Textual names a key by what its driver sends: its named keys, and one name per printable
    # character ("." is "full_stop", "+" is "plus", "a" is "a").
    return frozenset({k.value for k in Keys} | {_character_to_key(chr(c)) for c in range(32, 127)})


def is_key_name(name: str) -> bool:
    """Whether `name` ("right", "full_stop", "ctrl+s", "a") is a key a terminal can send, as
    Textual names it; a binding or a --press to any other name never fires."""
    *modifiers, base = name.strip().split("+")
    return bool(base) and set(modifiers) <= MODIFIERS and (len(base) == 1 or base in _key_names())
