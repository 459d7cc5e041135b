"""Routing watchdog events to watches: which events count, and for which watched path.

One watchdog schedule (a folder, flat or recursive) is a `Route`; several watched paths
can share it (a manifest and a `.env` in one folder, a folder and its parent's anchor).
Each watched path is a `Target`: it keeps the events that concern it, drops ignored
paths, hands the rest to its watch's debouncer, and says when its schedules need
rebuilding (a subfolder appeared where ignored folders were pruned, the path itself came
or went). Routes run on watchdog's observer thread, so they only take their listeners'
lock and a debouncer's; rebuilding is the Watcher's job, on another thread.

`describe_error` turns an OSError from watchdog into the one line a user acts on.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)

from devstack.watch.debounce import Debouncer
from devstack.watch.filters import IgnoreRules

if TYPE_CHECKING:
    from watchdog.observers.api import ObservedWatch

# The events that mean content changed. Opens, closes, reads and folder "modified" events
# are left out, so watchdog does not even ask inotify for them. FileAttribEvent (watchdog
# 7 reports IN_ATTRIB apart from IN_MODIFY) is kept: `touch file` to force a reload, or a
# chmod +x, is a change; the kernel sends IN_ATTRIB for FileModifiedEvent's mask anyway.
CONTENT_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
Key = tuple[str, bool]  # (folder, recursive): one watchdog schedule


def sysctl(name: str) -> str:
    try:
        return Path(f"/proc/sys/fs/inotify/{name}").read_text().strip()
    except OSError:
        return "?"


def describe_error(key: str, path: Path, exc: OSError) -> str:
    """One line saying what went wrong watching `path`, and what to do about it."""
    if exc.errno == errno.ENOSPC:
        return (
            f"watch {key}: cannot watch {path}: inotify watch limit reached "
            f"(fs.inotify.max_user_watches={sysctl('max_user_watches')}); raise it "
            "(sysctl fs.inotify.max_user_watches=524288) or ignore large folders"
        )
    if exc.errno == errno.EMFILE:
        return (
            f"watch {key}: cannot watch {path}: inotify instance limit reached "
            f"(fs.inotify.max_user_instances={sysctl('max_user_instances')}); raise it "
            "(sysctl fs.inotify.max_user_instances=1024) or stop other watchers"
        )
    if exc.errno == errno.ENOENT:
        return f"watch {key}: {path} does not exist"
    return f"watch {key}: cannot watch {path}: {exc.strerror or exc}"


class Target:
    """One watched path: its anchor (the parent folder, flat) and the cover of its tree."""

    def __init__(self, key: str, path: Path, rules: IgnoreRules, debouncer: Debouncer) -> None:
        self.key = key  # the watch's, for messages
        self.debouncer = debouncer
        self.path = path
        self.text = str(path)
        self.prefix = self.text if self.text.endswith(os.sep) else self.text + os.sep
        self.rules = rules
        self.anchor: Key | None = None if path.parent == path else (str(path.parent), False)
        # Written under the watcher's _lock; read on the observer thread (each is replaced
        # whole, never mutated, so a reader sees one version or the other).
        self.keys: frozenset[Key] = frozenset()
        self.flat: frozenset[str] = frozenset()
        # When the earliest pending replan was asked for (time.time_ns, as file mtimes),
        # or None: see Watcher._catch_up.
        self.replan_since: int | None = None
        self.watched_since = time.time_ns()  # what was written before was never missed
        self.closed = False

    def offer(self, key: Key, event: FileSystemEvent) -> bool:
        """Take one event from schedule `key`; returns whether the cover needs a replan."""
        raw = [event.src_path]
        if isinstance(event, FileSystemMovedEvent) and event.dest_path:
            raw.append(event.dest_path)
        changed: list[Path] = []
        replan = False
        for item in raw:
            text = os.fsdecode(item)
            if key == self.anchor:  # the parent folder: only the path itself counts
                if text == self.text:
                    changed.append(self.path)
                    replan = replan or event.is_directory or len(self.keys) > 1
                continue
            if text == self.text:
                changed.append(self.path)
                continue
            if not text.startswith(self.prefix):
                continue
            parts = Path(text[len(self.prefix) :]).parts
            if self.rules.ignored_parts(parts, is_dir=event.is_directory):
                if (
                    event.is_directory
                    and not isinstance(event, DirDeletedEvent)
                    and not self.rules.ignored_parts(parts[:-1], is_dir=True)
                ):
                    replan = True  # a new ignored folder (npm install): prune it if we may
                continue
            changed.append(Path(text))
            if event.is_directory and str(Path(text).parent) in self.flat:
                replan = True  # a subfolder of a flat-watched folder came or went
        if changed:
            self.debouncer.add(*changed)
        return replan


class Route(FileSystemEventHandler):
    """One watchdog schedule and the targets listening to it."""

    def __init__(
        self,
        key: Key,
        lock: threading.Lock,
        replan: Callable[[Target], None],
        report: Callable[[str], None],
    ) -> None:
        super().__init__()
        self.key = key
        self._lock = lock  # guards `listeners`; shared by every route of a Watcher
        self._replan = replan
        self._report = report
        self.listeners: set[Target] = set()
        self.watch: ObservedWatch | None = None
        self.inode = 0  # of the folder when scheduled: another one means it was recreated

    def dispatch(self, event: FileSystemEvent) -> None:
        # On watchdog's observer thread: an exception here would end that thread and
        # every watch with it.
        try:
            with self._lock:
                listeners = list(self.listeners)
            for target in listeners:
                if target.offer(self.key, event) and not target.closed:
                    self._replan(target)
        except Exception as exc:
            self._report(f"watch: cannot handle {event!r}: {exc!r}")
