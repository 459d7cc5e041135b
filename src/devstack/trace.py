"""Phase marks for the start-up time budget (`benchmarks/` reads them; users never see them).

With `DEVSTACK_TRACE=/path/to/file` set, each `mark(phase)` appends one line
`<CLOCK_MONOTONIC seconds> <pid> <phase>` to that file. CLOCK_MONOTONIC is one clock for
every process of the machine, so the CLI's, the daemon's and the harness's marks line up
on one time axis. Without the variable a mark costs one dictionary lookup, so marks can
stay in the hot paths; the daemon passes the variable on to nothing it starts.
"""

from __future__ import annotations

import os
import time

ENV = "DEVSTACK_TRACE"
_path = os.environ.get(ENV)
_fd: int | None = None  # the trace file, kept open: a mark is on the hot paths
_fd_pid = 0


def mark(phase: str) -> None:
    """Record that `phase` was reached now (a no-op unless DEVSTACK_TRACE is set)."""
    if _path is None:
        return
    global _fd, _fd_pid
    line = f"{time.monotonic():.6f} {os.getpid()} {phase}\n"
    if _fd is None or _fd_pid != os.getpid():  # opened once per process (not at import)
        _fd, _fd_pid = os.open(_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), os.getpid()
    # O_APPEND writes of one short line are atomic: the CLI and the daemon share the file.
    os.write(_fd, line.encode())


def enabled() -> bool:
    return _path is not None
