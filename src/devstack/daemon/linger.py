"""Providers a swap leaves unused stay up for a while, so swapping back is instant.

Users switch a backing service back and forth while they work (`swap uploads moto`, then
`swap uploads --undo`). Stopping the provider a swap leaves made every swap back start
an emulator again: a second or more of the swap, most of it on a small machine. The
provider is kept warm instead (like the providers a swap starts ahead of its commit),
for `DEVSTACK_PROVIDER_LINGER` seconds (600 by default, 0 to stop it at once, `inf` to
keep it), then it is retired as before, its data kept. Nothing is saved: a daemon that
restarts keeps no unused provider.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping

ENV = "DEVSTACK_PROVIDER_LINGER"
DEFAULT_SECONDS = 600.0


def linger_seconds(env: Mapping[str, str]) -> float:
    """The linger from the daemon's environment: a number of seconds, else the default."""
    try:
        seconds = float(env.get(ENV, DEFAULT_SECONDS))
    except ValueError:
        return DEFAULT_SECONDS
    return max(seconds, 0.0) if math.isfinite(seconds) or seconds > 0 else DEFAULT_SECONDS


class Linger:
    """Deadlines of the providers kept warm; `expire(names)` is called once they pass."""

    def __init__(
        self,
        seconds: float,
        expire: Callable[[frozenset[str]], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self._expire = expire
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def keep(self, names: Iterable[str]) -> frozenset[str]:
        """Keep `names` warm from now on; every provider still kept warm."""
        added = set(names)
        if self.seconds <= 0:
            return self.names()
        with self._lock:
            until = self._clock() + self.seconds
            for name in added:
                self._until[name] = until
        if added and math.isfinite(self.seconds):  # `inf`: kept until the daemon stops
            timer = threading.Timer(self.seconds, self.check)
            timer.daemon = True  # never holds the daemon's exit
            timer.start()
        return self.names()

    def names(self) -> frozenset[str]:
        with self._lock:
            now = self._clock()
            return frozenset(name for name, until in self._until.items() if until > now)

    def check(self) -> None:
        """Let go of the providers whose time is up (a timer calls it; so may a test)."""
        with self._lock:
            now = self._clock()
            expired = frozenset(name for name, until in self._until.items() if until <= now)
            for name in expired:
                del self._until[name]
        if expired:
            self._expire(expired)
