"""The log and event stream: bounded rings, and snapshot-then-subscribe without gaps."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from devstack.engine.events import ENGINE, LINE_OVERHEAD, LogLine, LogStore
from devstack.testing import FakeClock


def store(per_service: int = 5000) -> LogStore:
    """A store whose byte budget holds `per_service` lines of two characters."""
    return LogStore(per_service * (LINE_OVERHEAD + 2), clock=FakeClock().now)


def test_lines_are_numbered_in_emission_order_across_services() -> None:
    logs = store()
    logs.emit("a", 0, "stdout", "one")
    logs.emit("b", 1, "stderr", "two")
    logs.event("three")

    lines = logs.snapshot()

    assert [(x.seq, x.service, x.replica, x.stream, x.text) for x in lines] == [
        (1, "a", 0, "stdout", "one"),
        (2, "b", 1, "stderr", "two"),
        (3, ENGINE, 0, "event", "three"),
    ]
    assert {x.ts for x in lines} == {1000.0}


def test_the_ring_keeps_only_the_newest_lines_of_each_service() -> None:
    logs = store(per_service=3)
    for n in range(5):
        logs.emit("noisy", 0, "stdout", f"n{n}")
    logs.emit("quiet", 0, "stdout", "q")

    assert [x.text for x in logs.snapshot(["noisy"])] == ["n2", "n3", "n4"]
    assert [x.text for x in logs.snapshot(["quiet"])] == ["q"]
    assert [x.text for x in logs.snapshot()] == ["n2", "n3", "n4", "q"]


def test_one_noisy_service_does_not_push_out_another_services_lines() -> None:
    logs = store(per_service=2)
    logs.emit("quiet", 0, "stdout", "keep me")
    for n in range(100):
        logs.emit("noisy", 0, "stdout", str(n))

    assert [x.text for x in logs.snapshot(["quiet"])] == ["keep me"]


def test_snapshot_filters_by_service_and_time() -> None:
    clock = FakeClock()
    logs = LogStore(clock=clock.now)
    logs.emit("a", 0, "stdout", "old")
    clock.advance(10)
    logs.emit("a", 0, "stdout", "new")
    logs.emit("b", 0, "stdout", "other")

    assert [x.text for x in logs.snapshot(["a"], since=1005.0)] == ["new"]
    assert [x.text for x in logs.snapshot(since=1010.0)] == ["new", "other"]


def test_last_lines_leave_out_engine_events() -> None:
    logs = store()
    logs.emit("api", 0, "stdout", "a")
    logs.event("start service:api: not running", service="api")
    logs.emit("api", 0, "stderr", "b")
    logs.emit("api", 0, "stdout", "c")

    assert [x.text for x in logs.last_lines("api", 2)] == ["b", "c"]
    assert logs.last_lines("nobody", 5) == []


def test_subscribe_returns_the_backlog_then_live_lines() -> None:
    logs = store()
    logs.emit("a", 0, "stdout", "before")
    live: list[LogLine] = []

    backlog, unsubscribe = logs.subscribe(live.append)
    logs.emit("a", 0, "stdout", "after")
    unsubscribe()
    logs.emit("a", 0, "stdout", "gone")

    assert [x.text for x in backlog] == ["before"]
    assert [x.text for x in live] == ["after"]


def test_unsubscribing_twice_is_harmless() -> None:
    logs = store()
    _, unsubscribe = logs.subscribe(lambda line: None)

    unsubscribe()
    unsubscribe()
    logs.emit("a", 0, "stdout", "x")


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Switch threads as often as possible so a gap between snapshot and subscribe shows."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("busy_switching")
def test_subscribers_attaching_during_concurrent_emits_miss_and_double_nothing() -> None:
    logs = store()
    writers, per_phase, subscribers = 8, 300, 40
    go_on = threading.Barrier(writers + 1)  # phase 1 done: there is a backlog
    subscribed = threading.Barrier(writers + 1)  # all subscribed: phase 3 is surely live

    def write(name: str) -> None:
        for n in range(per_phase):
            logs.emit(name, 0, "stdout", f"1:{n}")
        go_on.wait()
        for n in range(per_phase):  # races with the subscriptions
            logs.emit(name, 0, "stdout", f"2:{n}")
        subscribed.wait()
        for n in range(per_phase):
            logs.emit(name, 0, "stdout", f"3:{n}")

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(writers)]
    for thread in threads:
        thread.start()
    go_on.wait()
    streams: list[tuple[list[LogLine], list[LogLine]]] = []
    for _ in range(subscribers):
        live: list[LogLine] = []
        backlog, _unsubscribe = logs.subscribe(live.append)
        streams.append((backlog, live))
    subscribed.wait()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(thread.is_alive() for thread in threads)
    total = writers * per_phase * 3
    for backlog, live in streams:
        seqs = [x.seq for x in backlog] + [x.seq for x in live]
        assert seqs == list(range(1, total + 1))
        assert len(backlog) >= writers * per_phase
        assert len(live) >= writers * per_phase
    # each writer's own lines arrive in the order it wrote them
    backlog, live = streams[0]
    for i in range(writers):
        texts = [x.text for x in backlog + live if x.service == f"w{i}"]
        assert texts == [f"{p}:{n}" for p in (1, 2, 3) for n in range(per_phase)]


def test_a_flood_of_short_lines_keeps_the_last_lines_by_count_too() -> None:
    """Within the byte budget, a service still keeps at most `max_lines` lines: the
    backlog `logs` and an attaching UI get is the recent past, not the start of a flood."""
    logs = LogStore(clock=FakeClock().now, max_lines=100)
    logs.event("start service:flood", service="flood")
    for n in range(250):
        logs.emit("flood", 0, "stdout", f"line {n}")
    kept = [line.text for line in logs.snapshot(["flood"])]
    assert len(kept) == 100
    assert kept[0] == "line 150" and kept[-1] == "line 249"
