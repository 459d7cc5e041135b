"""Turn a burst of file-change events into one call: trailing-edge debounce with a cap.

An editor's save, a `git checkout` or a formatter run is tens to thousands of events in a
few milliseconds; a service should restart once, after the burst, with every path that
changed. So a `Debouncer` collects paths and calls back once `delay` seconds pass with no
new event. A burst that never ends (a build writing continuously, a log inside the
tree) must not starve the callback, so a call also happens `max_wait` seconds after the
first event of a batch, and then every `max_wait` while the burst lasts.

A short quiet window keeps an editor's save fast, but splits a bulk change (a checkout,
a code generator) whose writer is slowed down, say on a loaded machine, into many calls.
So a batch waits `burst_delay` of quiet once it has lasted longer than `delay` (it is
not one save). A bulk change whose very first file is followed by a long pause still
makes two calls: telling it from two quick saves would slow every save down.

Time is a parameter (STYLE 7): the `Clock` says what time it is and the `Timer` wakes
the debouncer at a deadline. `ThreadTimer` waits on a `threading.Condition` in one
background thread (no polling: an idle debouncer's thread sleeps without a timeout);
`ManualTimer` fires only when a test calls `run_due()` after advancing a `FakeClock`,
so unit tests never sleep.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from devstack.engine.ports import Clock

logger = logging.getLogger(__name__)

Wake = Callable[[], None]


class MonotonicClock:
    """The real clock: `time.monotonic()`, which `threading.Condition.wait` timeouts follow."""

    def now(self) -> float:
        return time.monotonic()


class Timer(Protocol):
    """Calls a function back at a clock time. One pending call at a time."""

    def call_at(self, deadline: float, wake: Wake) -> None:
        """Call `wake` once the clock reads `deadline` or later; replaces a pending call."""
        ...

    def cancel(self) -> None:
        """Forget the pending call, if any."""
        ...

    def close(self) -> None:
        """Forget the pending call and accept no more. When it returns (from another
        thread than the one calling back), no call is running or will run."""
        ...


class ThreadTimer:
    """A Timer backed by one daemon thread, started on first use, that waits on a
    Condition: without a timeout while nothing is pending, until the deadline otherwise.

    `clock` must count seconds like `time.monotonic()` (the Condition's timeouts do).
    `wake` runs on the timer's thread, with no lock held, so it may call `call_at` again.
    """

    def __init__(self, clock: Clock | None = None, name: str = "devstack-timer") -> None:
        self._clock: Clock = clock or MonotonicClock()
        self._name = name
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._wake: Wake | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def call_at(self, deadline: float, wake: Wake) -> None:
        with self._cond:
            if self._closed:
                return
            self._deadline, self._wake = deadline, wake
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def cancel(self) -> None:
        with self._cond:
            self._deadline, self._wake = None, None
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._deadline, self._wake = None, None
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._deadline is None:
                        self._cond.wait()
                        continue
                    left = self._deadline - self._clock.now()
                    if left <= 0:
                        break
                    # Capped: a far deadline would overflow the lock's timeout.
                    self._cond.wait(min(left, 3600.0))
                if self._closed:
                    return
                wake, self._deadline, self._wake = self._wake, None, None
            if wake is not None:
                try:
                    wake()
                except Exception:  # the timer must outlive a failing callback
                    logger.exception("timer callback failed")


class ManualTimer:
    """A Timer for tests: records the deadline; `run_due()` calls back what the clock has reached."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.deadline: float | None = None
        self._wake: Wake | None = None
        self.closed = False

    def call_at(self, deadline: float, wake: Wake) -> None:
        if not self.closed:
            self.deadline, self._wake = deadline, wake

    def cancel(self) -> None:
        self.deadline, self._wake = None, None

    def close(self) -> None:
        self.closed = True
        self.cancel()

    def run_due(self) -> int:
        """Call back while a pending deadline has been reached; returns how many calls ran."""
        calls = 0
        while self.deadline is not None and self._clock.now() >= self.deadline:
            wake, self.deadline, self._wake = self._wake, None, None
            calls += 1
            if wake is not None:
                wake()
        return calls


def _log_error(exc: Exception) -> None:
    logger.error("change callback failed: %s", exc, exc_info=exc)


class Debouncer:
    """Collects changed paths; calls `callback(paths)` once per quiet period or `max_wait`.

    - Trailing edge: the call comes `delay` seconds after the last event of a burst
      (`burst_delay` for a batch that lasted longer than `delay`).
    - Cap: it comes no later than `max_wait` seconds after the first event of the batch,
      so an endless burst still produces a call every `max_wait` seconds.
    - Calls never overlap: they run on the timer's thread (or `flush()`'s caller), one
      after another; events arriving during a call form the next batch.
    - An exception from `callback` goes to `on_error` (default: logged) and the debouncer
      carries on.
    - `close()` drops pending paths: after it returns (called from another thread than
      the callback's), the callback is never called again; a call already running is
      waited for. Call `flush()` first to deliver what is pending instead.

    Thread-safe: `add` may be called from any thread (the watcher calls it from
    watchdog's observer thread).
    """

    def __init__(
        self,
        callback: Callable[[frozenset[Path]], None],
        *,
        delay: float = 0.1,
        max_wait: float = 1.0,
        burst_delay: float | None = None,
        clock: Clock | None = None,
        timer: Timer | None = None,
        on_error: Callable[[Exception], None] = _log_error,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}")
        if max_wait < delay:
            raise ValueError(f"max_wait ({max_wait}) must be >= delay ({delay})")
        burst_delay = delay if burst_delay is None else burst_delay
        if not delay <= burst_delay <= max_wait:
            raise ValueError(
                f"burst_delay ({burst_delay}) must be between delay ({delay}) and max_wait"
            )
        self._callback = callback
        self.delay = delay
        self.max_wait = max_wait
        self.burst_delay = burst_delay
        self._clock: Clock = clock or MonotonicClock()
        self._timer: Timer = timer if timer is not None else ThreadTimer(self._clock)
        self._on_error = on_error
        # Guards everything below; never held while calling back.
        self._lock = threading.Lock()
        self._pending: set[Path] = set()
        self._first: float = 0.0  # clock time of the batch's first event
        self._last: float = 0.0  # and of its latest
        self._armed = False  # the timer has a pending call to _wake
        self._closed = False
        # Held while calling back, so a flush() never overlaps a timer's call. Reentrant:
        # the callback may itself call flush().
        self._delivering = threading.RLock()

    @property
    def pending(self) -> frozenset[Path]:
        with self._lock:
            return frozenset(self._pending)

    def add(self, *paths: Path) -> None:
        """Record changed paths; the batch's deadline moves to `delay` from now (within the cap)."""
        if not paths:
            return
        with self._lock:
            if self._closed:
                return
            now = self._clock.now()
            if not self._pending:
                self._first = now
            self._pending.update(paths)
            self._last = now
            # Arm once per batch; _wake moves the deadline if events came meanwhile. This
            # keeps a burst of thousands of events from re-arming the timer thousands of times.
            if not self._armed:
                self._armed = True
                self._timer.call_at(self._deadline(), self._wake)

    def flush(self) -> None:
        """Deliver what is pending now, on the caller's thread (a no-op when nothing is)."""
        with self._lock:
            batch = self._take()
        if batch:
            self._deliver(batch)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()
        self._timer.close()

    def _deadline(self) -> float:
        quiet = self.delay if self._last - self._first < self.delay else self.burst_delay
        return min(self._last + quiet, self._first + self.max_wait)

    def _take(self) -> frozenset[Path]:
        batch = frozenset(self._pending)
        self._pending.clear()
        return batch

    def _wake(self) -> None:
        with self._lock:
            self._armed = False
            if self._closed or not self._pending:
                return
            deadline = self._deadline()
            if self._clock.now() < deadline:
                self._armed = True
                self._timer.call_at(deadline, self._wake)
                return
            batch = self._take()
        self._deliver(batch)

    def _deliver(self, batch: frozenset[Path]) -> None:
        with self._delivering:
            try:
                self._callback(batch)
            except Exception as exc:
                self._on_error(exc)
