"""Long-lived CLI calls: `logs -f` and an attached `up`, stopped by Ctrl-C or by `down`."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import Stack, free_ports, service, wait_for

pytestmark = pytest.mark.timeout(60)


@contextmanager
def background(stack: Stack, *args: str) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A CLI call left running, its output going to a file; killed on the way out."""
    output = stack.root / f"cli-{len(list(stack.root.glob('cli-*.txt')))}.txt"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.cli.main", *args],
            cwd=stack.root,
            env=stack.cli_env(),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield process, output
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_attached_up_stops_the_stack_on_ctrl_c(stack: Stack) -> None:
    (port,) = free_ports(1)
    stack.write({"a": service("a", port=port)})
    with background(stack, "up") as (attached, output):
        wait_for(lambda: "a: listening" in output.read_text(), 10.0, "a's output in `up`")
        assert stack.services()["a"]["state"] == "running"
        attached.send_signal(signal.SIGINT)
        assert attached.wait(timeout=20) == 0, output.read_text()
    wait_for(lambda: not stack.leftovers(), 10.0, "no process left after Ctrl-C")
    assert "stack stopped" in output.read_text()


def test_logs_follow_streams_new_lines_until_down(stack: Stack) -> None:
    """Regression: a follower held the daemon open after `down`, and with it the lock."""
    a_port, b_port = free_ports(2)
    stack.write({"a": service("a", port=a_port), "b": service("b", port=b_port)})
    stack.up()
    with background(stack, "logs", "-f", "b") as (follower, output):
        wait_for(lambda: "b: listening" in output.read_text(), 5.0, "the backlog of b")
        stack.ok("restart", "b")
        wait_for(
            lambda: output.read_text().count("b: started pid=") == 2,
            10.0,
            "the restarted b's output in `logs -f`",
        )
        assert follower.poll() is None, "`logs -f` ended by itself"
        lines = output.read_text().splitlines()
        assert all(line.startswith("b |") for line in lines), lines

        stack.ok("down")
        wait_for(lambda: follower.poll() is not None, 2.0, "`logs -f` to end after down")
        wait_for(lambda: not stack.daemons(), 2.0, "the daemon to exit after down")
        assert follower.returncode == 0, output.read_text()
    stack.up()  # the lock is free: a new daemon starts at once
