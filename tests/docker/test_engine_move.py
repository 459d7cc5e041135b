"""Moving a stack from one Docker engine to another leaves nothing of it on the first.

Engine A is this machine's usual dockerd; engine B a second real dockerd started for these
tests (second_engine.py), reached as DOCKER_HOST=unix:///tmp/dsb-.../docker.sock.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from collections.abc import Iterator

import docker
import pytest
from dockerstack import DockerStack, busybox, web
from second_engine import SecondEngine

from components import needs
from docker_images import BUSYBOX_IMAGE
from helpers import describe

MISSING = (
    "a second dockerd needs root, dockerd and ip (iproute2)"
    if os.geteuid() != 0 or not shutil.which("dockerd") or not shutil.which("ip")
    else None
)
pytestmark = [needs(MISSING is not None, MISSING or ""), pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def second(engine: docker.DockerClient) -> Iterator[SecondEngine]:
    started = SecondEngine()
    try:
        started.start()
        started.load_image(engine, BUSYBOX_IMAGE)
        yield started
    finally:
        started.stop()


def of_stack(client: docker.DockerClient, stack: DockerStack) -> dict[str, list[str]]:
    """What an engine holds of the stack: containers, networks and volumes, by name."""
    label = {"label": f"devstack.stack={stack.stack_id}"}
    return {
        "containers": [c.name or "" for c in client.containers.list(all=True, filters=label)],
        "networks": [n.name or "" for n in client.networks.list(names=[stack.network])],
        "volumes": [v.name or "" for v in client.volumes.list(filters=label)],
    }


NOTHING: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}


def answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
        return bool(reply.read().strip() == b"ok")


def test_up_with_another_engine_moves_the_stack(
    dstack: DockerStack, engine: docker.DockerClient, second: SecondEngine
) -> None:
    dstack.write({"web": web(), "worker": busybox("exec sleep 3600")})
    dstack.up()
    assert sorted(of_stack(engine, dstack)["containers"]) == [
        f"{dstack.name}-web-1", f"{dstack.name}-worker-1",
    ]  # fmt: skip
    (port,) = dstack.services()["web"]["ports"]

    moved = dstack.up(env={"DOCKER_HOST": second.host})  # explicit: the stack moves
    assert of_stack(engine, dstack) == NOTHING, describe(moved, dstack)
    with second.client() as on_b:
        held = of_stack(on_b, dstack)
        running = on_b.containers.list(filters={"label": f"devstack.stack={dstack.stack_id}"})
    assert sorted(held["containers"]) == [f"{dstack.name}-web-1", f"{dstack.name}-worker-1"]
    assert len(running) == 2 and held["networks"] == [dstack.network]
    status = dstack.status()
    assert (status["engine"]["host"], status["engine"]["kind"]) == (second.host, "local")
    assert status["services"][0]["ports"] == [port]  # the same port, now B's
    assert answers(port)

    # A plain `up` keeps it where it is; `down` leaves nothing on B either.
    dstack.up()
    assert of_stack(engine, dstack) == NOTHING
    dstack.ok("down")
    with second.client() as on_b:
        assert of_stack(on_b, dstack) == NOTHING
    assert not (dstack.state_dir / "engine.json").exists()


def test_down_on_one_engine_and_up_on_another(
    dstack: DockerStack, engine: docker.DockerClient, second: SecondEngine
) -> None:
    dstack.write({"web": web()})
    dstack.up(env={"DOCKER_HOST": second.host})
    assert of_stack(engine, dstack) == NOTHING
    dstack.ok("down")

    dstack.up()  # no DOCKER_HOST: the default engine, since `down` forgot B
    assert dstack.status()["engine"]["host"] == "unix:///var/run/docker.sock"
    assert len(of_stack(engine, dstack)["containers"]) == 1
    with second.client() as on_b:
        assert of_stack(on_b, dstack) == NOTHING
