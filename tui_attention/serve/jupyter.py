"""The tutor in Jupyter's launcher: the `jupyter-server-proxy` entry point (extra `[jupyter]`).

jupyter-server-proxy calls `server_process()` once when the Jupyter server starts (entry
point group `jupyter_serverproxy_servers`, name `tui-attention`). The launcher then shows a
"tui-attention" tile; opening it, or `<base_url>tui-attention/`, starts one
`tui-attention serve web` for that Jupyter user on 127.0.0.1 and a free port, and the
Jupyter server proxies the page, its files and the websocket to it, behind its own
authentication (token, password or JupyterHub's OAuth).

How the tutor's server knows a request came through that Jupyter server and no one else
(any local account can reach a port on 127.0.0.1): a random secret made here is handed to
`serve web` in its environment (never on its command line, which `ps` shows) and added by
the proxy to every request it forwards (`request_headers_override`). `serve web
--behind-jupyter` refuses every request without it. With it, the Host header is the
Jupyter server's own (the proxy forwards the browser's), so the DNS-rebinding check is
the Jupyter server's, and the websocket's Origin must still be that host: a cross-site page
is refused by both servers. The page's URLs are relative, so it works under any prefix.

This module imports nothing beyond the standard library: the Jupyter server loads it.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from pathlib import Path
from typing import Any

from tui_attention.serve.budget import MAX_MB

NAME = "tui-attention"
PROXY_SECRET_ENV = "TUI_ATTENTION_PROXY_SECRET"  # the secret, in serve web's environment
PROXY_SECRET_HEADER = "X-Tui-Attention-Proxy"  # the secret, on every proxied request
MIN_SECRET_CHARS = 32
EXTRA_ARGS_ENV = "TUI_ATTENTION_SERVE_ARGS"  # e.g. "--lesson 1" or "--scenario /srv/room.toml"
ICON = Path(__file__).resolve().parent / "web_page" / "static" / "launcher-icon.svg"
START_TIMEOUT = 60.0  # seconds for serve web to answer; it starts in about 2 s, a busy node is slower
# One person's server: a few tabs at most (each tab is a tutor of ~60 MB resident).
MAX_TABS = 4
BUDGET_SHARE = 0.75  # of the container's memory limit, as serve's default takes of the machine's
CGROUP_MEMORY_MAX = Path("/sys/fs/cgroup/memory.max")


def container_memory_mb(environ: dict[str, str] | None = None, cgroup_file: Path = CGROUP_MEMORY_MAX) -> int | None:
    """The memory limit this Jupyter server runs under, in MB: `MEM_LIMIT` (bytes; KubeSpawner
    and DockerSpawner set it from the user's mem_limit), else the cgroup v2 `memory.max`; None
    if neither gives a number ("max" means no limit)."""
    environ = os.environ if environ is None else environ
    for text in (environ.get("MEM_LIMIT", ""), _read(cgroup_file)):
        text = text.strip()
        if text.isdigit() and int(text) > 0:
            return int(text) // (1024 * 1024)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return ""


def serve_command(environ: dict[str, str] | None = None, cgroup_file: Path = CGROUP_MEMORY_MAX) -> list[str]:
    """`python -P -m tui_attention serve web --behind-jupyter ...` for jupyter-server-proxy, with
    `{port}` for the port it picks. The same Python as the Jupyter server's, which found this
    entry point, so the same installed tutor, whatever PATH says (`-P`: not a `tui_attention`
    folder in the notebook directory).

    `--unconfined`: the only person who reaches this server is the Jupyter user, who can already
    run any program as this account from a notebook or terminal; where Landlock works the
    tutors stay confined all the same (serve changes nothing then), and where a container
    blocks it the tutor still starts instead of failing in the launcher.
    """
    environ = os.environ if environ is None else environ
    command = [
        _literal(sys.executable), "-P", "-m", "tui_attention", "serve", "web", "--behind-jupyter",
        "--host", "127.0.0.1", "--port", "{port}",
        "--max-sessions", str(MAX_TABS), "--max-per-address", str(MAX_TABS), "--unconfined",
    ]  # fmt: skip
    limit = container_memory_mb(environ, cgroup_file)
    if limit is not None:  # the machine's MemTotal would be the node's, not this container's
        # Within serve's bounds: a container's limit can be larger than any budget serve takes.
        command += ["--memory-budget", str(min(MAX_MB, max(64, int(limit * BUDGET_SHARE))))]
    # The instructor's scenario or lesson for everyone (singleuser.extraEnv in Zero to JupyterHub).
    return command + [_literal(word) for word in shlex.split(environ.get(EXTRA_ARGS_ENV, ""))]


def _literal(word: str) -> str:
    """`word` as itself through jupyter-server-proxy, which fills `{port}` with str.format."""
    return word.replace("{", "{{").replace("}", "}}")


def server_process() -> dict[str, Any]:
    """The server-process dict jupyter-server-proxy reads (see its `ServerProcess`)."""
    secret = secrets.token_urlsafe(MIN_SECRET_CHARS)  # 43 characters of [A-Za-z0-9_-]: no template braces
    return {
        "command": serve_command(),
        "environment": {PROXY_SECRET_ENV: secret},
        "request_headers_override": {PROXY_SECRET_HEADER: secret},
        "timeout": START_TIMEOUT,
        "absolute_url": False,  # serve web sees "/", "/ws", "/static/...": the prefix is stripped
        "new_browser_tab": True,  # the page forbids framing (frame-ancestors 'none')
        "launcher_entry": {"title": NAME, "icon_path": str(ICON)},
    }
