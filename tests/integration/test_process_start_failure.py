"""A program that cannot be started says why, from the moment its instance is visible.

`up --wait` polls status while the engine starts services. The process runtime makes the
failed instance visible (exited, code 127) before the engine records the start's error;
status read in between must still name the reason, not a bare "exited with code 127"
(CI once caught `up --wait` printing exactly that).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.engine.events import LogStore
from devstack.engine.ports import RuntimeError_
from devstack.model.desired import DesiredService, ProcessSpec
from devstack.runtimes.process import ProcessRuntime


def test_the_reason_is_on_the_instance_stderr_before_the_error_is_raised(tmp_path: Path) -> None:
    logs = LogStore()
    seen: list[str | None] = []
    runtime = ProcessRuntime("ghost-test", tmp_path / "state", logs, lambda: None)
    command = ("no-such-program-for-devstack", "--flag")
    spec = ProcessSpec(command=command, workdir=str(tmp_path), env={}, ports=())
    service = DesiredService("ghost", spec, (), {}, None, "no", 2.0)
    try:
        with pytest.raises(RuntimeError_, match="cannot start 'no-such-program-for-devstack'"):
            runtime.start(service, 0)
        # What status quotes for an exited instance: its last output since it started.
        [workload] = runtime.observe()
        seen.append(logs.last_output("ghost", 0, workload.started_at))
        on_disk = (tmp_path / "state" / "run" / "ghost.0.err").read_text()
    finally:
        runtime.close()
    assert workload.state == "exited" and workload.exit_code == 127
    assert seen[0] is not None and "cannot start 'no-such-program-for-devstack'" in seen[0]
    assert "No such file" in on_disk, "`devstack logs` after a daemon restart shows it too"
