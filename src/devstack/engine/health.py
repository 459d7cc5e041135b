"""Health: a pure state machine per instance, driven by one thread per probed instance.

Until the first success an instance is `starting` and is probed every `start_interval`
(fast, so dependents start soon); it turns `unhealthy` if no probe succeeded within
`start_period + interval * retries`. Once healthy it is probed every `interval`, and
`retries` consecutive failures make it `unhealthy`; a later success makes it healthy again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from devstack.engine.events import LogStore
from devstack.engine.ports import Probe
from devstack.engine.supervise import spawn
from devstack.model.manifest import HealthCheck
from devstack.model.observed import Health


@dataclass
class HealthTracker:
    check: HealthCheck
    started_at: float
    state: Health = "starting"
    failures: int = 0

    def record(self, ok: bool, now: float) -> float:
        """Take one probe result; returns the delay before the next probe."""
        check = self.check
        if ok:
            self.state, self.failures = "healthy", 0
            return check.interval
        self.failures += 1
        if self.state == "starting":
            budget = check.start_period + check.interval * check.retries
            if now - self.started_at >= budget:
                self.state = "unhealthy"
                return check.interval
            return check.start_interval
        if self.failures >= check.retries:
            self.state = "unhealthy"
        return check.interval


Key = tuple[str, int]


class InstanceProbe:
    """A probe whose success counts only while the instance devstack started still runs.

    A port answers for whoever listens on it: a service that crashed (EADDRINUSE, say)
    while another process serves its port must not read as healthy. `owns` is asked after
    each successful probe (so a death during the probe counts too) and says whether the
    instance is alive and, where the runtime can tell, holds the probed port.
    """

    def __init__(self, probe: Probe, owns: Callable[[], bool]) -> None:
        self._probe, self._owns = probe, owns

    def check(self, timeout: float) -> bool:
        return self._probe.check(timeout) and self._owns()


class HealthMonitor:
    """Runs probes for running instances and reports health changes through `on_change`."""

    def __init__(
        self,
        on_change: Callable[[Key, Health], None],
        clock: Callable[[], float],
        logs: LogStore | None = None,
    ) -> None:
        self._logs = logs or LogStore()  # where a crashed probe thread is reported
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[Key, Health] = {}
        self._watches: dict[Key, tuple[float, threading.Event]] = {}

    def snapshot(self) -> dict[Key, Health]:
        with self._lock:
            return dict(self._states)

    def watch(self, key: Key, started_at: float, check: HealthCheck, probe: Probe) -> None:
        """Probe an instance (identified by key and start time) until `forget`."""
        with self._lock:
            current = self._watches.get(key)
            if current and current[0] == started_at:
                return
            if current:
                current[1].set()
            stop = threading.Event()
            self._watches[key] = (started_at, stop)
            self._states[key] = "starting"
        tracker = HealthTracker(check, started_at)
        spawn(f"health-{key[0]}", lambda: self._run(key, tracker, probe, stop), self._logs, stop)

    def watching(self, key: Key, started_at: float) -> bool:
        with self._lock:
            current = self._watches.get(key)
            return bool(current and current[0] == started_at)

    def forget(self, key: Key) -> None:
        with self._lock:
            watch = self._watches.pop(key, None)
            self._states.pop(key, None)
        if watch:
            watch[1].set()

    def keys(self) -> set[Key]:
        with self._lock:
            return set(self._watches)

    def close(self) -> None:
        with self._lock:
            watches = list(self._watches.values())
            self._watches.clear()
        for _, stop in watches:
            stop.set()

    def _run(self, key: Key, tracker: HealthTracker, probe: Probe, stop: threading.Event) -> None:
        while not stop.is_set():
            ok = probe.check(tracker.check.timeout)
            before = tracker.state
            delay = tracker.record(ok, self._clock())
            if stop.is_set():
                return
            if tracker.state != before:
                with self._lock:
                    if self._watches.get(key, (None, None))[1] is not stop:
                        return
                    self._states[key] = tracker.state
                self._on_change(key, tracker.state)
            stop.wait(delay)
