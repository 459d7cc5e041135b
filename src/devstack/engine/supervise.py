"""No worker thread of the daemon dies silently: each runs under a small supervisor.

A worker (the controller, the log tailer, a process-wait or health thread) that raises
is reported (an engine event, and the traceback on stderr, which is `.devstack/daemon.log`)
and run again after a short pause that doubles up to MAX_DELAY, so a fault that repeats
(a full disk) does not spin. A worker that returns has finished: it is not restarted.
Workers are written to be run again (they re-read their state on entry).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import traceback
from collections.abc import Callable

from devstack.engine.events import LogStore

FIRST_DELAY = 0.2
MAX_DELAY = 5.0


def supervised(
    name: str,
    target: Callable[[], None],
    logs: LogStore,
    stop: threading.Event | None = None,
) -> Callable[[], None]:
    """`target` wrapped to be restarted whenever it raises, until it returns or `stop` is set."""
    pause = stop or threading.Event()

    def run() -> None:
        delay = FIRST_DELAY
        while True:
            try:
                target()
                return
            except Exception as exc:
                _report(name, exc, logs)
            if pause.wait(delay):
                return
            delay = min(delay * 2, MAX_DELAY)

    return run


def spawn(
    name: str,
    target: Callable[[], None],
    logs: LogStore,
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Start `target` on a supervised daemon thread."""
    thread = threading.Thread(target=supervised(name, target, logs, stop), name=name, daemon=True)
    thread.start()
    return thread


def _report(name: str, exc: BaseException, logs: LogStore) -> None:
    # Reporting must not raise in turn: it runs on the very thread that just failed.
    # stderr (daemon.log) may be on the same full disk: the event still tells.
    with contextlib.suppress(Exception):
        traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.flush()
    with contextlib.suppress(Exception):
        logs.event(f"thread {name} crashed ({exc!r}); restarted")
