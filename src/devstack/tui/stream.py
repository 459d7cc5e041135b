"""The daemon's event stream, read off the UI thread and handed over in batches.

`pump_events` runs in a Textual thread worker. A daemon thread does the blocking reads
(a quiet stream may block for minutes, and a daemon thread never holds up quitting);
the worker drains its queue and hands the app status and backing snapshots as they come
and log lines in one batch per `batch_interval`, never one message per line. When the
stream ends (the daemon stopped) it reports the loss and reconnects; log lines already
seen (by `seq`, per daemon) are not handed over twice. No Textual here.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from devstack.tui.api import CALL_ERRORS, JSON, describe_error

BATCH_INTERVAL = 0.05
RETRY_INTERVAL = 1.0
QUEUE_LIMIT = 50_000  # events read but not handed over yet; the reader waits beyond this
TAIL = 1000  # log lines asked for when (re)attaching


class EventSink(Protocol):
    """Where the pump delivers; the app's implementation posts Textual messages."""

    def status(self, status: JSON) -> None: ...

    def backing(self, rows: list[JSON]) -> None: ...

    def logs(self, lines: list[JSON]) -> None: ...

    def connection(self, connected: bool, detail: str) -> None: ...


@dataclass(frozen=True)
class _End:
    reason: str


def _read(
    open_stream: Callable[[], Iterator[JSON]], out: queue.Queue[object], stop: threading.Event
) -> None:
    """Blocking reads, in a daemon thread: every event into `out`, then an `_End`."""
    reason = "the daemon closed the event stream"
    try:
        stream = open_stream()
        try:
            for event in stream:
                while not stop.is_set():
                    try:
                        out.put(event, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # a generator: its `finally` closes the connection
    except CALL_ERRORS as exc:
        reason = describe_error(exc)
    out.put(_End(reason))


class _Flusher:
    """Hands the pending log lines over as one batch (if there are any)."""

    def __init__(self, sink: EventSink, pending: list[JSON]) -> None:
        self.sink, self.pending = sink, pending

    def __call__(self) -> None:
        if self.pending:
            self.sink.logs(list(self.pending))
            self.pending.clear()


def pump_events(
    open_stream: Callable[[], Iterator[JSON]],
    sink: EventSink,
    cancelled: Callable[[], bool],
    batch_interval: float = BATCH_INTERVAL,
    retry_interval: float = RETRY_INTERVAL,
) -> None:
    """Follow the stream until `cancelled()`, reconnecting whenever it ends."""
    last_seq = -1
    daemon_pid: object = None
    while not cancelled():
        events: queue.Queue[object] = queue.Queue(maxsize=QUEUE_LIMIT)
        stop = threading.Event()
        reader = threading.Thread(
            target=_read, args=(open_stream, events, stop), name="devstack-events", daemon=True
        )
        reader.start()
        pending: list[JSON] = []
        connected = False
        next_flush = time.monotonic() + batch_interval
        flush = _Flusher(sink, pending)
        try:
            while not cancelled():
                wait = max(0.0, next_flush - time.monotonic())
                try:
                    item = events.get(timeout=wait)
                except queue.Empty:
                    item = None
                if isinstance(item, _End):
                    flush()
                    if not cancelled():
                        sink.connection(False, item.reason)
                    break
                if isinstance(item, dict):
                    kind = item.get("type")
                    if kind == "log":
                        line = item["line"]
                        if line["seq"] > last_seq:
                            last_seq = line["seq"]
                            pending.append(line)
                    elif kind == "status":
                        flush()
                        status = item["status"]
                        if status.get("daemon_pid") != daemon_pid:
                            daemon_pid = status.get("daemon_pid")
                            last_seq = -1  # another daemon: its own sequence numbers
                        if not connected:
                            connected = True
                            sink.connection(True, f"daemon {daemon_pid}")
                        sink.status(status)
                    elif kind == "backing":
                        flush()
                        sink.backing(list(item["backing"]))
                if time.monotonic() >= next_flush:
                    flush()
                    next_flush = time.monotonic() + batch_interval
        finally:
            stop.set()
        deadline = time.monotonic() + retry_interval
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.05)
