"""User key remapping: `$XDG_CONFIG_HOME/tui-attention/keymap.toml` maps binding ids to keys.

    "tutor.next_step" = "n,right,space"
    "tutor.toggle_view" = "v"

Every binding id is listed in the help screen (`?`). A bad file never stops the
tutor: it is ignored with one notice saying what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

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
        return {}, f"{path}: ignored, cannot read it ({exc})"
    keymap: dict[str, str] = {}
    for binding_id, keys in data.items():
        if binding_id not in known_ids:
            return {}, f"{path}: ignored, unknown binding id {binding_id!r} (see the help screen, ?)"
        if not isinstance(keys, str) or not keys.strip():
            return {}, f"{path}: ignored, {binding_id} must be keys like \"n,right\""
        keymap[binding_id] = keys
    return keymap, None
