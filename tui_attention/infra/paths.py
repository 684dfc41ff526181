"""The user's folders for the tutor, by the platform's rules (XDG on Linux), via platformdirs.

    config_dir()  keymap.toml          $XDG_CONFIG_HOME/tui-attention  (~/.config/tui-attention)
    state_dir()   progress.json        $XDG_STATE_HOME/tui-attention   (~/.local/state/tui-attention)
    data_dir()    the SSH host key     $XDG_DATA_HOME/tui-attention    (~/.local/share/tui-attention)

A relative XDG_* variable is ignored, as the XDG specification asks. Nothing
is created here; writers create what they need.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "tui-attention"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
