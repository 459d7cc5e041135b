"""Tails the files host processes write their output to, and emits timestamped lines.

A service writes to a plain file, not to a pipe held by the daemon: a pipe would break
(SIGPIPE) when the daemon dies, and the point of re-adoption is that services survive it.

The tailer sleeps until inotify says a followed file was written, then reads every file
and waits POLL_SECONDS before it looks again, so a flood costs at most 20 rounds of reads
a second and a quiet stack none. (Reading 60 files every 50 ms was half of an idle
daemon's CPU with 30 services.) Without inotify (not Linux, or no instance left) it polls
every POLL_SECONDS.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.engine.events import TRUNCATED, LogStore, Stream
from devstack.engine.supervise import spawn

try:
    from inotify_simple import flags as _flags

    _MODIFY = _flags.MODIFY
except ImportError:  # not Linux: the tailer polls
    _MODIFY = 0

POLL_SECONDS = 0.05
# With inotify, files are also read this often with no event: a safety net for writes
# inotify cannot see (a file replaced under the same path).
QUIET_SECONDS = 2.0
# A longer line is cut here, with TRUNCATED appended, and the rest of it (up to its
# newline) is skipped: one runaway write without a newline cannot exhaust memory, nor
# flood the buffer with 64 KiB fragments that push out every useful line.
MAX_LINE = 64 * 1024
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
    watch: int | None = None  # the inotify watch descriptor
    partial: bytes = field(default=b"")
    skipping: bool = False  # inside a line already cut at MAX_LINE: drop up to its newline


class LogTailer:
    def __init__(self, store: LogStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._tails: dict[tuple[str, int, Stream], _Tail] = {}
        self._stop = threading.Event()
        self._inotify = _open_inotify()
        # add() and close() wake the thread through it; never blocks (a full pipe is awake).
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread = spawn("log-tailer", self._run, store, self._stop)

    def add(self, service: str, replica: int, stream: Stream, path: Path, from_end: bool) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
        if from_end:
            os.lseek(fd, 0, os.SEEK_END)
        watch = self._watch(path)
        with self._lock:
            old = self._tails.pop((service, replica, stream), None)
            tail = _Tail(service, replica, stream, fd, path, watch)
            self._tails[(service, replica, stream)] = tail
        if old:
            os.close(old.fd)
            if old.watch is not None and old.watch != watch:
                self._unwatch(old.watch)
        # Read what the process wrote before the watch existed, without waiting for its
        # next write.
        self._wake()

    def remove(self, service: str, replica: int) -> None:
        """Drain what is left, then stop following this instance's files."""
        # Reads happen under the lock: two readers of one descriptor would split lines.
        with self._lock:
            keys = [k for k in self._tails if k[0] == service and k[1] == replica]
            gone = [self._tails.pop(key) for key in keys]
            for tail in gone:
                self._drain(tail, final=True)
                os.close(tail.fd)
        for tail in gone:
            if tail.watch is not None:
                self._unwatch(tail.watch)  # takes the lock itself

    def flush(self) -> None:
        with self._lock:
            for tail in self._tails.values():
                self._drain(tail)

    def close(self) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(timeout=2)
        with self._lock:
            for tail in self._tails.values():
                os.close(tail.fd)
            self._tails.clear()
        if self._inotify is not None:
            self._inotify.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        if self._inotify is None:
            while not self._stop.wait(POLL_SECONDS):
                self.flush()
            return
        waiting_on = [self._inotify.fileno(), self._wake_r]
        while not self._stop.is_set():
            ready, _, _ = select.select(waiting_on, [], [], QUIET_SECONDS)
            if self._stop.is_set():
                return
            if self._wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            if self._inotify.fileno() in ready:
                self._inotify.read(timeout=0)  # consume: which file does not matter
            self.flush()
            if ready:
                # Let a burst of writes gather: one round of reads per POLL_SECONDS.
                self._stop.wait(POLL_SECONDS)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"x")

    def _watch(self, path: Path) -> int | None:
        if self._inotify is None:
            return None
        try:
            return int(self._inotify.add_watch(path, _MODIFY))
        except OSError:  # out of watches: the QUIET_SECONDS reads still follow the file
            return None

    def _unwatch(self, watch: int) -> None:
        # Another tail may share the watch (same file); inotify counts one per inode.
        with self._lock:
            shared = any(t.watch == watch for t in self._tails.values())
        if self._inotify is not None and not shared:
            with contextlib.suppress(OSError):  # the file is gone, and the watch with it
                self._inotify.rm_watch(watch)

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
            if tail.skipping:
                end = chunk.find(b"\n")
                if end < 0:
                    continue  # still inside the cut line
                chunk, tail.skipping = chunk[end + 1 :], False
            data = tail.partial + chunk
            *lines, tail.partial = data.split(b"\n")
            for line in lines:
                self._emit(tail, line[:MAX_LINE], cut=len(line) > MAX_LINE)
            if len(tail.partial) > MAX_LINE:
                self._emit(tail, tail.partial[:MAX_LINE], cut=True)
                tail.partial, tail.skipping = b"", True
        if final and tail.partial:
            self._emit(tail, tail.partial)
            tail.partial = b""

    def _emit(self, tail: _Tail, line: bytes, cut: bool = False) -> None:
        text = line.rstrip(b"\r").decode("utf-8", errors="replace")
        if cut:
            text += TRUNCATED
        self._store.emit(tail.service, tail.replica, tail.stream, text)


def _open_inotify() -> Any:
    try:
        from inotify_simple import INotify
    except ImportError:  # not Linux
        return None
    try:
        return INotify()
    except OSError:  # the user's inotify instances are used up: poll instead
        return None
