"""Progress of a snapshot, restore or carry: items, bytes and rate.

On a terminal one line is redrawn in place (at most 10 times a second); piped, a plain
line per backing service and at most one every 2 seconds, so a log stays readable. Only
counts are shown, never a key's value.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class Meter:
    """Counts for one phase of one backing service, shown on `stream`."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        quiet: bool = False,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.quiet = quiet
        self._lock = threading.Lock()
        self.label = ""
        self.items = self.size = 0
        self.total_items = self.total_size = 0
        self._started = self._shown = clock()

    def start(self, label: str) -> None:
        with self._lock:
            self.label = label
            self.items = self.size = 0
            self._started = self._shown = self.clock()

    def advance(self, items: int = 1, size: int = 0) -> None:
        with self._lock:
            self.items += items
            self.size += size
            self.total_items += items
            self.total_size += size
            now = self.clock()
            every = 0.1 if self.tty else 2.0
            if now - self._shown >= every:
                self._shown = now
                self._show(final=False)

    def finish(self) -> None:
        with self._lock:
            self._show(final=True)

    def line(self) -> str:
        elapsed = max(self.clock() - self._started, 1e-6)
        rate = self.items / elapsed
        text = f"{self.label}: {self.items} item{'s' if self.items != 1 else ''}"
        if self.size:
            text += f", {human(self.size)} ({human(self.size / elapsed)}/s)"
        return text + f", {rate:.0f} items/s, {elapsed:.1f}s"

    def _show(self, final: bool) -> None:
        if self.quiet or not self.label:
            return
        if self.tty:
            self.stream.write("\r\033[K" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
