"""On-disk logs: one file per service under `.devstack/logs/`, rotated by size.

`LogFiles` writes them (in the daemon); `read_back` reads them again, for `devstack logs`
when no daemon runs: the same lines, shaped as the API sends them.

A full disk (ENOSPC) or a failing one (EIO) never raises out of here: the line is
dropped and counted, status says "disk full: … logs are being dropped", and writing is
tried again at most every RETRY_SECONDS (not on every line of a flood). The first write
that succeeds puts a gap marker in each affected file, saying how many lines are missing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from devstack.daemon.disk import DiskTrouble, describe
from devstack.engine.events import LogLine

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3
RETRY_SECONDS = 1.0
TROUBLE_KEY = "logs"


class LogFiles:
    """Subscriber of the LogStore that appends each line to its service's file."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int = MAX_BYTES,
        backups: int = BACKUPS,
        trouble: DiskTrouble | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dir = directory
        self._max = max_bytes
        self._backups = backups
        self._lock = threading.Lock()
        self._files: dict[str, IO[str]] = {}
        self._trouble = trouble or DiskTrouble()
        self._clock = clock
        self._dropped: dict[str, int] = {}  # lines lost per service since the disk failed
        self._since: float | None = None  # wall time of the first dropped line
        self._retry_at = 0.0

    def __call__(self, line: LogLine) -> None:
        with self._lock:
            if self._dropped and self._clock() < self._retry_at:
                self._dropped[line.service] = self._dropped.get(line.service, 0) + 1
                return
            try:
                self._write_gaps()
                self._write(line.service, _format(line))
            except OSError as exc:
                self._drop(line, exc)

    def retry(self) -> None:
        """Write the gap markers if the disk takes writes again (called periodically, so a
        quiet service's gap is closed, and status cleared, without waiting for its next line)."""
        with self._lock:
            if not self._dropped or self._clock() < self._retry_at:
                return
            try:
                self._write_gaps()
            except OSError as exc:
                self._retry_at = self._clock() + RETRY_SECONDS
                self._trouble.failed(TROUBLE_KEY, _message(self._dir, exc), announce=False)

    def _drop(self, line: LogLine, exc: OSError) -> None:
        if not self._dropped:
            self._since = line.ts
        self._dropped[line.service] = self._dropped.get(line.service, 0) + 1
        self._retry_at = self._clock() + RETRY_SECONDS
        # A handle whose write failed may hold half a line in its buffer: start afresh.
        handle = self._files.pop(line.service, None)
        if handle is not None:
            # Closing flushes the same half line: the disk is still full, so it fails too.
            with contextlib.suppress(OSError):
                handle.close()
        self._trouble.failed(TROUBLE_KEY, _message(self._dir, exc), announce=False)

    def _write_gaps(self) -> None:
        """One marker line per affected file; each file's count is cleared once written."""
        if not self._dropped:
            return
        since = self._since or time.time()
        for service, count in sorted(self._dropped.items()):
            stamp = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
            began = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
            self._write(
                service,
                f"{stamp} event {service} … {count} line(s) dropped since {began}: "
                "the disk was full\n",
            )
            del self._dropped[service]
        self._since = None
        self._trouble.recovered(TROUBLE_KEY)

    def _write(self, service: str, text: str) -> None:
        handle = self._files.get(service)
        if handle is None:
            handle = self._files[service] = self._path(service).open("a", encoding="utf-8")
        handle.write(text)
        handle.flush()
        if handle.tell() >= self._max:
            self._rotate(service)

    def _path(self, service: str) -> Path:
        return self._dir / f"{service}.log"

    def _rotate(self, service: str) -> None:
        self._files.pop(service).close()
        base = self._path(service)
        for index in range(self._backups - 1, 0, -1):
            older = base.with_name(f"{base.name}.{index}")
            if older.exists():
                older.replace(base.with_name(f"{base.name}.{index + 1}"))
        base.replace(base.with_name(f"{base.name}.1"))

    def close(self) -> None:
        with self._lock:
            for handle in self._files.values():
                # A full disk: what the buffer held is lost, like the dropped lines.
                with contextlib.suppress(OSError):
                    handle.close()
            self._files.clear()


def _format(line: LogLine) -> str:
    stamp = datetime.fromtimestamp(line.ts, UTC).isoformat(timespec="milliseconds")
    replica = f"#{line.replica}" if line.replica else ""
    return f"{stamp} {line.stream} {line.service}{replica} {line.text}\n"


def _message(directory: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{describe(exc)}: cannot write {directory} ({reason}); logs are being dropped"


def _parse(raw: str) -> dict[str, Any] | None:
    """One line as LogFiles wrote it -> a LogLineModel-shaped dict; None if not one."""
    parts = raw.rstrip("\n").split(" ", 3)
    if len(parts) < 3:
        return None
    stamp, stream, who = parts[:3]
    try:
        ts = datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None
    service, _, replica = who.partition("#")
    return {
        "seq": 0,
        "ts": ts,
        "service": service,
        "replica": int(replica) if replica.isdigit() else 0,
        "stream": stream,
        "text": parts[3] if len(parts) > 3 else "",
    }


def logged_services(directory: Path) -> set[str]:
    """Services that have a log file (providers and backing nodes included)."""
    return {path.name.removesuffix(".log") for path in directory.glob("*.log")}


def read_back(
    directory: Path,
    services: list[str] | None = None,
    since: float | None = None,
    tail: int | None = None,
) -> list[dict[str, Any]]:
    """The lines on disk, oldest first across services (rotated files included), as the
    API's /v1/logs would send them: `services` (all by default), newer than `since`, the
    last `tail`."""
    lines: list[dict[str, Any]] = []
    for service in sorted(services or logged_services(directory)):
        base = directory / f"{service}.log"
        rotated = [base.with_name(f"{base.name}.{i}") for i in range(BACKUPS, 0, -1)]
        for path in [*rotated, base]:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            for raw in text.splitlines():
                line = _parse(raw)
                if line is not None and (since is None or line["ts"] >= since):
                    lines.append(line)
    lines.sort(key=lambda line: line["ts"])  # stable: a service's own order is kept
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    return lines
