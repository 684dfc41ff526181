"""Translation: every user-facing string goes through `_` (or `ngettext`), so a second
language is a catalogue, not a code change.

    from tui_attention.i18n import _, ngettext, N_
    _("Next word")                                   # translated now
    _("Query of {word}").format(word=word)           # placeholders, never f-strings
    ngettext("{n} word is hidden", "{n} words are hidden", n).format(n=n)
    N_("token embeddings")                           # marked here, translated where shown

Catalogues are looked up as `tui_attention/locale/<lang>/LC_MESSAGES/tui_attention.mo`
for the languages in LANGUAGE, LC_ALL, LC_MESSAGES and LANG (the standard
gettext rule); without one, the English source text is shown. The template is
extracted with:

    xgettext -L Python -k_ -kN_ -kngettext:1,2 --from-code=UTF-8 \\
        -o tui_attention/locale/tui_attention.pot $(git ls-files 'tui_attention/*.py')

Standard library only: every layer, the core included, may import this module.
"""

from __future__ import annotations

import gettext as _gettext
from pathlib import Path

DOMAIN = "tui_attention"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_translations: _gettext.NullTranslations = _gettext.translation(DOMAIN, LOCALE_DIR, fallback=True)


def install(translations: _gettext.NullTranslations | None = None) -> None:
    """Use `translations` from now on (None: the catalogue for the current locale, if any)."""
    global _translations
    _translations = translations or _gettext.translation(DOMAIN, LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    """The translation of `message` in the current language."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The translation of `singular` or `plural`, as `n` asks."""
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for translation without translating it yet (it is translated where shown)."""
    return message
