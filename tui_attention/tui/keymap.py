"""User key remapping: `$XDG_CONFIG_HOME/tui-attention/keymap.toml` maps binding ids to keys.

    "tutor.next_step" = "n,right,space"
    "tutor.toggle_view" = "v"

Every binding id is listed in the help screen (`?`). A bad file never stops the
tutor: it is ignored with one notice saying what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tui_attention.i18n import _
from tui_attention.infra.paths import config_dir


def keymap_path() -> Path:
    return config_dir() / "keymap.toml"


def load_keymap(known_ids: set[str], path: Path | None = None) -> tuple[dict[str, str], str | None]:
    """(binding id -> comma-separated keys, notice or None). Missing file: ({}, None)."""
    path = path or keymap_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, _("{path}: ignored, cannot read it ({why})").format(path=path, why=exc)
    keymap: dict[str, str] = {}
    for binding_id, keys in data.items():
        if binding_id not in known_ids:
            return {}, _("{path}: ignored, unknown binding id {id!r} (see the help screen, ?)").format(
                path=path, id=binding_id)
        if not isinstance(keys, str) or not keys.strip():
            return {}, _("{path}: ignored, {id} must be keys like {example}").format(
                path=path, id=binding_id, example='"n,right"')
        keymap[binding_id] = keys
    return keymap, None
