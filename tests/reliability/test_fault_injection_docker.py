"""SIGKILL the daemon during `up`, an environment switch and `down` of a container stack;
the next `up` converges with exactly one container per service, found by label.

busybox containers from the local test image (never pulled): an httpd with a published
port and a healthcheck, and a sleeper. Fewer seeds than the host-process variant by
default (a container costs more to create than a process); more with --long.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from faults import Op, Target, report, run_lanes
from invariants import status_problems

from components import unavailable
from devstack.api.client import Client
from helpers import Stack

CI_SEEDS = 6  # each operation twice
LONG_SEEDS = 40
SERVICES = {"web", "bg"}


@pytest.fixture
def dstacks(make_stack: Callable[[], Stack]) -> Iterator[Callable[[], Any]]:
    """Container stacks with unique names; every docker object they made goes at the end."""
    import docker
    from dockerstack import DockerStack, remove_leftovers, unique_name

    from docker_images import BUSYBOX_IMAGE, ensure_engine, ensure_image

    reason = ensure_engine()
    if reason:
        unavailable(reason)
    ensure_image(BUSYBOX_IMAGE)
    engine = docker.from_env()
    made: list[Any] = []

    def make() -> Any:
        made.append(DockerStack(make_stack().root, unique_name(), engine))
        return made[-1]

    try:
        yield make
    finally:
        for created in made:
            try:
                created.cleanup()
            finally:
                remove_leftovers(engine, created.name, created.stack_id)
        engine.close()


def write(dstack: Any) -> None:
    from dockerstack import busybox, web

    greeting = {"GREETING": "${GREETING}"}
    dstack.write(
        {
            "web": web(env=greeting),
            "bg": busybox("exec sleep 3600", env=greeting, stop_grace="2s"),
        },
        environments={
            "dev": {"vars": {"GREETING": "hello"}},
            "staging": {"vars": {"GREETING": "bonjour"}},
        },
    )


def container_problems(dstack: Any) -> list[str]:
    """One running container per service instance, with the spec status reports."""
    problems = []
    containers = dstack.containers()
    counts = Counter(
        (c.labels["devstack.service"], c.labels.get("devstack.replica", "0")) for c in containers
    )
    for (service, replica), count in sorted(counts.items()):
        if count > 1:
            names = sorted(c.name for c in containers if c.labels["devstack.service"] == service)
            problems.append(f"{count} containers of {service}#{replica}: {names}")
    services = {service for service, _ in counts}
    problems += [f"{name} has no container" for name in sorted(SERVICES - services)]
    problems += [f"container of undeclared {name}" for name in sorted(services - SERVICES)]
    status = dstack.live()
    for c in containers:
        service = c.labels["devstack.service"]
        if c.status != "running":
            problems.append(f"container {c.name} of {service} is {c.status}")
        shown = status.get(service, {}).get("spec_hash")
        if shown is not None and c.labels.get("devstack.spec-hash") != shown:
            problems.append(
                f"container {c.name} runs spec {c.labels.get('devstack.spec-hash')},"
                f" status shows {shown}"
            )
    return problems + status_problems(dstack)


def containers_gone(dstack: Any) -> list[str]:
    left = [c.name for c in dstack.containers()]
    networks = [n.name for n in dstack.engine.networks.list(names=[dstack.network])]
    problems = [f"containers left after `down`: {left}"] if left else []
    if networks:
        problems.append(f"network left after `down`: {networks}")
    return problems + [f"pid {pid} still runs after `down`" for pid in dstack.leftovers()]


def other_environment(stack: Stack) -> list[str]:
    current = Client(stack.socket).status()["environment"]
    return ["up", "-d", "--wait", "--env", "staging" if current == "dev" else "dev"]


TARGET = Target(
    ops={
        "up": Op(lambda _: ["up", "-d", "--wait"], needs_up=False),
        "env": Op(other_environment, needs_up=True),
        "down": Op(lambda _: ["down"], needs_up=True),
    },
    converged=container_problems,
    gone=containers_gone,
)


def torture(make: Callable[[], Any], seeds: range) -> None:
    dstack = make()
    write(dstack)
    results = run_lanes([dstack], TARGET, list(seeds))
    text = report(results)
    print(text)
    assert not any(r.problems for r in results), text


@pytest.mark.timeout(600)
def test_a_killed_daemon_leaves_containers_the_next_up_converges(
    dstacks: Callable[[], Any],
) -> None:
    torture(dstacks, range(CI_SEEDS))


@pytest.mark.long
@pytest.mark.timeout(3600)
def test_a_killed_daemon_leaves_containers_the_next_up_converges_many_seeds(
    dstacks: Callable[[], Any],
) -> None:
    torture(dstacks, range(CI_SEEDS, CI_SEEDS + LONG_SEEDS))
