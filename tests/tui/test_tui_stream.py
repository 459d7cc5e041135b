"""The event pump: batches of log lines, snapshots in order, reconnects without repeats."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from tui_fakes import log

from devstack.api.client import DaemonNotRunning
from devstack.tui.stream import pump_events

JSON = dict[str, Any]


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def status(self, status: JSON) -> None:
        self.events.append(("status", status["daemon_pid"]))

    def backing(self, rows: list[JSON]) -> None:
        self.events.append(("backing", len(rows)))

    def logs(self, lines: list[JSON]) -> None:
        self.events.append(("logs", [line["seq"] for line in lines]))

    def connection(self, connected: bool, detail: str) -> None:
        self.events.append(("connection", connected, detail))  # type: ignore[arg-type]

    def seqs(self) -> list[int]:
        return [seq for e in self.events if e[0] == "logs" for seq in e[1]]


def snapshot(pid: int = 1) -> list[JSON]:
    return [{"type": "status", "status": {"daemon_pid": pid}}, {"type": "backing", "backing": []}]


def logs(seqs: range) -> list[JSON]:
    return [{"type": "log", "line": log(s, "api", f"line {s}")} for s in seqs]


def pump_until(streams: list[list[JSON]], done: Any, block: bool = True) -> Sink:
    """Pump these streams (each ends, except the last when `block`) until `done(sink)`."""
    sink = Sink()
    stop = threading.Event()
    hold = threading.Event()  # the last stream stays open until the pump has stopped
    opened = iter(streams)

    def open_stream() -> Iterator[JSON]:
        try:
            events = next(opened)
        except StopIteration:
            raise DaemonNotRunning("/nowhere/daemon.sock") from None
        yield from events
        if block and events is streams[-1]:
            hold.wait()

    worker = threading.Thread(
        target=pump_events,
        args=(open_stream, sink, stop.is_set),
        kwargs={"batch_interval": 0.05, "retry_interval": 0.05},
    )
    worker.start()
    deadline = time.monotonic() + 10
    while not done(sink) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    started = time.monotonic()
    worker.join(5)
    hold.set()
    assert not worker.is_alive(), "the pump did not stop when cancelled"
    assert time.monotonic() - started < 1.0
    return sink


def test_log_lines_come_in_a_few_batches_after_the_snapshots() -> None:
    sink = pump_until([[*snapshot(), *logs(range(1, 5001))]], lambda s: len(s.seqs()) == 5000)
    assert sink.events[:3] == [("connection", True, "daemon 1"), ("status", 1), ("backing", 0)]
    batches = [e for e in sink.events if e[0] == "logs"]
    assert sink.seqs() == list(range(1, 5001))
    assert len(batches) < 50, f"{len(batches)} batches for 5000 lines"


def test_pending_lines_are_handed_over_before_a_status_change() -> None:
    stream = [*snapshot(), *logs(range(1, 4)), {"type": "status", "status": {"daemon_pid": 1}}]
    sink = pump_until([stream], lambda s: len([e for e in s.events if e[0] == "status"]) == 2)
    kinds = [e[0] for e in sink.events]
    assert kinds == ["connection", "status", "backing", "logs", "status"]


def test_a_lost_stream_reconnects_without_repeating_lines() -> None:
    first = [*snapshot(), *logs(range(1, 4))]
    second = [*snapshot(), *logs(range(1, 6))]
    sink = pump_until([first, second], lambda s: len(s.seqs()) >= 5)
    assert sink.seqs() == [1, 2, 3, 4, 5]
    lost = [e for e in sink.events if e[0] == "connection" and not e[1]]
    assert lost == [("connection", False, "the daemon closed the event stream")]


def test_another_daemon_starts_its_sequence_afresh() -> None:
    first = [*snapshot(pid=1), *logs(range(1, 4))]
    second = [*snapshot(pid=2), *logs(range(1, 3))]
    sink = pump_until([first, second], lambda s: len(s.seqs()) >= 5)
    assert sink.seqs() == [1, 2, 3, 1, 2]


def test_no_daemon_is_reported_and_retried() -> None:
    sink = pump_until([], lambda s: len(s.events) >= 2, block=False)
    assert all(e[0] == "connection" and not e[1] for e in sink.events)
    assert "no devstack daemon answers on /nowhere/daemon.sock" in sink.events[0][2]


def test_a_ui_behind_a_flood_gets_one_batch_in_its_queue_holding_every_line() -> None:
    """The app's sink posts one LogBatch while none is waiting; lines that arrive before
    the app handles it join it, in order, so key presses never queue behind log batches,
    and what waits is bounded by the view's limit."""
    from devstack.tui.app import _Sink
    from devstack.tui.messages import LogBatch

    class Queue:
        def __init__(self) -> None:
            self.posted: list[LogBatch] = []

        def post_message(self, message: LogBatch) -> bool:
            self.posted.append(message)
            return True

    app = Queue()
    app.log_limit = 5  # type: ignore[attr-defined]
    sink = _Sink(app)  # type: ignore[arg-type]
    for chunk in (range(3), range(3, 5), range(5, 9)):
        sink.logs([event["line"] for event in logs(chunk)])
    assert len(app.posted) == 1
    # Far behind: only the last log_limit lines are kept, the ones the view would show.
    assert [line["seq"] for line in app.posted[0].take()] == list(range(4, 9))

    sink.logs(
        [event["line"] for event in logs(range(9, 10))]
    )  # handled: the next lines post a new batch
    assert len(app.posted) == 2
    assert [line["seq"] for line in app.posted[1].take()] == [9]
    assert app.posted[0].take() == []
