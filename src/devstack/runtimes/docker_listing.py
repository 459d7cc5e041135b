"""The stack's containers as the engine last listed them, shared while nothing changed.

`observe()` lists the stack's containers: `status`, every reconcile pass and every health
probe ask for it (a probe checks that the container it reached is still the instance's).
With 50 containers starting, their probes alone asked dockerd for the whole list
hundreds of times a second, and each `status` paid one list (10-15 ms at 100 containers).

One list is in flight at a time, and a listing is reused while it is young (`MAX_AGE`)
and nothing it could be wrong about happened since it was asked for:
- for `observe()` (status, the controller): no change at all. Every event of the stack's
  containers (start, die, destroy, oom) and every start, stop and removal of our own is
  a change;
- for a probe's "is this instance's container still running": no exit (die, destroy,
  oom, our own stop or removal, a failed start), and the listing was asked after the
  instance started. It is trusted only when it shows the container running (one asked
  while it was still being created says nothing: the runtime lists again).
Changes are heard only while the events stream is connected; without it, and for a
remote engine (whose listings also tell that its connection lives), every call lists
again, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

MAX_AGE = 0.5  # seconds: bounds what no event tells (a network removed by hand)

Items = list[dict[str, Any]]


class _Asked:
    def __init__(self, changes: int, exits: int, at: float, wall: float, items: Items) -> None:
        self.changes, self.exits = changes, exits  # the counts when it was asked for
        self.at, self.wall = at, wall  # when (monotonic, and the runtime's wall clock)
        self.items = items


class Listing:
    def __init__(
        self,
        enabled: bool = True,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._enabled = enabled
        self._wall, self._clock = wall, clock
        self._lock = threading.Lock()  # the counts and the last listing
        self._fetching = threading.Lock()  # one list in flight; callers behind it reuse it
        self._changes = self._exits = 0
        self._heard = False  # the events stream is connected: changes reach us
        self._last: _Asked | None = None

    def changed(self, exited: bool = False) -> None:
        """A container of the stack started (or, `exited`, stopped, died or went)."""
        with self._lock:
            self._changes += 1
            self._exits += exited

    def hearing(self, connected: bool) -> None:
        """The events stream connected (True) or was lost (False)."""
        with self._lock:
            self._heard = connected
            self._changes += 1  # what happened while it was down was not heard
            self._exits += 1

    def get(self, fetch: Callable[[], Items], started_at: float | None = None) -> Items:
        """A listing that tells the truth for the caller: `started_at` None for the whole
        state, or the start of the one instance a probe asks about."""
        with self._fetching:
            with self._lock:
                last, changes, exits = self._last, self._changes, self._exits
                usable = self._enabled and self._heard and last is not None
            if usable and last is not None and self._clock() - last.at < MAX_AGE:
                if started_at is None and last.changes == changes:
                    return last.items
                if started_at is not None and last.exits == exits and last.wall > started_at:
                    return last.items
            asked = _Asked(changes, exits, self._clock(), self._wall(), [])
            # A change that lands while this is in flight leaves it under the older counts.
            asked.items = fetch()
            with self._lock:
                self._last = asked
            return asked.items
