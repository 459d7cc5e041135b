"""The log and event stream: every process's output and the engine's own steps, as one stream.

Memory is bounded (a ring per service); subscribers get a snapshot and then every later
line, taken under one lock so nothing is lost or doubled between the two.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

Stream = Literal["stdout", "stderr", "event"]
ENGINE = "devstack"  # the pseudo-service that engine events are logged under


@dataclass(frozen=True)
class LogLine:
    seq: int
    ts: float
    service: str
    replica: int
    stream: Stream
    text: str


Subscriber = Callable[[LogLine], None]


class LogStore:
    def __init__(self, per_service: int = 5000, clock: Callable[[], float] | None = None) -> None:
        import time

        self._per_service = per_service
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._rings: dict[str, deque[LogLine]] = {}
        self._subscribers: list[Subscriber] = []
        self._seq = itertools.count(1)

    def emit(
        self, service: str, replica: int, stream: Stream, text: str, ts: float | None = None
    ) -> None:
        with self._lock:
            line = LogLine(
                next(self._seq),
                ts if ts is not None else self._clock(),
                service,
                replica,
                stream,
                text,
            )
            ring = self._rings.get(service)
            if ring is None:
                ring = self._rings[service] = deque(maxlen=self._per_service)
            ring.append(line)
            # Called under the lock so a subscriber sees lines in sequence order.
            for subscriber in self._subscribers:
                subscriber(line)

    def event(self, text: str, service: str = ENGINE) -> None:
        self.emit(service, 0, "event", text)

    def snapshot(
        self, services: Iterable[str] | None = None, since: float | None = None
    ) -> list[LogLine]:
        with self._lock:
            return self._select(services, since)

    def _select(self, services: Iterable[str] | None, since: float | None) -> list[LogLine]:
        wanted = set(services) if services else None
        lines = [
            line
            for name, ring in self._rings.items()
            if wanted is None or name in wanted
            for line in ring
            if since is None or line.ts >= since
        ]
        lines.sort(key=lambda line: line.seq)
        return lines

    def subscribe(
        self,
        subscriber: Subscriber,
        services: Iterable[str] | None = None,
        since: float | None = None,
    ) -> tuple[list[LogLine], Callable[[], None]]:
        """Backlog and live lines with no gap or overlap; returns (backlog, unsubscribe).

        `services` and `since` filter the backlog only: the subscriber gets every live
        line and filters what it does not want itself.
        """
        with self._lock:
            backlog = self._select(services, since)
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return backlog, unsubscribe

    def last_lines(self, service: str, count: int) -> list[LogLine]:
        with self._lock:
            ring = self._rings.get(service, deque())
            return [line for line in ring if line.stream != "event"][-count:]

    def last_output(self, service: str, replica: int, since: float) -> str | None:
        """The last non-empty line `replica` of `service` printed at or after `since`."""
        with self._lock:
            for line in reversed(self._rings.get(service, ())):
                if line.ts < since:
                    return None
                if line.replica == replica and line.stream != "event" and line.text.strip():
                    return line.text.strip()
        return None
