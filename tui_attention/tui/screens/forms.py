"""Typed input: a one-field prompt (`PromptScreen`) and your own sentence and sizes (`ScenarioForm`).

Every field is validated as you type; an invalid value shows an inline message
and changes nothing. Cancel with the Cancel button, ctrl+g, or escape.
"""

from __future__ import annotations


from typing import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui_attention.core.config import Config, ConfigError, brief_repr
from tui_attention.core.scenario import Overrides, build_config
from tui_attention.steps.budget import check_fits
from tui_attention.steps.labels import in_words
from tui_attention.i18n import N_, _
from tui_attention.tui.dismissed_once import DismissedOnce
from tui_attention.tui.widgets.render import plain

# (Overrides field, label, kind); the labels are translated where they are shown.
FORM_FIELDS = (
    ("sentence", N_("Sentence"), "text"),
    ("seed", N_("Seed"), "integer"),
    ("d_model", "d_model", "integer"),
    ("d_k", "d_k", "integer"),
    ("d_v", "d_v", "integer"),
    ("heads", N_("Heads"), "integer"),
)

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 70; max-width: 95%; height: auto; max-height: 95%; border: round $accent;
    background: $surface; padding: 0 1; }}
{name} .field {{ height: 1; margin: 0 0 1 0; }}
{name} .field Label {{ width: 10; padding: 0 1 0 0; }}
{name} Input {{ width: 1fr; height: 1; border: none; padding: 0 1; background: $boost; }}
{name} Input:focus {{ border: none; background: $primary 30%; }}
{name} .explain {{ margin: 0 0 1 0; color: $text-muted; }}
{name} .error {{ color: $error; height: auto; padding: 0 0 0 11; }}
{name} .buttons {{ height: auto; align-horizontal: right; }}
{name} .buttons Button {{ margin: 0 0 0 1; min-width: 10; }}
"""



class CheckedModal(DismissedOnce, ModalScreen):
    """A modal that checks what is typed: `check()` gives (result, None) or (None, an error
    line); the error shows under the fields as they change, and the OK button (or enter)
    closes with the result only when there is none. Cancel, escape or ctrl+g close with None.

    Subclasses compose their fields, a Static with classes "error" and the `buttons()`.

    It closes once: a second enter (a double tap, or a paste ending in a newline) can reach
    the modal before the first close has taken it off the screen stack, and its result must
    not be handed on twice. `dismiss_once` is the only way it closes; `DismissedOnce` keeps a
    dismissal of a modal no longer on top (the instructor moved the room) from popping the
    screen below it.
    """

    dismissed = False  # closed already: later submits and cancels are ignored

    def check(self):  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def buttons(self, ok: str) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button(ok, variant="primary", classes="ok")
            yield Button(_("Cancel"), classes="cancel")

    def on_mount(self) -> None:
        # A steady cursor: a blinking one redraws its cell twice a second while the learner thinks,
        # about 360 bytes a second to the terminal (over a slow link, to every attendee), and
        # would make screenshots flicker.
        for field in self.query(Input):
            field.cursor_blink = False

    def _show_error(self, error: str | None) -> None:
        self.query_one(".error", Static).update(Text(error or ""))

    def _keeps_error(self) -> bool:
        """Whether the error line shown stays as the fields change (see PromptScreen)."""
        return False

    @on(Input.Changed)
    def _changed(self) -> None:
        if not self._keeps_error():
            self._show_error(self.check()[1])

    def dismiss_once(self, result) -> None:
        """Dismiss with `result`, the first time only (and, `DismissedOnce`, only while on top)."""
        if self.dismissed or not self.is_current:
            return
        self.dismissed = True
        self.dismiss(result)

    @on(Input.Submitted)
    @on(Button.Pressed, ".ok")
    def _submit(self) -> None:
        if self.dismissed:
            return
        result, error = self.check()
        if error:
            self._show_error(error)
            return
        self.dismiss_once(result)

    @on(Button.Pressed, ".cancel")
    def action_cancel(self) -> None:
        self.dismiss_once(None)


class PromptScreen(CheckedModal):
    """One validated text field. `validate(text)` returns an error message or None."""

    AUTO_FOCUS = "#prompt-input"  # focused as the screen opens, so the first key typed is not lost
    # -low: a bar along the bottom (over the footer), its explanation inside the empty field and
    # no buttons (enter checks, escape closes): an answer is worked out from numbers on screen,
    # which the dialog in the middle covered.
    DEFAULT_CSS = MODAL_CSS.format(name="PromptScreen") + """
    PromptScreen.-low { align: left bottom; }
    PromptScreen.-low > Vertical { width: 100%; max-width: 100%; border: none; border-top: round $accent;
        border-title-align: left; }
    PromptScreen.-low .error { padding: 0; height: auto; }
    PromptScreen.-low .buttons { display: none; }
    """
    BINDINGS = [Binding("escape,ctrl+g", "cancel", _("Cancel"), id="prompt.cancel")]

    def __init__(self, title: str, value: str, validate: Callable[[str], str | None], explain: str = "",
                 error: str = "", low: bool = False) -> None:
        """error: why the last try with `value` failed (a write refused by the system), shown until
        the text changes. low: a bar along the bottom of the screen (class -low)."""
        super().__init__(classes="-low" if low else None)
        self.title_text, self.value, self.validate, self.explain, self.error = title, value, validate, explain, error
        self.low = low

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = plain(self.title_text)
            if self.explain and not self.low:
                yield Static(self.explain, classes="explain")
            yield Input(self.value, id="prompt-input", select_on_focus=True,
                        placeholder=self.explain if self.low else "")
            yield Static(Text(self.error), classes="error", id="prompt-error")
            yield from self.buttons(_("OK"))

    def _keeps_error(self) -> bool:
        # The text that failed: its reason stays until it is edited.
        return bool(self.error) and self.query_one(Input).value == self.value

    def check(self) -> tuple[str | None, str | None]:
        text = self.query_one(Input).value
        error = self.validate(text)
        return (None, error) if error else (text, None)


class ScenarioForm(CheckedModal):
    """Your own sentence, seed and sizes: a fresh generated scenario, as `trace --sentence ...` makes."""

    AUTO_FOCUS = "#form-sentence"
    DEFAULT_CSS = MODAL_CSS.format(name="ScenarioForm")
    BINDINGS = [Binding("escape,ctrl+g", "cancel", _("Cancel"), id="form.cancel")]

    def __init__(self, config: Config, scale: str, mask: str) -> None:
        super().__init__()
        self.config, self.scale, self.mask = config, scale, mask

    def compose(self) -> ComposeResult:
        c = self.config
        values = {"sentence": " ".join(c.tokens), "seed": c.seed, "d_model": c.d_model, "d_k": c.d_k,
                  "d_v": c.d_v, "heads": c.heads}
        with Vertical() as box:
            box.border_title = plain(_("Your own sentence and sizes (enter applies)"))
            yield Static(_("Seeded embeddings, sinusoidal positions and seeded weights, exactly as "
                           "`tui-attention trace --sentence ... --seed ...` computes them."), classes="explain")
            for key, label, _kind in FORM_FIELDS:
                with Horizontal(classes="field"):
                    yield Label(_(label))
                    yield Input(str(values[key]), id=f"form-{key}", select_on_focus=False)
            yield Static("", classes="error", id="form-error")
            yield from self.buttons(_("Apply"))

    def check(self) -> tuple[Overrides | None, str | None]:
        raw = {key: self.query_one(f"#form-{key}", Input).value.strip() for key, *_rest in FORM_FIELDS}
        values: dict = {"sentence": raw["sentence"]}
        for key, label, kind in FORM_FIELDS[1:]:
            try:
                values[key] = int(raw[key])
            except ValueError:
                return None, _("{field}: must be a whole number, got {text}").format(field=_(label),
                                                                                     text=brief_repr(raw[key]))
        overrides = Overrides(**values, scale=self.scale, mask=self.mask)
        try:
            check_fits(build_config(None, overrides), interactive=True)
        except ConfigError as exc:
            return None, in_words(str(exc))
        return overrides, None
