"""Faults devstack recovers from: corrupt state files, a lost socket, a dead daemon.

Each test injects the real fault (a file written by hand, the socket deleted, the daemon
SIGKILLed) on a running stack and checks what the user sees (output, exit code, status)
and that every service is still there exactly once: re-adopted, never orphaned or
duplicated.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from helpers import Stack, free_port, service, wait_for

CORRUPT_OVERRIDES = [
    "[1, 2, 3]",
    '"a string"',
    "42",
    '{"stopped": 5}',
    '{"swaps": [1]}',
    '{"scale": [1]}',
    '{"environment": ["dev"]}',
    "{not json",
]


def _start(stack: Stack) -> dict[str, int]:
    stack.write({"web": service("web", port=free_port())})
    stack.up()
    return {name: pid for name, pid in stack.pids().items() if pid}


def _kill_daemon(stack: Stack) -> None:
    for pid in stack.daemons():
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not stack.daemons(), 10.0, "the daemon to die")


def _assert_same_services(stack: Stack, before: dict[str, int]) -> None:
    """Exactly the instances that ran before: same pids, one group leader each."""
    assert {n: p for n, p in stack.pids().items() if p} == before
    assert sorted(stack.group_leaders()) == sorted(before.values())


@pytest.mark.parametrize("state_file", ["overrides.json", "processes.json"])
def test_corrupt_state_files_are_moved_aside_and_services_re_adopted(
    stack: Stack, state_file: str
) -> None:
    before = _start(stack)
    contents = CORRUPT_OVERRIDES if state_file == "overrides.json" else [
        '{"instances": 5}', '{"instances": [{"service": 1}]}', "[]", "\x00\xff",
    ]  # fmt: skip
    for text in contents:
        _kill_daemon(stack)
        (stack.state_dir / state_file).write_text(text)

        result = stack.up()

        assert "Traceback" not in result.stderr, result.stderr
        _assert_same_services(stack, before)
        recovered = stack.status()["recovered"]
        assert len(recovered) == 1, recovered
        assert str(stack.state_dir / state_file) in recovered[0]
        moved = recovered[0].split("moved aside to ")[1].split(";")[0]
        assert (stack.state_dir / moved).read_bytes() == text.encode()
        table = stack.ok("status").stdout
        assert f"recovered: state file {stack.state_dir / state_file}" in table
        # The daemon's event log has it too (`devstack logs devstack`).
        events = stack.ok("logs", "devstack").stdout
        assert f"{state_file}: " in events and "moved aside" in events
    stack.ok("down")
    assert not stack.leftovers()


def test_a_daemon_that_lost_its_socket_is_replaced_and_keeps_the_services(stack: Stack) -> None:
    before = _start(stack)
    [old] = stack.daemons()
    stack.socket.unlink()

    result = stack.ok("status")

    assert f"the devstack daemon (pid {old}) lost its socket" in result.stderr
    assert "web" in result.stdout and "running" in result.stdout
    [new] = stack.daemons()
    assert new != old
    _assert_same_services(stack, before)

    stack.socket.unlink()
    up = stack.up()  # replaced once, not ~150 launches: one new daemon answers
    assert up.stderr.count("lost its socket") == 1, up.stderr
    assert len(stack.daemons()) == 1
    _assert_same_services(stack, before)

    stack.socket.unlink()
    stack.ok("down")
    assert not stack.leftovers()


def test_without_its_daemon_a_stack_is_still_visible_and_stoppable(stack: Stack) -> None:
    before = _start(stack)
    _kill_daemon(stack)

    table = stack.ok("status")
    assert table.stdout.splitlines()[0] == (
        "daemon not running; 1 service still running (run `devstack up` to manage them again)"
    )
    assert f"web      process  running  1         {before['web']}" in table.stdout
    as_json = json.loads(stack.ok("status", "--json").stdout)
    assert as_json["daemon_running"] is False
    assert [s["pid"] for s in as_json["services"]] == [before["web"]]

    down = stack.run("down", timeout=30)

    assert down.returncode == 0, down.stderr
    assert "stack stopped" in down.stderr
    assert not stack.leftovers()
    after = stack.run("status")
    assert after.returncode == 1 and "no devstack daemon is running" in after.stderr


def test_restart_counts_survive_re_adoption(stack: Stack) -> None:
    _start(stack)
    first = stack.pids()["web"]
    assert first is not None
    os.killpg(first, signal.SIGKILL)  # a crash: the daemon restarts it
    wait_for(
        lambda: (s := stack.services()["web"])["restarts"] == 1 and s["health"] == "healthy",
        30.0,
        "web to be restarted",
    )
    _kill_daemon(stack)

    stack.up()

    assert stack.services()["web"]["restarts"] == 1
    stack.ok("down")
