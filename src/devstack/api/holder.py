"""Which daemon holds a stack: found by its lock, not by its socket.

The socket is a file anyone can delete (a `rm -rf .devstack/*.sock`, a tmp cleaner); the
daemon then still runs and supervises the stack, but no client reaches it. The lock
(`flock` on `.devstack/daemon.lock`, which holds the daemon's pid, then `listening` once
its socket is bound) says who holds the stack: a pid is believed only if /proc says it
is a devstack daemon and /proc/locks says that pid holds the flock on that very file.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.state.paths import StackPaths

LISTENING = "listening"  # the line the daemon adds to its lock file once its socket is bound
RETIRE_TIMEOUT = 15.0  # a daemon's graceful exit: uvicorn's 5 s, then closing the controller


@dataclass(frozen=True)
class Holder:
    pid: int
    listening: bool  # it bound its socket (before that, it is starting: wait for it)


def lock_holder(paths: StackPaths) -> Holder | None:
    """The live devstack daemon holding this stack's lock, or None."""
    try:
        st = paths.lock.stat()
        lines = paths.lock.read_text().split()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    if not _is_daemon(pid) or not _holds_flock(pid, st.st_dev, st.st_ino):
        return None
    return Holder(pid, LISTENING in lines[1:])


def lost_socket(paths: StackPaths) -> Holder | None:
    """A daemon that bound its socket, still holds the stack, and whose socket is gone."""
    if paths.socket.exists():
        return None
    holder = lock_holder(paths)
    return holder if holder is not None and holder.listening else None


def retire(holder: Holder, timeout: float = RETIRE_TIMEOUT) -> bool:
    """SIGTERM a daemon (services keep running: files, not pipes) and wait until it is gone.

    True once it has exited; SIGKILL after `timeout` (the services still survive)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(holder.pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while _is_daemon(holder.pid):
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        else:
            return True
    return False


def _is_daemon(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat[stat.rfind(")") + 2 :].startswith("Z")
    return not zombie and b"devstack.daemon" in cmdline


def _holds_flock(pid: int, dev: int, inode: int) -> bool:
    """/proc/locks lines: `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`."""
    wanted = f"{os.major(dev):02x}:{os.minor(dev):02x}:{inode}"
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        return True  # no /proc/locks (a restricted container): the cmdline check stands
    for line in table.splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[4:6] == [str(pid), wanted]:
            return True
    return False
