"""On-disk logs: one file per service under `.devstack/logs/`, rotated by size.

`LogFiles` writes them (in the daemon); `read_back` reads them again, for `devstack logs`
when no daemon runs: the same lines, shaped as the API sends them.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

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
