"""The process runtime's state file, written soon after a start instead of during it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from devstack.engine.events import LogStore
from devstack.runtimes.write_behind import WriteBehind


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return False


def test_asks_made_while_a_write_runs_make_one_more_write() -> None:
    closed = threading.Event()
    entered, release = threading.Event(), threading.Event()
    writes: list[float] = []

    def flush() -> None:
        entered.set()
        release.wait(5.0)  # a slow disk: the first write holds until released
        writes.append(time.monotonic())

    writer = WriteBehind(flush, LogStore(), closed)
    try:
        writer.soon()
        assert entered.wait(5.0)  # the first ask is written without waiting for more
        for _ in range(20):  # 20 starts while the disk is busy: the caller never waits
            writer.soon()
        release.set()
        assert wait_for(lambda: len(writes) == 2), writes
        time.sleep(0.05)  # an absence cannot be awaited: a third write would show by now
        assert len(writes) == 2
    finally:
        closed.set()


def test_nothing_asked_nothing_written() -> None:
    closed = threading.Event()
    writes: list[int] = []
    WriteBehind(lambda: writes.append(1), LogStore(), closed)
    time.sleep(0.05)
    closed.set()
    assert writes == []
