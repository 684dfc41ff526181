"""The address a web server tells browsers to use (`serve web --public-url`, `TutorWebServer`'s
public_url): one rule, checked by the command line and by the server itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tui_attention.i18n import _
from tui_attention.infra.typed_paths import has_control


def public_url_problem(text: Any) -> str | None:
    """None if `text` is an http or https address with a host (and a port, if any, that is a
    number up to 65535), with no query or fragment (textual-serve appends its own paths to it)
    and no control character or whitespace; else why not, in one line."""
    fits = False
    if isinstance(text, str) and not has_control(text) and not any(ch.isspace() for ch in text):
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number up to 65535
            fits = (parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and not parts.query
                    and not parts.fragment)
        except ValueError:  # a port that is not a number, a broken [IPv6] address
            pass
    if fits:
        return None
    return _("must be an http:// or https:// address such as https://tutor.example.org, got {text!r}").format(
        text=text)
