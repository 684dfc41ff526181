"""The SSH server's key files: its own host key, made on first start, and the instructor's
authorized_keys, read as a bounded regular file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import asyncssh

from tui_attention.infra.files import read_regular, write_atomic
from tui_attention.infra.paths import data_dir

log = logging.getLogger("tui_attention.serve")

HOST_KEY_NAME = "ssh_host_ed25519_key"
# A workshop's keys take a few hundred KB at most; the bound keeps /dev/zero out of memory.
MAX_AUTHORIZED_KEYS_BYTES = 4 * 1024 * 1024


def load_or_create_host_key(path: Path | None = None) -> tuple[asyncssh.SSHKey, Path, bool]:
    """The server's host key, generated on first start and kept with mode 0600.

    Returns (key, path, created).
    """
    path = path or data_dir() / HOST_KEY_NAME
    created = False
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519", comment="tui-attention host key")
        try:
            # Never replaces a key another server just wrote.
            write_atomic(path, key.export_private_key(), make_parents=True, exclusive=True)
            created = True
        except FileExistsError:
            pass
    if path.stat().st_mode & 0o077:
        log.warning("host key %s was readable by others; setting its mode to 0600", path)
        os.chmod(path, 0o600)
    try:
        key = asyncssh.read_private_key(str(path))
    except (OSError, asyncssh.KeyImportError) as exc:
        raise ValueError(f"cannot read the SSH host key {path}: {exc}") from None
    return key, path, created


def read_authorized_keys(path: str | Path) -> asyncssh.SSHAuthorizedKeys:
    """The keys of the authorized_keys file at `path`. It is read as a regular file of at most
    MAX_AUTHORIZED_KEYS_BYTES (`read_regular`): asyncssh's own reader would read /dev/zero until
    memory runs out and wait on a FIFO forever. Raises OSError (strerror is one line),
    ValueError (not UTF-8 text, or no key in it: a server nobody could log in to) or
    asyncssh.Error (not the format)."""
    data = read_regular(path, MAX_AUTHORIZED_KEYS_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not a text file (byte {exc.start} is not UTF-8); "
                         "an authorized_keys file has one public key per line") from None
    if not text.strip():
        # asyncssh refuses a file of comments ("No valid entries found") but takes an empty one.
        raise ValueError("it is empty; an authorized_keys file has one public key per line")
    return asyncssh.import_authorized_keys(text)
