"""SIGKILL the daemon during `up`, an environment switch, a swap and `down`; the next `up`
converges with exactly one process per service, nothing unrecorded, every state file whole.

Host processes only (no Docker): three services (one with a child process, two with HTTP
healthchecks, one depending on the other) bound to an S3 backing service that the swap
moves between MiniStack and moto.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from faults import Op, Target, report, run_lanes
from invariants import process_problems, status_problems

from devstack.api.client import Client
from helpers import Stack, free_ports, service

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
pytest.importorskip("moto.server", reason="moto is not installed (pip install 'moto[server]')")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SERVICES = {"api", "web", "bg"}
CI_SEEDS = 50
LONG_SEEDS = 300
LANES = 3  # independent stacks side by side: a seed mostly waits for processes


def write(stack: Stack) -> None:
    api_port, web_port = free_ports(2)
    greeting = {"GREETING": "${GREETING}"}
    stack.write(
        {
            "api": service("api", port=api_port, uses=["uploads"], env=greeting),
            "web": service("web", port=web_port, depends_on=["api"], env=greeting),
            "bg": service("bg", flags=["--child"], env=greeting, stop_grace="2s"),
        },
        environments={
            "dev": {"vars": {"GREETING": "hello"}},
            "staging": {"vars": {"GREETING": "bonjour"}},
        },
        backing={"uploads": {"kind": "s3", "bucket": "t-uploads"}},
    )


def other_environment(stack: Stack) -> list[str]:
    current = Client(stack.socket).status()["environment"]
    return ["up", "-d", "--wait", "--env", "staging" if current == "dev" else "dev"]


def other_provider(stack: Stack) -> list[str]:
    rows = Client(stack.socket).backing()
    current = next(r for r in rows if r["name"] == "uploads")["provider"]
    return ["swap", "uploads", "ministack" if current == "moto" else "moto", "-y"]


def converged(stack: Stack) -> list[str]:
    return process_problems(stack, SERVICES) + status_problems(stack)


def gone(stack: Stack) -> list[str]:
    return [f"pid {pid} of the stack still runs after `down`" for pid in stack.leftovers()]


TARGET = Target(
    ops={
        "up": Op(lambda _: ["up", "-d", "--wait"], needs_up=False),
        "env": Op(other_environment, needs_up=True),
        "swap": Op(other_provider, needs_up=True),
        "down": Op(lambda _: ["down"], needs_up=True),
    },
    converged=converged,
    gone=gone,
)


def torture(make_stack: Callable[[], Stack], seeds: range) -> None:
    stacks = [make_stack() for _ in range(LANES)]
    for stack in stacks:
        write(stack)
    results = run_lanes(stacks, TARGET, list(seeds))
    text = report(results)
    print(text)
    assert not any(r.problems for r in results), text


@pytest.mark.timeout(1800)  # about 2 minutes on an idle 2-core machine
def test_a_killed_daemon_leaves_a_stack_the_next_up_converges(
    make_stack: Callable[[], Stack],
) -> None:
    torture(make_stack, range(CI_SEEDS))


@pytest.mark.long
@pytest.mark.timeout(7200)
def test_a_killed_daemon_leaves_a_stack_the_next_up_converges_many_seeds(
    make_stack: Callable[[], Stack],
) -> None:
    torture(make_stack, range(CI_SEEDS, CI_SEEDS + LONG_SEEDS))
