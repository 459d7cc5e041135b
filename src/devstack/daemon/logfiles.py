"""On-disk logs: one file per service under `.devstack/logs/`, rotated by size."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from devstack.engine.events import LogLine

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3


class LogFiles:
    """Subscriber of the LogStore that appends each line to its service's file."""

    def __init__(self, directory: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        self._dir = directory
        self._max = max_bytes
        self._backups = backups
        self._lock = threading.Lock()
        self._files: dict[str, IO[str]] = {}

    def __call__(self, line: LogLine) -> None:
        stamp = datetime.fromtimestamp(line.ts, UTC).isoformat(timespec="milliseconds")
        replica = f"#{line.replica}" if line.replica else ""
        text = f"{stamp} {line.stream} {line.service}{replica} {line.text}\n"
        with self._lock:
            handle = self._files.get(line.service)
            if handle is None:
                handle = self._files[line.service] = self._path(line.service).open(
                    "a", encoding="utf-8"
                )
            handle.write(text)
            handle.flush()
            if handle.tell() >= self._max:
                self._rotate(line.service)

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
                handle.close()
            self._files.clear()
