"""The debouncer, driven by a fake clock and a manual timer: no test sleeps."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from devstack.testing import FakeClock
from devstack.watch.debounce import Debouncer, ManualTimer, ThreadTimer

DELAY = 0.1
MAX_WAIT = 1.0


class Rig:
    """A debouncer on a fake clock, recording its calls."""

    def __init__(
        self, delay: float = DELAY, max_wait: float = MAX_WAIT, burst_delay: float | None = None
    ) -> None:
        self.clock = FakeClock()
        self.timer = ManualTimer(self.clock)
        self.calls: list[frozenset[Path]] = []
        self.errors: list[Exception] = []
        self.debouncer = Debouncer(
            self.calls.append,
            delay=delay,
            max_wait=max_wait,
            burst_delay=burst_delay,
            clock=self.clock,
            timer=self.timer,
            on_error=self.errors.append,
        )

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.timer.run_due()


def paths(*names: str) -> list[Path]:
    return [Path("/src") / name for name in names]


def test_a_burst_of_a_thousand_events_makes_one_call_with_every_path() -> None:
    rig = Rig()
    burst = [Path(f"/src/f{i}.py") for i in range(1000)]

    for path in burst:
        rig.debouncer.add(path)
        rig.advance(0.00005)  # a thousand events in 50 ms
    rig.advance(DELAY)

    assert rig.calls == [frozenset(burst)]


def test_nothing_is_called_before_the_quiet_period_ends() -> None:
    rig = Rig()

    rig.debouncer.add(*paths("a.py"))
    rig.advance(DELAY - 0.01)

    assert rig.calls == []
    assert rig.debouncer.pending == frozenset(paths("a.py"))


def test_an_event_during_the_quiet_period_restarts_it() -> None:
    rig = Rig()

    rig.debouncer.add(*paths("a.py"))
    rig.advance(0.08)
    rig.debouncer.add(*paths("b.py"))
    rig.advance(0.08)  # 0.16 s after the first event, 0.08 s after the last

    assert rig.calls == []
    rig.advance(0.02)
    assert rig.calls == [frozenset(paths("a.py", "b.py"))]


def test_the_same_path_twice_is_reported_once() -> None:
    rig = Rig()

    rig.debouncer.add(*paths("a.py", "a.py"))
    rig.debouncer.add(*paths("a.py"))
    rig.advance(DELAY)

    assert rig.calls == [frozenset(paths("a.py"))]


def test_bursts_separated_by_quiet_make_one_call_each() -> None:
    rig = Rig()

    rig.debouncer.add(*paths("a.py"))
    rig.advance(DELAY)
    rig.advance(5.0)
    rig.debouncer.add(*paths("b.py"))
    rig.advance(DELAY)

    assert rig.calls == [frozenset(paths("a.py")), frozenset(paths("b.py"))]


def test_max_wait_fires_during_an_endless_burst() -> None:
    rig = Rig()
    step = 0.05  # always inside the quiet period, so it never ends

    for i in range(int(3.5 / step)):
        rig.debouncer.add(Path(f"/src/log{i}"))
        rig.advance(step)

    assert len(rig.calls) == 3  # at 1 s, 2 s and 3 s
    assert sum(len(call) for call in rig.calls) + len(rig.debouncer.pending) == 70
    assert Path("/src/log0") in rig.calls[0]


def test_after_a_capped_call_the_rest_of_the_burst_waits_only_for_quiet() -> None:
    rig = Rig()
    while not rig.calls:  # an endless burst, until the cap fires
        rig.debouncer.add(Path(f"/src/log{rig.clock.now()}"))
        rig.advance(0.05)
    rig.debouncer.add(*paths("last.py"))

    rig.advance(DELAY - 0.01)
    assert len(rig.calls) == 1
    rig.advance(0.01)
    assert rig.calls[1] == frozenset(paths("last.py"))


def test_close_drops_pending_paths_and_stops_calling() -> None:
    rig = Rig()

    rig.debouncer.add(*paths("a.py"))
    rig.debouncer.close()
    rig.advance(DELAY)
    rig.debouncer.add(*paths("b.py"))
    rig.advance(DELAY)

    assert rig.calls == []
    assert rig.timer.closed


def test_flush_delivers_pending_paths_at_once() -> None:
    rig = Rig()

    rig.debouncer.add(*paths("a.py"))
    rig.debouncer.flush()
    rig.advance(DELAY)

    assert rig.calls == [frozenset(paths("a.py"))]


def test_a_failing_callback_is_reported_and_the_next_burst_still_calls() -> None:
    clock = FakeClock()
    timer = ManualTimer(clock)
    errors: list[Exception] = []
    calls: list[frozenset[Path]] = []

    def callback(changed: frozenset[Path]) -> None:
        calls.append(changed)
        if len(calls) == 1:
            raise OSError("restart failed")

    debouncer = Debouncer(callback, clock=clock, timer=timer, on_error=errors.append)
    debouncer.add(*paths("a.py"))
    clock.advance(DELAY)
    timer.run_due()
    debouncer.add(*paths("b.py"))
    clock.advance(DELAY)
    timer.run_due()

    assert [str(e) for e in errors] == ["restart failed"]
    assert calls == [frozenset(paths("a.py")), frozenset(paths("b.py"))]


def test_a_cap_shorter_than_the_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="max_wait"):
        Debouncer(lambda _: None, delay=1.0, max_wait=0.5, clock=FakeClock())


def test_the_thread_timer_calls_back_on_its_thread_and_closes() -> None:
    """The real timer, with a deadline already passed: the wait is for a thread hop only."""
    timer = ThreadTimer()
    fired = threading.Event()
    threads: list[str] = []

    def wake() -> None:
        threads.append(threading.current_thread().name)
        fired.set()

    timer.call_at(0.0, wake)

    assert fired.wait(timeout=5.0)
    timer.close()
    assert threads == ["devstack-timer"]


def test_the_thread_timer_forgets_a_cancelled_call() -> None:
    timer = ThreadTimer()
    fired = threading.Event()
    probe = threading.Event()

    timer.call_at(1e12, fired.set)  # far in the future
    timer.cancel()
    timer.call_at(0.0, probe.set)

    assert probe.wait(timeout=5.0)
    timer.close()
    assert not fired.is_set()


def test_a_debouncer_closed_from_its_own_callback_does_not_deadlock() -> None:
    done = threading.Event()

    def callback(_: frozenset[Path]) -> None:
        debouncer.close()
        done.set()

    debouncer = Debouncer(callback, delay=0.0, max_wait=0.0)
    debouncer.add(*paths("a.py"))

    assert done.wait(timeout=5.0)
    debouncer.close()  # idempotent, and joins the finished timer thread


def test_a_slow_bulk_change_waits_for_the_longer_burst_quiet() -> None:
    """A bulk write slowed down (a loaded machine) pauses longer than an editor's save
    window between files: once the batch is longer than a save, a burst window makes it
    one call, not one per pause; saves stay fast, even one right after another."""
    quick = [Path(f"/src/quick{i}.py") for i in range(100)]
    slow = [Path(f"/src/slow{i}.py") for i in range(20)]

    def run(burst_delay: float | None) -> list[frozenset[Path]]:
        rig = Rig(delay=0.02, max_wait=1.0, burst_delay=burst_delay)
        for path in quick:
            rig.debouncer.add(path)
            rig.advance(0.0003)
        for path in slow:
            rig.debouncer.add(path)
            rig.advance(0.03)  # longer than the save window between files
        rig.advance(0.2)
        return rig.calls

    assert len(run(None)) > 10
    assert run(0.2) == [frozenset(quick + slow)]

    save = Rig(delay=0.02, max_wait=1.0, burst_delay=0.2)
    for _ in range(2):  # the second save right after the first one's call
        save.debouncer.add(*paths("app.py", "app.py~"))
        save.advance(0.02)
    assert save.calls == [frozenset(paths("app.py", "app.py~"))] * 2


def test_a_burst_window_outside_delay_and_max_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="burst_delay"):
        Debouncer(lambda _: None, delay=0.1, max_wait=1.0, burst_delay=2.0)
