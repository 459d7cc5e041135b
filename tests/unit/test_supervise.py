"""A worker thread that raises is restarted and reported; one that returns is not."""

from __future__ import annotations

import threading

from devstack.engine.events import LogStore
from devstack.engine.supervise import spawn
from helpers import wait_for


def test_a_crashed_worker_is_reported_and_runs_again() -> None:
    logs = LogStore()
    runs: list[int] = []
    done = threading.Event()

    def worker() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise OSError(28, "No space left on device")
        done.set()

    thread = spawn("tailer-test", worker, logs)
    wait_for(done.is_set, 5.0, "the worker's second run")
    thread.join(5.0)
    assert not thread.is_alive() and len(runs) == 2
    events = [line.text for line in logs.snapshot() if line.stream == "event"]
    assert events == [
        "thread tailer-test crashed (OSError(28, 'No space left on device')); restarted"
    ]


def test_a_stopped_supervisor_does_not_restart_a_crashing_worker() -> None:
    logs = LogStore()
    stop = threading.Event()
    runs: list[int] = []

    def worker() -> None:
        runs.append(1)
        stop.set()
        raise RuntimeError("boom")

    thread = spawn("stopping", worker, logs, stop)
    thread.join(5.0)
    assert not thread.is_alive() and runs == [1]
