"""Refuse new sockets to a served tutor: a seccomp filter on socket(2) and io_uring_setup(2).

Landlock (`landlock`) confines files, TCP, signals and abstract Unix sockets, but not a
connect(2) to a Unix socket that has a file name: a tutor taken over through a bug could
still reach the instructor's ssh-agent, the systemd user bus (which starts commands outside
any sandbox), a tmux server or docker.sock at their well-known paths, and send UDP. A tutor
needs no socket of its own (its room channel is a socketpair handed to it, and asyncio makes
its self-pipe with socketpair(2), which stays allowed), so the child wrapper installs, after
Landlock, a filter that fails every socket(2) with EACCES, as Landlock fails a TCP connect.
io_uring_setup(2) fails too: io_uring can make sockets without socket(2) (IORING_OP_SOCKET).
So do setsid(2) and setpgid(2): the server ends a session by signalling the tutor's process
group, and a process a taken-over tutor forked into a session of its own outlived it (security
audit). The wrapper makes the tutor's session before it installs the filter.

The filter checks the architecture first: a system call made through another ABI of the
same kernel (i386 through int 0x80, x32 on x86-64) has other numbers, and fails whatever it
is. Where the architecture is not one of `ARCHES`, nothing is installed and `supported()`
says so (the server's banner then does not claim it).

Pure standard library (ctypes). The filter lasts across exec, as Landlock's rules do, and
needs no_new_privs, which `landlock.confine` has set.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
import sys
from dataclasses import dataclass

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

# classic BPF, as <linux/filter.h> spells it
_LD_W_ABS = 0x00 | 0x00 | 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x05 | 0x10 | 0x00  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x05 | 0x30 | 0x00  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06 | 0x00  # BPF_RET | BPF_K
_RET_ALLOW = 0x7FFF0000  # SECCOMP_RET_ALLOW
_RET_ERRNO = 0x00050000  # SECCOMP_RET_ERRNO, the errno in the low 16 bits

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
_NR, _ARCH = 0, 4


@dataclass(frozen=True)
class Arch:
    audit: int  # AUDIT_ARCH_* of the native ABI
    socket: int  # __NR_socket
    io_uring_setup: int  # __NR_io_uring_setup
    setsid: int  # __NR_setsid
    setpgid: int  # __NR_setpgid
    foreign_from: int | None = None  # numbers from here on belong to another ABI (x32)


ARCHES = {
    "x86_64": Arch(audit=0xC000003E, socket=41, io_uring_setup=425, setsid=112, setpgid=109,
                   foreign_from=0x40000000),
    "aarch64": Arch(audit=0xC00000B7, socket=198, io_uring_setup=425, setsid=157, setpgid=154),
}


def _arch() -> Arch | None:
    return ARCHES.get(platform.machine()) if sys.platform.startswith("linux") else None


def supported() -> bool:
    """Whether this machine's architecture gets the filter (Linux on x86-64 or aarch64)."""
    return _arch() is not None


def program(arch: Arch) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions; jt and jf count the instructions skipped."""
    deny = (_RET_K, 0, 0, _RET_ERRNO | errno.EACCES)
    allow = (_RET_K, 0, 0, _RET_ALLOW)
    checks = [(_JEQ_K, "deny", 0, nr) for nr in (arch.socket, arch.io_uring_setup, arch.setsid, arch.setpgid)]
    if arch.foreign_from is not None:
        checks.insert(0, (_JGE_K, "deny", 0, arch.foreign_from))
    head = [(_LD_W_ABS, 0, 0, _ARCH), (_JEQ_K, 0, "deny", arch.audit), (_LD_W_ABS, 0, 0, _NR)]
    body = head + checks
    deny_at = len(body) + 1  # after the body comes allow, then deny
    out = []
    for index, (code, jt, jf, k) in enumerate(body):
        skip = deny_at - index - 1
        out.append((code, skip if jt == "deny" else jt, skip if jf == "deny" else jf, k))
    return out + [allow, deny]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def refuse_sockets() -> bool:
    """Install the filter on this process (and what it execs). False where the architecture is
    not supported (nothing done); OSError if the kernel refuses it."""
    arch = _arch()
    if arch is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    instructions = program(arch)
    raw = b"".join(struct.pack("=HBBI", *instruction) for instruction in instructions)
    buf = ctypes.create_string_buffer(raw, len(raw))
    prog = _SockFprog(len(instructions), ctypes.cast(buf, ctypes.c_void_p))
    L = ctypes.c_long
    if libc.prctl(L(_PR_SET_NO_NEW_PRIVS), L(1), L(0), L(0), L(0)) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(L(_PR_SET_SECCOMP), L(_SECCOMP_MODE_FILTER), ctypes.byref(prog), L(0), L(0)) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
    return True
