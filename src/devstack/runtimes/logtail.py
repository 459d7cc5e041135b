"""Tails the files host processes write their output to, and emits timestamped lines.

A service writes to a plain file, not to a pipe held by the daemon: a pipe would break
(SIGPIPE) when the daemon dies, and the point of re-adoption is that services survive it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from devstack.engine.events import LogStore, Stream

POLL_SECONDS = 0.05
MAX_LINE = 64 * 1024  # a longer "line" is cut so one runaway write cannot exhaust memory
# Raw output files are emptied once read past this size: the rotated logs keep the lines.
# Writers use O_APPEND, so after the truncation they continue at the new end, not in a hole.
# A line written between our last read and the truncation is lost (a window of
# microseconds, once per RAW_LIMIT bytes).
RAW_LIMIT = 8 * 1024 * 1024


@dataclass
class _Tail:
    service: str
    replica: int
    stream: Stream
    fd: int
    path: Path
    partial: bytes = field(default=b"")


class LogTailer:
    def __init__(self, store: LogStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._tails: dict[tuple[str, int, Stream], _Tail] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-tailer", daemon=True)
        self._thread.start()

    def add(self, service: str, replica: int, stream: Stream, path: Path, from_end: bool) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
        if from_end:
            os.lseek(fd, 0, os.SEEK_END)
        with self._lock:
            old = self._tails.pop((service, replica, stream), None)
            self._tails[(service, replica, stream)] = _Tail(service, replica, stream, fd, path)
        if old:
            os.close(old.fd)

    def remove(self, service: str, replica: int) -> None:
        """Drain what is left, then stop following this instance's files."""
        # Reads happen under the lock: two readers of one descriptor would split lines.
        with self._lock:
            keys = [k for k in self._tails if k[0] == service and k[1] == replica]
            for key in keys:
                tail = self._tails.pop(key)
                self._drain(tail, final=True)
                os.close(tail.fd)

    def flush(self) -> None:
        with self._lock:
            for tail in self._tails.values():
                self._drain(tail)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        with self._lock:
            for tail in self._tails.values():
                os.close(tail.fd)
            self._tails.clear()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.flush()

    def _drain(self, tail: _Tail, final: bool = False) -> None:
        while True:
            try:
                chunk = os.read(tail.fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                if os.lseek(tail.fd, 0, os.SEEK_CUR) > RAW_LIMIT:
                    os.truncate(tail.path, 0)
                    os.lseek(tail.fd, 0, os.SEEK_SET)
                break
            data = tail.partial + chunk
            *lines, tail.partial = data.split(b"\n")
            while len(tail.partial) > MAX_LINE:
                lines.append(tail.partial[:MAX_LINE])
                tail.partial = tail.partial[MAX_LINE:]
            for line in lines:
                self._emit(tail, line)
        if final and tail.partial:
            self._emit(tail, tail.partial)
            tail.partial = b""

    def _emit(self, tail: _Tail, line: bytes) -> None:
        text = line.rstrip(b"\r").decode("utf-8", errors="replace")
        self._store.emit(tail.service, tail.replica, tail.stream, text)
