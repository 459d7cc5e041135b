"""A state file brought up to date in the background, soon after a change.

The process runtime records every instance it starts in its state file, so that the next
daemon adopts it. A start used to wait for that write (an fsync), and under disk load the
writes of 50 services starting at once queued behind each other: a start took 1.1 s at
the median, and the executor's 32 workers were all waiting on the disk instead of
starting the next services. Waiting bought nothing: the child runs from the moment it is
spawned, written or not, and a daemon that dies before the write still finds it by the
owner label in its environment (`scan_owned`, runtimes/process.py). So a start asks for a write and
returns; stops and exits still write before they return.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from devstack.engine.events import LogStore
from devstack.engine.supervise import spawn

# How often the writer looks at `closed` while nothing is asked of it.
IDLE_CHECK = 0.5


class WriteBehind:
    def __init__(self, flush: Callable[[], None], logs: LogStore, closed: threading.Event):
        self._flush = flush  # idempotent: writes only what memory has and the file lacks
        self._wanted = threading.Event()
        self._closed = closed
        self._thread = spawn("state-writer", self._run, logs, closed)

    def soon(self) -> None:
        """Ask for a write; many asks before it happens make one write."""
        self._wanted.set()

    def _run(self) -> None:
        while not self._closed.is_set():
            if self._wanted.wait(IDLE_CHECK):
                self._wanted.clear()
                self._flush()
