"""User key remapping: `$XDG_CONFIG_HOME/tui-attention/keymap.toml` maps binding ids to keys.

    "tutor.next_step" = "n,right,space"
    "tutor.toggle_view" = "v"

Every binding id is listed in the help screen (`?`). A bad file never stops the
tutor: it is ignored with one notice saying what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.keys import _normalize_key_list

from tui_attention.i18n import _
from tui_attention.infra.files import read_regular
from tui_attention.infra.paths import config_dir
from tui_attention.tui.bindings import is_key_name


def keymap_path() -> Path:
    return config_dir() / "keymap.toml"


def clash(defaults: dict[str, str], keymap: dict[str, str]) -> tuple[str, str, str] | None:
    """(key, id, other id) when the keymap would give one key to two bindings, else None.

    defaults: every binding id -> its keys; the keymap replaces the keys of the ids it names.
    """
    owner: dict[str, str] = {}
    for binding_id, keys in {**defaults, **keymap}.items():
        for key in _normalize_key_list(keys).split(","):
            if key in owner and owner[key] != binding_id:
                return key, owner[key], binding_id
            owner[key] = binding_id
    return None


MAX_KEYMAP_BYTES = 1 << 20  # a keymap names a few dozen bindings


def load_keymap(defaults: dict[str, str], path: Path | None = None) -> tuple[dict[str, str], str | None]:
    """(binding id -> comma-separated keys, notice or None). Missing file: ({}, None).

    defaults: every binding id -> its keys. A file naming an unknown id, or giving one key to
    two bindings, is ignored whole, with one line saying why."""
    known_ids = set(defaults)
    path = path or keymap_path()
    try:
        data = tomllib.loads(read_regular(path, MAX_KEYMAP_BYTES).decode("utf-8-sig"))
    except FileNotFoundError:
        return {}, None
    except OSError as exc:  # a folder, a FIFO (never waited on), a device, too large, unreadable
        return {}, _("{path}: ignored, cannot read it ({why})").format(path=path, why=exc.strerror or exc)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, _("{path}: ignored, cannot read it ({why})").format(path=path, why=exc)
    except RecursionError:  # tomllib recurses once per level of [ or {
        return {}, _("{path}: ignored, cannot read it ({why})").format(
            path=path, why=_("arrays or tables nested too deeply"))
    except ValueError:  # int() refuses a decimal integer of more than 4300 digits
        return {}, _("{path}: ignored, cannot read it ({why})").format(
            path=path, why=_("an integer with too many digits"))
    keymap: dict[str, str] = {}
    for binding_id, keys in data.items():
        if binding_id not in known_ids:
            return {}, _("{path}: ignored, unknown binding id {id!r} (see the help screen, ?)").format(
                path=path, id=binding_id)
        if not isinstance(keys, str) or not keys.strip():
            return {}, _("{path}: ignored, {id} must be keys like {example}").format(
                path=path, id=binding_id, example='"n,right"')
        unknown = next((key for key in keys.split(",") if not is_key_name(key)), None)
        if unknown is not None:
            return {}, _("{path}: ignored, {key!r} ({id}) is not a key name; Textual's names are like {example}").format(
                path=path, key=unknown.strip(), id=binding_id, example='"right", "full_stop", "ctrl+s", "a"')
        keymap[binding_id] = keys
    both = clash(defaults, keymap)
    if both:
        key, first, second = both
        return {}, _("{path}: ignored, key {key!r} would be both {first} and {second}").format(
            path=path, key=key, first=first, second=second)
    return keymap, None
