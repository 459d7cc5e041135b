"""A healthy probe's ownership check stays cheap, and still catches a foreign listener.

Every probe success asks the process runtime whether the instance it started holds the
probed port (InstanceProbe). Naming a port's holder walks every process's descriptors; a
daemon doing that for 30 services every interval used a fifth of a core at rest. The
runtime remembers a listening socket it has traced to an instance: later checks read only
the socket table, and a socket it does not know (another process took the port) is traced
again.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.engine.events import LogStore
from devstack.model.desired import DesiredService, ProcessSpec
from devstack.runtimes import portowner
from devstack.runtimes.process import ProcessRuntime
from helpers import free_port, port_busy, wait_for

SERVER = """
import http.server, sys
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ProcessRuntime]:
    made = ProcessRuntime("probe-test", tmp_path / "state", LogStore(), lambda: None)
    try:
        yield made
    finally:
        for workload in made.observe():
            if workload.state == "running":
                made.stop(workload.service, workload.replica, grace=2.0)
        made.close()


def _service(port: int, workdir: Path) -> DesiredService:
    # The server runs under a shell that outlives it: the instance stays alive (same
    # leader, same session) when its server is killed and the port changes hands.
    server = workdir / "server.py"
    server.write_text(SERVER)
    line = f"{shlex.quote(sys.executable)} {server} {port}; exec sleep 60"
    spec = ProcessSpec(
        command=("/bin/sh", "-c", line),
        workdir=str(workdir),
        env={},
        ports=(port,),
    )
    return DesiredService("web", spec, (), {}, None, "no", 2.0)


def test_a_known_listener_is_not_traced_again_and_a_foreign_one_is(
    runtime: ProcessRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    workload = runtime.start(_service(port, tmp_path), 0)
    wait_for(lambda: port_busy(port), 10.0, "the service listening")
    traced: list[int] = []
    listening = portowner.listening_inodes

    def counting(probed: int) -> set[int]:
        traced.append(probed)
        return listening(probed)

    monkeypatch.setattr(portowner, "listening_inodes", counting)
    assert runtime.owns(workload, port)
    assert [runtime.owns(workload, port) for _ in range(20)] == [True] * 20
    assert traced == [port], "only the first check reads the socket tables"

    # The instance's server dies while the instance lives on (its shell), and another
    # process takes the port: a socket the runtime never traced to the instance.
    (server,) = portowner.holders_of(listening(port))
    os.kill(server.pid, signal.SIGKILL)
    wait_for(lambda: not port_busy(port), 10.0, "the port released")
    foreign = subprocess.Popen([sys.executable, str(tmp_path / "server.py"), str(port)])
    try:
        wait_for(lambda: port_busy(port), 10.0, "the foreign server listening")
        assert not runtime.owns(workload, port)
        assert traced == [port, port], "a socket it does not know is traced again"
    finally:
        foreign.kill()
        foreign.wait()
