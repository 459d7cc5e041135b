"""Process identity from /proc: a pid is ours only if its start time still matches.

Pids are reused; the start time (clock ticks since boot) of a pid is not, so (pid, start
ticks) identifies one process for the machine's uptime. We never signal a pid without it.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    # The result starts at field 3 (state): field N is at index N - 3.
    return raw[raw.rfind(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[19]) if fields else None


def is_alive(pid: int, ticks: int) -> bool:
    """True if the process that had these start ticks still runs (zombies count as dead)."""
    fields = stat_fields(pid)
    return bool(fields) and fields[0] != "Z" and int(fields[19]) == ticks  # type: ignore[index]


def group_alive(pgid: int) -> bool:
    """True while a live (non-zombie) process is in the group.

    `killpg(pgid, 0)` is not enough: it succeeds while the group holds only zombies, and
    an adopted service's zombies wait for PID 1 to reap them (seconds on some machines).
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for pid in pids():
        fields = stat_fields(pid)
        if fields and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def environ(pid: int) -> dict[str, str]:
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def pids() -> list[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]
