"""The log and event stream: every process's output and the engine's own steps, as one stream.

Memory is bounded in bytes, not lines: a ring per service holds at most `buffer_bytes`
of text (oldest lines dropped first), and one line longer than MAX_LINE_CHARS is cut with
a marker, so a service printing 150 MB without a newline costs the daemon a few MiB, not
the 150 MB. Subscribers get a snapshot and then every later line, taken under one lock so
nothing is lost or doubled between the two; a subscriber that raises (a log file on a
full disk) is counted, never allowed to break `emit` for the thread that logs.
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

BUFFER_BYTES = 8 * 1024 * 1024  # per service; DEVSTACK_LOG_BUFFER overrides it in the daemon
# And at most this many lines per service, whatever their size: what `logs` and a UI
# attaching get as backlog stays the recent past, as before the byte bound existed.
MAX_LINES = 5000
MAX_LINE_CHARS = 64 * 1024  # one line's text is cut here (the tailer cuts raw bytes there too)
TRUNCATED = " … [line truncated]"
# What a line costs besides its text: the LogLine object, its str header, the deque slot.
LINE_OVERHEAD = 200
STOPPED_KEEP_BYTES = 64 * 1024  # what a stopped service keeps (its last words for `logs`)


def line_cost(line: LogLine) -> int:
    return len(line.text) + LINE_OVERHEAD


class LogStore:
    def __init__(
        self,
        buffer_bytes: int = BUFFER_BYTES,
        clock: Callable[[], float] | None = None,
        max_lines: int = MAX_LINES,
    ) -> None:
        import time

        self.buffer_bytes = buffer_bytes
        self.max_lines = max_lines
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._rings: dict[str, deque[LogLine]] = {}
        self._sizes: dict[str, int] = {}  # bytes held per ring (line_cost summed)
        self._subscribers: list[Subscriber] = []
        self._seq = itertools.count(1)
        self.subscriber_failures = 0  # lines a subscriber raised on (see `emit`)

    def emit(
        self, service: str, replica: int, stream: Stream, text: str, ts: float | None = None
    ) -> None:
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + TRUNCATED
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
                ring = self._rings[service] = deque()
            ring.append(line)
            self._sizes[service] = self._sizes.get(service, 0) + line_cost(line)
            self._shrink(service, self.buffer_bytes)
            # Called under the lock so a subscriber sees lines in sequence order.
            for subscriber in self._subscribers:
                try:
                    subscriber(line)
                except Exception:
                    # The caller is a worker thread (tailer, controller, wait): a broken
                    # subscriber must not kill it. Subscribers report their own trouble
                    # (LogFiles: "disk full" in status); this only counts.
                    self.subscriber_failures += 1

    def _shrink(self, service: str, limit: int) -> None:
        """Drop the oldest lines of `service` until it holds at most `limit` bytes and
        `max_lines` lines (caller locks).

        The newest line always stays, so a line is never lost before anyone could see it."""
        ring = self._rings[service]
        size = self._sizes[service]
        while (size > limit or len(ring) > self.max_lines) and len(ring) > 1:
            size -= line_cost(ring.popleft())
        self._sizes[service] = size

    def release(self, service: str, keep_bytes: int = STOPPED_KEEP_BYTES) -> None:
        """A service stopped or removed: free its buffer but for its last `keep_bytes`."""
        with self._lock:
            if service not in self._rings:
                return
            self._shrink(service, keep_bytes)
            if not self._rings[service]:
                del self._rings[service], self._sizes[service]

    def buffered_bytes(self, service: str) -> int:
        with self._lock:
            return self._sizes.get(service, 0)

    def event(self, text: str, service: str = ENGINE, ts: float | None = None) -> None:
        """`ts`: when it happened, if not now (an exit is told after its bookkeeping)."""
        self.emit(service, 0, "event", text, ts)

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
