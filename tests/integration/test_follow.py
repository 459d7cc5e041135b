"""Long-lived CLI calls: `logs -f` and an attached `up`, stopped by Ctrl-C or by `down`."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import Stack, free_ports, service, wait_for

pytestmark = pytest.mark.timeout(60)


# The CLI with SIGINT handled as in a terminal. A suite started in the background
# (`cmd &` in a script) runs with SIGINT ignored, children inherit that, and Ctrl-C
# then did nothing to `up`: the attached-up test failed only when run that way.
AS_IN_A_TERMINAL = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('devstack.cli.main', run_name='__main__', alter_sys=True)"
)


@contextmanager
def background(stack: Stack, *args: str) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A CLI call left running, its output going to a file; killed on the way out."""
    output = stack.root / f"cli-{len(list(stack.root.glob('cli-*.txt')))}.txt"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", AS_IN_A_TERMINAL, *args],
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
        try:
            code = attached.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # Seen once in a full run, never alone: keep what the next one needs.
            log = stack.state_dir / "daemon.log"
            raise AssertionError(
                f"`up` still running 20 s after Ctrl-C\n--- its output:\n"
                f"{output.read_text()}\n--- daemon.log:\n"
                f"{log.read_text()[-4000:] if log.exists() else '(none)'}"
            ) from None
        assert code == 0, output.read_text()
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


FLOOD = "import itertools, time\nfor i in itertools.count():\n    print('line', i, 'x' * 80, flush=True)\n    time.sleep(0.001) if i % 20 == 0 else None\n"


def _flooding(stack: Stack) -> None:
    (stack.root / "flood.py").write_text(FLOOD)
    stack.write({"flood": {"command": [sys.executable, "flood.py"]}})
    stack.up()
    wait_for(lambda: stack.ok("logs", "flood").stdout.count("\n") > 2000, 20.0, "a backlog")


def _read_then_leave(path: Path, target: str, size: int) -> None:
    """A reader that takes `size` bytes of a stream and closes its end mid-stream."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(str(path))
        client.sendall(f"GET {target} HTTP/1.1\r\nHost: devstack\r\n\r\n".encode())
        received = 0
        while received < size:
            chunk = client.recv(65536)
            assert chunk, "the stream ended early"
            received += len(chunk)


def test_readers_that_leave_a_flooding_stream_cost_the_daemon_nothing(stack: Stack) -> None:
    """Regression: a follower or UI that closed its connection mid-flood had the rest of
    the backlog written to the closed socket line by line, and the daemon log filled with
    tens of thousands of "socket.send() raised exception" lines."""
    _flooding(stack)
    for path in ("/v1/logs?follow=true", "/v1/events"):
        for _ in range(3):
            _read_then_leave(stack.socket, path, 20_000)
    # The stream still serves a new reader, and the daemon wrote nothing about the others.
    with background(stack, "logs", "-f", "flood") as (_, output):
        wait_for(lambda: output.read_text().count("\n") > 1000, 10.0, "a new follower's lines")
    log = (stack.state_dir / "daemon.log").read_text()
    assert log.count("socket.send() raised exception") == 0


def test_logs_piped_into_head_exit_quietly(stack: Stack) -> None:
    """Regression: `devstack logs -f | head` reported the daemon as stopped (BrokenPipeError)."""
    _flooding(stack)
    for args in (["logs", "-f", "flood"], ["logs", "flood"]):
        piped = subprocess.run(
            f"{sys.executable} -m devstack.cli.main {' '.join(args)} | head -n 3;"
            " echo rc=${PIPESTATUS[0]} >&2",
            check=False,
            shell=True,
            executable="/bin/bash",
            cwd=stack.root,
            env=stack.cli_env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert piped.stdout.count("flood | line") == 3
        assert piped.stderr.strip() == "rc=141", piped.stderr
    assert stack.services()["flood"]["state"] == "running"
