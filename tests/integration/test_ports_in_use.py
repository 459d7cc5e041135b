"""`up` names a fixed port another process holds, and starts nothing at all."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from helpers import Stack, describe, free_port, port_busy, service, wait_for

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def foreign() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A process devstack does not own, listening on a free port: python3 -m http.server."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: port_busy(port), 10.0, "the foreign listener")
        yield port, proc
    finally:
        proc.kill()
        proc.wait()


def test_up_names_the_pid_holding_a_port_and_starts_nothing(
    stack: Stack, foreign: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, proc = foreign
    mine = free_port()
    stack.write(
        {
            "web": service("web", port=mine),  # would start first: nothing depends on it
            "api": service("api", port=port),
        }
    )
    result = stack.run("up", "-d")
    assert result.returncode == 1, describe(result, stack)
    wanted = f"api: port {port} is in use by pid {proc.pid} ({sys.executable} -m http.server"
    assert wanted in result.stderr, describe(result, stack)
    assert "Traceback" not in result.stderr
    # Nothing half-started: no service process, and the daemon this `up` launched is gone.
    assert not stack.owned(), stack.owned()
    wait_for(lambda: not stack.daemons(), 10.0, "the idle daemon to exit")
    assert not port_busy(mine)

    # Once the port is free, `up` starts the stack; a second `up` does not take the
    # stack's own listeners for someone else's.
    proc.kill()
    proc.wait()
    stack.up()
    again = stack.run("up", "-d")
    assert again.returncode == 0, describe(again, stack)


def test_a_running_stack_refuses_a_new_port_in_use_and_keeps_running(
    stack: Stack, foreign: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, proc = foreign
    stack.write({"web": service("web", port=free_port())})
    stack.up()
    before = stack.pids()["web"]
    stack.write({"web": service("web", port=free_port()), "api": service("api", port=port)})
    result = stack.run("up", "-d")
    assert result.returncode == 1, describe(result, stack)
    assert f"api: port {port} is in use by pid {proc.pid}" in result.stderr
    live = stack.live()
    assert live["web"]["pid"] == before and "api" not in live, live
