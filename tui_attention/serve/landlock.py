"""Confine a served tutor with Linux Landlock: what it may read, write and execute, no TCP.

The tutor has features that write files where the user says (save the
scenario, export) and read files the user names. Served to a workshop, that
user is an attendee and the files would be the instructor's (the SSH host
key, say). Landlock (Linux 5.13+, unprivileged) lets the child wrapper
restrict, for itself and the tutor it becomes:

- reading files and listing directories to the allow-list of `allow_list()`:
  the Python installation, the tutor's own package and assets, shared
  libraries, the few /etc and /usr/share files Python and the C library read,
  /sys/devices/system/cpu, the instructor's tui-attention configuration
  folder (read-only: the keymap) and the session's own directory;
- executing to the program the wrapper starts and its ELF interpreter;
- creating, writing, truncating, renaming or removing anything to the
  session's own directory (plus writing to /dev/null, /dev/zero,
  /dev/urandom and the tutor's own terminal, /dev/tty);
- TCP bind and connect (Landlock ABI 4+, Linux 6.7+);
- signalling processes outside the sandbox and connecting to abstract Unix
  sockets outside it (ABI 6+, Linux 6.12+).

Rules are attached to inodes: a rule on a symbolic link's name covers its
target, and a directory's rule does not cover files its links point to
outside it (hence /etc/locale.alias next to /usr/share/locale). stat,
access and readlink are not restricted. Descriptors opened before the
restriction keep working (the terminal on 0-2), and another attendee's
terminal (/dev/pts/N) cannot be opened.

`TUI_ATTENTION_LANDLOCK=off` in the environment switches Landlock off (for
tests and for kernels that misbehave): `abi()` then reports 0 and
`confine()` does nothing.

Pure standard library (ctypes); everything degrades to "not available" on
other systems or older kernels, which `abi()` reports.
"""

from __future__ import annotations

import ctypes
import os
import stat
import struct
import sys
from typing import Iterable, Sequence

SWITCH = "TUI_ATTENTION_LANDLOCK"
_OFF_WORDS = ("off", "0", "no", "false")

_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# filesystem rights (ABI 1 unless noted)
_EXECUTE = 1 << 0
_WRITE_FILE = 1 << 1
_READ_FILE = 1 << 2
_READ_DIR = 1 << 3
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
_IOCTL_DEV = 1 << 15  # ABI 5
# rights a rule on something that is not a directory may carry (others: EINVAL)
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

# What a rule grants (the allow-list names these):
READ = "read"  # read files; list directories
EXECUTE = "execute"  # read and execute this file
DEVICE = "device"  # read, write and ioctl this device file
SESSION = "session"  # everything but execute, beneath this directory
_GRANTS = {
    READ: _READ_FILE | _READ_DIR,
    EXECUTE: _READ_FILE | _EXECUTE,
    DEVICE: _READ_FILE | _WRITE_FILE | _TRUNCATE | _IOCTL_DEV,
    SESSION: ~_EXECUTE,
}

SHARED_LIBRARIES = ("/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/local/lib")
# Read by the C library and Python at start-up (glibc: ld.so.cache, locale,
# time zone; gconv lives in /usr/lib; Python's _hashlib: openssl.cnf). Links
# are listed with their usual targets, since rules follow the target.
SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.preload",
    "/etc/localtime",
    "/etc/locale.alias",
    "/etc/ssl/openssl.cnf",
    "/usr/share/zoneinfo",
    "/usr/share/locale",
    "/usr/lib/locale",
    "/sys/devices/system/cpu",
)
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/tty")
CONFIG_FOLDER = "tui-attention"

_L = ctypes.c_long  # syscall(2) takes every argument as a long


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def switched_off() -> bool:
    """True if TUI_ATTENTION_LANDLOCK=off (or 0, no, false) is in the environment."""
    return os.environ.get(SWITCH, "").strip().lower() in _OFF_WORDS


def kernel_abi() -> int:
    """The kernel's Landlock ABI version, whatever the switch says; 0 when unavailable."""
    libc = _libc()
    if libc is None:
        return 0
    version = libc.syscall(_L(_SYS_CREATE_RULESET), None, _L(0), _L(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def abi() -> int:
    """The Landlock ABI version in use: 0 when unavailable or switched off (TUI_ATTENTION_LANDLOCK=off)."""
    if switched_off():
        return 0
    return kernel_abi()


# -- the allow-list -------------------------------------------------------------------


def python_paths() -> list[str]:
    """Where this interpreter and the tutor's package read from (directories and files that exist)."""
    import importlib.util
    import site
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            paths.add(sysconfig.get_path(key))
        except KeyError:
            pass
    paths.update(entry for entry in sys.path if entry and os.path.isabs(entry))
    if site.ENABLE_USER_SITE:
        paths.add(site.getusersitepackages())
    for name in ("tui_attention", "tui_attention.assets"):  # an editable install lives in its source tree
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            paths.update(spec.submodule_search_locations)
    return sorted(p for p in paths if p and os.path.exists(p))


def _home() -> str | None:
    """The account's home directory (from the password database, not $HOME: children get their own)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir or None
    except (ImportError, KeyError):
        return None


def _too_wide(path: str, home: str | None) -> bool:
    """`/`, the home directory and its ancestors are never granted whole."""
    real = os.path.realpath(path)
    if real == os.sep:
        return True
    if home:
        home = os.path.realpath(home)
        return home == real or home.startswith(real.rstrip(os.sep) + os.sep)
    return False


def elf_interpreter(path: str) -> str | None:
    """The ELF program interpreter (ld.so) of `path`, or None (static, a script, unreadable)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
                return None
            end = "<" if head[5] == 1 else ">"
            if head[4] == 2:
                phoff, = struct.unpack_from(end + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
            else:
                phoff, = struct.unpack_from(end + "I", head, 28)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 42)
            for k in range(min(phnum, 64)):
                f.seek(phoff + k * phentsize)
                ph = f.read(phentsize)
                if len(ph) < 32 or struct.unpack_from(end + "I", ph, 0)[0] != 3:  # PT_INTERP
                    continue
                if head[4] == 2:
                    offset, = struct.unpack_from(end + "Q", ph, 8)
                    size, = struct.unpack_from(end + "Q", ph, 32)
                else:
                    offset, = struct.unpack_from(end + "I", ph, 4)
                    size, = struct.unpack_from(end + "I", ph, 16)
                f.seek(offset)
                name = f.read(min(size, 4096)).split(b"\0", 1)[0]
                return os.fsdecode(name) or None
    except (OSError, struct.error):
        return None
    return None


def _executables(program: str) -> list[str]:
    """`program`, resolved, and what the kernel needs to start it: its ELF interpreter, or its #! interpreter's."""
    out: list[str] = []
    for _ in range(3):  # a script's interpreter may be a script too, once
        real = os.path.realpath(program)
        out.append(real)
        interp = elf_interpreter(real)
        if interp:
            out.append(os.path.realpath(interp))
            break
        try:
            with open(real, "rb") as f:
                first = f.readline(256)
        except OSError:
            break
        if not first.startswith(b"#!"):
            break
        words = first[2:].split()
        if not words:
            break
        program = os.fsdecode(words[0])
    return out


def allow_list(
    session_dir: str,
    *,
    program: str | None = None,
    read_files: Iterable[str] = (),
    config_home: str | None = None,
) -> list[tuple[str, str]]:
    """(path, grant) rules for one tutor; grant is READ, EXECUTE, DEVICE or SESSION.

    `program` is what the wrapper executes (it and its ELF interpreter become
    executable; so is this interpreter); `read_files` are extra files the
    tutor is started with (a scenario file), read-only; `config_home` is
    $XDG_CONFIG_HOME (default: the environment's, else ~/.config), whose
    tui-attention folder is readable. Paths that do not exist are left out;
    `/`, the home directory and its ancestors are never granted whole.
    """
    home = _home()
    rules: list[tuple[str, str]] = []
    for path in python_paths():
        if not _too_wide(path, home):
            rules.append((path, READ))
    for path in SHARED_LIBRARIES + SYSTEM_FILES:
        rules.append((path, READ))
    for path in (sys.executable, *([program] if program else [])):
        rules.extend((exe, EXECUTE) for exe in _executables(path))
    for path in read_files:
        if os.path.isabs(path) and os.path.isfile(path):
            rules.append((path, READ))
    config_home = config_home or os.environ.get("XDG_CONFIG_HOME") or ""
    if not os.path.isabs(config_home):
        config_home = os.path.join(home or os.path.expanduser("~"), ".config")
    rules.append((os.path.join(config_home, CONFIG_FOLDER), READ))
    rules.extend((path, DEVICE) for path in DEVICES)
    rules.append((session_dir, SESSION))
    seen: set[tuple[str, str]] = set()
    return [r for r in rules if os.path.exists(r[0]) and not (r in seen or seen.add(r))]


# -- the restriction ------------------------------------------------------------------


def handled_rights(version: int) -> int:
    """The filesystem rights this ABI version can restrict (all of them are)."""
    fs = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
    if version >= 2:
        fs |= _REFER
    if version >= 3:
        fs |= _TRUNCATE
    if version >= 5:
        fs |= _IOCTL_DEV
    return fs


def confine(
    writable: str,
    *,
    program: str | None = None,
    read_files: Sequence[str] = (),
    rules: Sequence[tuple[str, str]] | None = None,
) -> int:
    """Restrict this process (and what it execs) as described above.

    `writable` is the session directory; `program` and `read_files` as in
    `allow_list` (or pass `rules` to use another list). Returns the ABI
    version used, or 0 if Landlock is unavailable or switched off (nothing
    done). Raises OSError if Landlock is available but the restriction fails.
    """
    version = abi()
    libc = _libc()
    if not version or libc is None:
        return 0
    if rules is None:
        rules = allow_list(writable, program=program, read_files=read_files)
    fs = handled_rights(version)
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
        for path, grant in rules:
            _allow_beneath(libc, ruleset, path, _GRANTS[grant] & fs)
        if libc.prctl(_L(_PR_SET_NO_NEW_PRIVS), _L(1), _L(0), _L(0), _L(0)) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_L(_SYS_RESTRICT_SELF), _L(ruleset), _L(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return version


def _allow_beneath(libc, ruleset: int, path: str, rights: int) -> None:
    """One rule on what `path` names (a link's target); a path that vanished meanwhile is skipped."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        if not rights:
            return
        rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)  # packed struct
        if libc.syscall(_L(_SYS_ADD_RULE), _L(ruleset), _L(_RULE_PATH_BENEATH), rule, _L(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule({path}) failed")
    finally:
        os.close(fd)
