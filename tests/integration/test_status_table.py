"""The `status` table shows each service's replicas as running/desired, as the TUI does."""

from __future__ import annotations

import pytest

from helpers import Stack, describe, wait_for

pytestmark = pytest.mark.timeout(90)


def _replicas_column(stack: Stack) -> dict[str, str]:
    """service -> its REPLICAS cell (every cell of these rows is one word)."""
    lines = stack.ok("status").stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("SERVICE"))
    header = lines[start].split()
    column = header.index("REPLICAS")
    rows = [line.split() for line in lines[start + 1 :]]
    return {row[0]: row[column] for row in rows if len(row) == len(header)}


def test_status_table_shows_running_over_desired_replicas(stack: Stack) -> None:
    stack.write(
        {
            "worker": {"command": ["sleep", "600"], "replicas": 2},
            "once": {"command": ["true"], "restart": "no"},
        }
    )
    stack.ok("up", "-d")
    wait_for(lambda: stack.live()["worker"]["running"] == 2, 20.0, "two workers")
    wait_for(lambda: stack.live()["once"]["state"] == "exited", 20.0, "once to exit")
    assert _replicas_column(stack) == {"worker": "2/2", "once": "0/1"}

    result = stack.run("scale", "worker=3")
    assert result.returncode == 0, describe(result, stack)
    wait_for(lambda: stack.live()["worker"]["running"] == 3, 20.0, "three workers")
    assert _replicas_column(stack)["worker"] == "3/3"
