"""The daemon, `up --dry-run` (with and without a daemon), `config show`, `run` and
`status` agree on one intent: the scale and environment in force, through real processes."""

from __future__ import annotations

import json
import os
import signal

import pytest

from helpers import Stack, free_port, service, wait_for

pytestmark = pytest.mark.timeout(90)


def _variables(stack: Stack) -> dict[str, str]:
    shown = json.loads(stack.ok("config", "show", "web", "--json").stdout)
    return {v["name"]: v["value"] for v in shown["variables"]}


def test_every_view_of_a_scaled_stack_agrees_with_and_without_its_daemon(stack: Stack) -> None:
    stack.write(
        {"web": service("web", port=free_port(), env={"GREETING": "${TIER}"})},
        environments={"dev": {"vars": {"TIER": "dev"}}, "staging": {"vars": {"TIER": "staging"}}},
    )
    stack.up("--env", "staging")
    stack.ok("scale", "web=2")
    wait_for(lambda: stack.services()["web"]["running"] == 2, 30.0, "two replicas of web")

    # With the daemon: the plan is empty, and every view sees staging with two replicas.
    assert "nothing to do" in stack.ok("up", "--dry-run").stdout
    assert stack.services()["web"]["replicas"] == 2
    with_daemon = _variables(stack)
    assert with_daemon["GREETING"] == "staging"
    ran = stack.ok("run", "web", "--", "sh", "-c", "echo $GREETING").stdout
    assert ran.strip().splitlines()[-1] == "staging"

    # The daemon dies; its services run on. Without it, each view reads the intent it
    # persisted: still nothing to do (not "stop web#1"), still staging.
    for pid in stack.daemons():
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not stack.daemons(), 10.0, "the daemon to die")
    assert "nothing to do" in stack.ok("up", "--dry-run").stdout
    assert _variables(stack) == with_daemon
    ran = stack.ok("run", "web", "--", "sh", "-c", "echo $GREETING").stdout
    assert ran.strip().splitlines()[-1] == "staging"
