"""Confine a served tutor with Linux Landlock: writes only beneath its own directory, no TCP.

The tutor has features that write files where the user says (save the
scenario, export). Served to a workshop, that user is an attendee and the
files would be the instructor's. Landlock (Linux 5.13+, unprivileged) lets the
child wrapper forbid, for itself and the tutor it becomes:

- creating, writing, truncating, renaming or removing anything outside the
  session's private directory (writing to /dev, e.g. /dev/null, stays allowed);
- TCP bind and connect (Landlock ABI 4+, Linux 6.7+);
- signalling processes outside the sandbox and connecting to abstract Unix
  sockets outside it (ABI 6+, Linux 6.12+).

Reading is not restricted (Python has to read its libraries). Processes and
descriptors opened before the restriction keep working (the terminal).

Pure standard library (ctypes); everything degrades to "not available" on
other systems or older kernels, which `abi()` reports.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys

_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# filesystem rights that change something (reading and executing are left alone)
_WRITE_FILE = 1 << 1
_REMOVE_DIR = 1 << 4
_REMOVE_FILE = 1 << 5
_MAKE_CHAR = 1 << 6
_MAKE_DIR = 1 << 7
_MAKE_REG = 1 << 8
_MAKE_SOCK = 1 << 9
_MAKE_FIFO = 1 << 10
_MAKE_BLOCK = 1 << 11
_MAKE_SYM = 1 << 12
_REFER = 1 << 13  # ABI 2
_TRUNCATE = 1 << 14  # ABI 3
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1


_L = ctypes.c_long  # syscall(2) takes every argument as a long


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable."""
    libc = _libc()
    if libc is None:
        return 0
    version = libc.syscall(_L(_SYS_CREATE_RULESET), None, _L(0), _L(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def confine(writable: str) -> int:
    """Restrict this process (and what it execs) as described above.

    Returns the ABI version used, or 0 if Landlock is unavailable (nothing done).
    Raises OSError if Landlock is available but the restriction fails.
    """
    version = abi()
    libc = _libc()
    if not version or libc is None:
        return 0
    fs = (
        _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE_CHAR | _MAKE_DIR | _MAKE_REG
        | _MAKE_SOCK | _MAKE_FIFO | _MAKE_BLOCK | _MAKE_SYM
    )  # fmt: skip
    if version >= 2:
        fs |= _REFER
    if version >= 3:
        fs |= _TRUNCATE
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if version >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if version >= 6 else 0
    if version >= 6:
        attr = struct.pack("QQQ", fs, net, scoped)
    elif version >= 4:
        attr = struct.pack("QQ", fs, net)
    else:
        attr = struct.pack("Q", fs)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(_L(_SYS_CREATE_RULESET), buf, _L(len(attr)), _L(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        _allow_beneath(libc, ruleset, writable, fs)
        dev_rights = _WRITE_FILE | (_TRUNCATE if version >= 3 else 0)
        _allow_beneath(libc, ruleset, "/dev", dev_rights)
        if libc.prctl(_L(_PR_SET_NO_NEW_PRIVS), _L(1), _L(0), _L(0), _L(0)) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_L(_SYS_RESTRICT_SELF), _L(ruleset), _L(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return version


def _allow_beneath(libc, ruleset: int, path: str, rights: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)  # packed struct
        if libc.syscall(_L(_SYS_ADD_RULE), _L(ruleset), _L(_RULE_PATH_BENEATH), rule, _L(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule({path}) failed")
    finally:
        os.close(fd)
