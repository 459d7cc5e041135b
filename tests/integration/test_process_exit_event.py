"""The `exited` event carries the exit's own time, which the restart backoff counts from.

The event is told after the exit's bookkeeping (the state file, the tailer's last read),
which took 0.1 s on a loaded CI machine: stamped when told, a 0.5 s backoff read as 0.39 s
between the event and the next start (tests/reliability/test_crash_loop.py caught it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.engine.events import LogStore
from devstack.model.desired import DesiredService, ProcessSpec
from devstack.runtimes.process import ProcessRuntime
from helpers import wait_for


def test_the_exited_event_is_stamped_with_the_exit_time(tmp_path: Path) -> None:
    logs = LogStore()
    runtime = ProcessRuntime("exit-test", tmp_path / "state", logs, lambda: None)
    command = (sys.executable, "-c", "print('bye'); raise SystemExit(3)")
    spec = ProcessSpec(command=command, workdir=str(tmp_path), env={}, ports=())
    service = DesiredService("quitter", spec, (), {}, None, "no", 2.0)
    try:
        runtime.start(service, 0)
        events = wait_for(
            lambda: [line for line in logs.snapshot(["quitter"]) if line.stream == "event"],
            10.0,
            "the exited event",
        )
        [workload] = runtime.observe()
    finally:
        runtime.close()
    assert [line.text for line in events] == ["quitter exited with code 3"]
    assert workload.exited_at is not None
    assert events[0].ts == workload.exited_at
