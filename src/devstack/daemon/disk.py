"""Disk trouble as the user should see it: one stack-level line per thing that cannot be
written (logs, the process state, overrides), cleared once a write succeeds again.

Writers never raise for ENOSPC or EIO: a full disk must not kill the thread that writes
(the controller, the tailer, a process-wait thread). They report here instead, and status
shows `problems()` until the disk takes writes again.
"""

from __future__ import annotations

import errno
import threading

from devstack.engine.events import LogStore


def describe(error: OSError) -> str:
    """`disk full` for ENOSPC/EDQUOT, `disk error` for anything else (EIO, EROFS ...)."""
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    return "disk full" if full else "disk error"


class DiskTrouble:
    """What cannot be written now, keyed by what it is; safe from any thread."""

    def __init__(self, logs: LogStore | None = None) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}
        self._logs = logs

    def failed(self, what: str, message: str, announce: bool = True) -> None:
        """Record trouble; `announce=False` from inside a LogStore subscriber (LogFiles),
        which runs under the store's lock and so must not log through it."""
        with self._lock:
            new = self._problems.get(what) != message
            self._problems[what] = message
        if new and announce and self._logs is not None:
            self._logs.event(message)

    def recovered(self, what: str, message: str | None = None) -> None:
        with self._lock:
            had = self._problems.pop(what, None)
        if had is not None and message and self._logs is not None:
            self._logs.event(message)

    def problems(self) -> list[str]:
        with self._lock:
            return [self._problems[key] for key in sorted(self._problems)]
