"""A one-shot dependency (compose's `service_completed_successfully`): the dependent starts
only once the one-shot exited 0, `up --wait` counts that exit as its success, and a
failed one-shot holds the dependent, named with its exit code."""

from __future__ import annotations

import pytest

from helpers import Stack, describe, wait_for

pytestmark = pytest.mark.timeout(90)


def _stack(stack: Stack, migrate_exit: int) -> None:
    stack.write(
        {
            "migrate": {
                # Slow enough that a dependent started early would find no marker.
                "command": ["sh", "-c", f"sleep 0.5; echo migrated > marker; exit {migrate_exit}"],
                "restart": "no",
            },
            "app": {
                "command": ["sh", "-c", "test -f marker || exit 9; exec sleep 600"],
                "restart": "no",
                "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
            },
        }
    )


def test_the_dependent_starts_after_the_one_shot_completed(stack: Stack) -> None:
    _stack(stack, 0)
    done = stack.run("up", "-d", "--wait", "--wait-timeout", "30")
    assert done.returncode == 0, describe(done, stack)
    services = stack.services()
    assert services["migrate"]["state"] == "completed"
    assert services["migrate"]["exit_code"] == 0
    assert services["app"]["state"] == "running"  # it found the marker: it started after
    assert "completed" in stack.ok("status").stdout
    # Done is done: a no-op `up` runs nothing again, as its dry run says.
    assert "nothing to do" in stack.ok("up", "--dry-run").stdout
    pid = services["app"]["pid"]
    stack.ok("up", "-d", "--wait")
    again = stack.services()
    assert again["migrate"]["state"] == "completed"
    assert again["app"]["pid"] == pid


def test_a_failed_one_shot_holds_the_dependent(stack: Stack) -> None:
    _stack(stack, 4)
    done = stack.run("up", "-d", "--wait", "--wait-timeout", "30")
    assert done.returncode == 1, describe(done, stack)
    wait_for(lambda: stack.services()["migrate"]["state"] == "exited", 20.0, "migrate to exit")
    app = stack.services()["app"]
    assert app["state"] == "waiting"
    assert "migrate (exited with code 4)" in (app["reason"] or "")
