"""The watchdog adapter: watch folders and files, call back once per burst of content changes.

A live reload needs "these paths changed" once per save, not a stream of raw events, and it
must stay idle while nothing changes: watchdog's defaults also report every open, close and
read, and on a big tree the watcher's own directory walks then overflow inotify and it
spins at 100% CPU. So:

- one watchdog `Observer` (inotify on Linux) serves every watch of a `Watcher`, and every
  schedule asks the kernel only for content events (`CONTENT_EVENTS`): nothing wakes when
  files are opened, read or closed;
- a watched file (`devstack.yaml`, `.env`) is watched through its folder, non-recursively,
  and filtered to its name: editors save by writing a temporary file and renaming it over
  the original, which a watch on the file's inode would miss after the first save;
- a watched folder is covered by schedules that leave ignored folders out (`tree.py`), and
  every event is filtered by the ignore rules (`filters.py`) on its way to the watched
  path it concerns (`routing.py`);
- each watch gets its own `Debouncer`, so `on_change` runs once per burst, on that
  debouncer's thread, with every path that changed (both ends of a move);
- errors become one line for `on_error`, never a traceback or a dead thread: a path that
  does not exist (watched once it appears, when its folder exists), the inotify watch
  limit (watchdog raises ENOSPC for the root and silently skips subfolders, so the result
  is checked against the kernel's list of watches), a failing `on_change`.

Every path is also watched through its parent folder (its "anchor"), so a watched folder
that is deleted and created again, or appears only later, is watched again.

Threads and locks. Watchdog calls handlers on its observer thread while holding its own
lock, and `schedule`/`unschedule` take that lock too. So nothing the observer thread
touches may be held around a watchdog call: handlers (`routing.Route`) only take
`_routes_lock` (the listeners of a schedule) and the debouncers' locks, and changes of schedules that events
call for (a new subfolder where ignored folders were pruned, a watched folder deleted or
created) go to the replan thread. `_lock` (schedules, handles) is taken first and held
around watchdog calls, by callers of `watch`/`close` and by the replan thread only.
Lock order: `_lock` -> watchdog's lock -> `_routes_lock` -> a debouncer's lock.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.observers import Observer

from devstack.watch.debounce import Debouncer, MonotonicClock, ThreadTimer, Timer
from devstack.watch.filters import IgnoreRules
from devstack.watch.routing import CONTENT_EVENTS, Key, Route, Target, describe_error, sysctl
from devstack.watch.tree import MAX_SCHEDULES, plan_cover, unwatched

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver, ObservedWatch

    from devstack.engine.ports import Clock

logger = logging.getLogger(__name__)

DEFAULT_MAX_WAIT = 1.0


def _log_error(message: str) -> None:
    logger.warning("%s", message)


class WatchHandle:
    """One `Watcher.watch` call: `close()` stops it (pending changes are dropped)."""

    def __init__(self, watcher: Watcher, key: str, paths: tuple[Path, ...], debouncer: Debouncer):
        self._watcher = watcher
        self.key = key
        self.paths = paths
        self.debouncer = debouncer
        self.targets: list[Target] = []
        self.closed = False

    def close(self) -> None:
        self._watcher._close_handle(self)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<WatchHandle {self.key} {[str(p) for p in self.paths]} {state}>"


class Watcher:
    """Watches paths for content changes and calls back once per burst; see the module doc.

    `on_error` receives one line per problem, from whichever thread found it (the
    caller's, watchdog's, the replan thread, a debouncer's); it must not block for long.
    `observer_factory`, `clock` and `timer_factory` are seams for tests.
    """

    def __init__(
        self,
        on_error: Callable[[str], None] = _log_error,
        *,
        observer_factory: Callable[[], BaseObserver] = Observer,
        clock: Clock | None = None,
        timer_factory: Callable[[str], Timer] | None = None,
        max_schedules: int = MAX_SCHEDULES,
    ) -> None:
        self._on_error = on_error
        self._observer_factory = observer_factory
        self._clock: Clock = clock or MonotonicClock()
        self._timer_factory = timer_factory or self._thread_timer
        self._max_schedules = max_schedules
        self._lock = threading.RLock()  # schedules and handles; see the module doc
        self._routes_lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._routes: dict[Key, Route] = {}
        self._handles: dict[str, WatchHandle] = {}
        self._closed = False
        self._replan_cond = threading.Condition()
        self._replan_queue: dict[Target, None] = {}  # an ordered set
        self._replan_thread: threading.Thread | None = None
        self._replan_stop = False

    def _thread_timer(self, key: str) -> Timer:
        return ThreadTimer(self._clock, name=f"devstack-watch[{key}]")

    # -- public ----------------------------------------------------------------------

    def watch(
        self,
        key: str,
        paths: Sequence[Path],
        on_change: Callable[[frozenset[Path]], None],
        ignore: Sequence[str] = (),
        debounce: float = 0.1,
        *,
        max_wait: float | None = None,
        burst_debounce: float | None = None,
    ) -> WatchHandle:
        """Watch `paths` (folders, recursively, or files) and call `on_change(changed)` once
        `debounce` seconds pass without a change, or `max_wait` (default: the larger of
        1 s and `debounce`) after the first change of a burst that does not stop. A burst
        that lasts longer than `debounce` waits `burst_debounce` (default: `debounce`) of
        quiet instead.

        `ignore` adds gitignore-style patterns, relative to each watched folder, to the
        defaults (`filters.DEFAULT_IGNORES`). Paths are resolved (relative to the current
        folder, symlinks followed: a symlinked folder or file is watched where it really
        is), and `on_change` gets resolved paths. Watching a `key` again replaces its
        earlier watch. The watch is in place when this returns; problems go to
        `on_error` and the handle is returned anyway.
        """
        if not paths:
            raise ValueError(f"watch {key}: no paths to watch")
        cap = max(DEFAULT_MAX_WAIT, debounce) if max_wait is None else max_wait

        def failed(exc: Exception) -> None:
            self._report(f"watch {key}: on_change failed: {exc!r}")

        debouncer = Debouncer(
            on_change,
            delay=debounce,
            max_wait=cap,
            burst_delay=burst_debounce,
            clock=self._clock,
            timer=self._timer_factory(key),
            on_error=failed,
        )
        absolute = tuple(dict.fromkeys(Path(p).resolve() for p in paths))
        handle = WatchHandle(self, key, absolute, debouncer)
        rules = IgnoreRules(ignore)
        messages: list[str] = []
        with self._lock:
            if self._closed:
                raise RuntimeError("the watcher is closed")
            previous = self._handles.get(key)
            self._handles[key] = handle
            observer = self._ensure_observer(key, absolute[0], messages)
            if observer is not None:
                for path in absolute:
                    target = Target(key, path, rules, debouncer)
                    handle.targets.append(target)
                    messages += self._apply(target, initial=True)
            if previous is not None:  # after: schedules both use stay, with no gap
                self._detach(previous)
        if previous is not None:
            previous.debouncer.close()  # outside _lock: it waits for a running on_change
        for message in messages:
            self._report(message)
        return handle

    def unwatch(self, key: str) -> bool:
        """Stop the watch with this key; False when there was none."""
        with self._lock:
            handle = self._handles.get(key)
        if handle is None:
            return False
        handle.close()
        return True

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._handles)

    def close(self) -> None:
        """Stop every watch, the replan thread and the observer. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            handles = list(self._handles.values())
        for handle in handles:
            handle.close()
        with self._replan_cond:
            self._replan_stop = True
            self._replan_cond.notify()
            replan = self._replan_thread
        if replan is not None and replan is not threading.current_thread():
            replan.join()
        with self._lock:
            observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            if observer is not threading.current_thread():
                observer.join()

    # -- schedules (under _lock) ---------------------------------------------------------

    def _ensure_observer(self, key: str, path: Path, messages: list[str]) -> BaseObserver | None:
        if self._observer is None:
            try:
                observer = self._observer_factory()
                observer.start()
            except OSError as exc:
                messages.append(describe_error(key, path, exc))
                return None
            self._observer = observer
        return self._observer

    def _apply(self, target: Target, *, initial: bool = False) -> list[str]:
        """Make the target's schedules match its tree as it is now; returns error lines."""
        if target.closed or self._observer is None:
            return []
        key, path = target.key, target.path
        messages: list[str] = []
        cover = plan_cover(path, target.rules, self._max_schedules)
        wanted: dict[Key, None] = {}
        if target.anchor is not None:
            wanted[target.anchor] = None
        wanted.update({(str(p), False): None for p in sorted(cover.flat)})
        wanted.update({(str(p), True): None for p in sorted(cover.recursive)})
        live = self._live_watches()
        subscribed: set[Key] = set()
        fresh: list[Key] = []  # scheduled just now, so watchdog has added all their watches
        failures: dict[int | None, OSError] = {}  # one line per kind of failure
        for wanted_key in wanted:
            error, scheduled = self._subscribe(wanted_key, target, live)
            if error is None:
                subscribed.add(wanted_key)
                if scheduled:
                    fresh.append(wanted_key)
            elif wanted_key == target.anchor and error.errno == errno.ENOENT:
                if initial or not path.exists():
                    messages.append(
                        f"watch {key}: {path} does not exist, nor does its folder; not watched"
                    )
            elif error.errno != errno.ENOENT:  # a subfolder gone meanwhile is no error
                failures.setdefault(error.errno, error)
        messages += [describe_error(key, path, error) for error in failures.values()]
        for old in target.keys - subscribed:
            self._unsubscribe(old, target)
        target.keys = frozenset(subscribed)
        target.flat = frozenset(str(p) for p in cover.flat)
        if initial and target.anchor in subscribed and not os.path.lexists(path):
            messages.append(f"watch {key}: {path} does not exist; it is watched once it appears")
        checked = _under(cover.folders, [k for k in fresh if k != target.anchor])
        if checked:
            missing = unwatched(checked)
            if missing:
                messages.append(
                    f"watch {key}: {len(missing)} of {len(checked)} folders under {path} "
                    f"are not watched (first: {missing[0]}): inotify watch limit reached? "
                    f"(fs.inotify.max_user_watches={sysctl('max_user_watches')}); raise it "
                    "(sysctl fs.inotify.max_user_watches=524288) or ignore large folders"
                )
        return messages

    def _live_watches(self) -> set[ObservedWatch]:
        assert self._observer is not None
        return {e.watch for e in list(self._observer.emitters) if not e.stopped_event.is_set()}

    def _subscribe(
        self, key: Key, target: Target, live: set[ObservedWatch]
    ) -> tuple[OSError | None, bool]:
        """Add the target to the schedule `key`, scheduling it if needed.

        Returns the error, if any, and whether watchdog was asked to schedule.
        """
        route = self._routes.get(key)
        if route is not None and route.watch in live and _inode(key[0]) == route.inode:
            with self._routes_lock:
                route.listeners.add(target)
            return None, False
        if route is not None:  # its folder was deleted (watchdog stopped it) or replaced
            self._unschedule(route)
        else:
            route = Route(key, self._routes_lock, self._request_replan, self._report)
        with self._routes_lock:  # listening before scheduling: no event falls in between
            route.listeners.add(target)
        error = self._schedule(route)
        if error is not None:
            with self._routes_lock:
                route.listeners.discard(target)
            self._routes.pop(key, None)
            return error, True
        self._routes[key] = route
        return None, True

    def _schedule(self, route: Route) -> OSError | None:
        assert self._observer is not None
        folder, recursive = route.key
        try:
            route.inode = _inode(folder)
            route.watch = self._observer.schedule(
                route, folder, recursive=recursive, event_filter=CONTENT_EVENTS
            )
        except OSError as exc:
            route.watch = None
            return exc
        return None

    def _unschedule(self, route: Route) -> None:
        if route.watch is not None and self._observer is not None:
            with contextlib.suppress(KeyError):  # already gone
                self._observer.unschedule(route.watch)
            route.watch = None

    def _unsubscribe(self, key: Key, target: Target) -> None:
        route = self._routes.get(key)
        if route is None:
            return
        with self._routes_lock:
            route.listeners.discard(target)
            unused = not route.listeners
        if unused:
            del self._routes[key]
            self._unschedule(route)

    def _close_handle(self, handle: WatchHandle) -> None:
        with self._lock:
            self._detach(handle)
        handle.debouncer.close()  # outside _lock: it waits for a running on_change

    def _detach(self, handle: WatchHandle) -> None:
        """Drop the handle's schedules (its debouncer is the caller's to close)."""
        if handle.closed:
            return
        handle.closed = True
        if self._handles.get(handle.key) is handle:
            del self._handles[handle.key]
        for target in handle.targets:
            target.closed = True
            for key in target.keys:
                self._unsubscribe(key, target)
            target.keys = frozenset()

    # -- replanning (a thread of its own, see the module doc) ----------------------------

    def _request_replan(self, target: Target) -> None:
        with self._replan_cond:
            if self._replan_stop:
                return
            if target.replan_since is None:
                target.replan_since = time.time_ns()
            self._replan_queue[target] = None
            if self._replan_thread is None:
                self._replan_thread = threading.Thread(
                    target=self._replan_loop, name="devstack-watch-replan", daemon=True
                )
                self._replan_thread.start()
            self._replan_cond.notify()

    def _replan_loop(self) -> None:
        while True:
            with self._replan_cond:
                while not self._replan_queue and not self._replan_stop:
                    self._replan_cond.wait()
                if self._replan_stop:
                    return
                batch = list(self._replan_queue)
                self._replan_queue.clear()
            for target in batch:
                with self._replan_cond:
                    since, target.replan_since = target.replan_since, None
                try:
                    with self._lock:
                        messages = self._apply(target)
                    if since is not None:
                        self._catch_up(target, since)
                except Exception as exc:  # keep replanning the others
                    messages = [f"watch {target.key}: cannot rescan {target.path}: {exc!r}"]
                for message in messages:
                    self._report(message)

    def _catch_up(self, target: Target, since: int) -> None:
        """Offer again the files written since the replan was asked for.

        Replacing a schedule loses what its emitter had read but not yet dispatched
        (watchdog drops the queued events of an unscheduled watch), and the new schedules
        only see what comes after them: a file saved just after a new ignored folder
        appeared (`.git`, `__pycache__`) would never be synced or restart anything. Only
        files modified since then count, so a replan alone changes nothing.
        """
        if target.closed:
            return
        # The write comes before its event is read and dispatched, which on a busy machine
        # can take a while: a second of slack (a file saved just before also counts again,
        # which at worst repeats its sync or restart once).
        slack = 1_000_000_000
        floor = max(since - slack, target.watched_since)
        changed: list[Path] = []
        for folder in plan_cover(target.path, target.rules, self._max_schedules).folders.values():
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    if entry.stat(follow_symlinks=False).st_mtime_ns < floor:
                        continue
                except OSError:
                    continue
                parts = Path(entry.path).relative_to(target.path).parts
                if not target.rules.ignored_parts(parts, is_dir=False):
                    changed.append(Path(entry.path))
        if changed:
            target.debouncer.add(*changed)

    def _report(self, message: str) -> None:
        try:
            self._on_error(message)
        except Exception:
            logger.exception("on_error failed for: %s", message)


def _under(folders: dict[int, Path], keys: list[Key]) -> dict[int, Path]:
    """The folders that the schedules `keys` reach: flat ones themselves, recursive ones
    with everything below."""
    if not keys:
        return {}
    exact = {folder for folder, _ in keys}
    prefixes = tuple(folder.rstrip(os.sep) + os.sep for folder, recursive in keys if recursive)
    reached = {}
    for inode, path in folders.items():
        text = str(path)
        if text in exact or (prefixes and text.startswith(prefixes)):
            reached[inode] = path
    return reached


def _inode(folder: str) -> int:
    try:
        return Path(folder).stat().st_ino
    except OSError:
        return 0
