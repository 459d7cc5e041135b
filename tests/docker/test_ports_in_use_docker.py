"""A container's fixed host port held by someone else fails `up` before anything starts."""

from __future__ import annotations

import re

from dockerstack import DockerStack, busybox, web

from docker_images import BUSYBOX_IMAGE
from helpers import describe, free_port, port_busy, wait_for


def test_a_published_port_held_by_a_foreign_container_is_named(dstack: DockerStack) -> None:
    port = free_port()
    # Another container (not of this stack) publishes the port: the engine's proxy holds
    # it, a process of the engine that this machine may not even be able to see.
    foreign = dstack.engine.containers.run(
        BUSYBOX_IMAGE,
        ["sleep", "600"],
        detach=True,
        name=f"{dstack.name}-foreign",  # removed with the stack's leftovers
        ports={"8080/tcp": ("127.0.0.1", port)},
    )
    try:
        wait_for(lambda: port_busy(port), 10.0, "the foreign container's port")
        dstack.write({"web": web(ports=[f"{port}:8080"]), "side": busybox("exec sleep 600")})
        result = dstack.run("up", "-d")
        assert result.returncode == 1, describe(result, dstack)
        line = re.search(rf"web: port {port} is in use by (.*)", result.stderr)
        assert line, describe(result, dstack)
        assert line.group(1) == "another process" or "docker-proxy" in line.group(1)
        assert not dstack.containers(), "a container was created"
        wait_for(lambda: not dstack.daemons(), 10.0, "the idle daemon to exit")
    finally:
        foreign.remove(force=True)

    # Its own published port is not "in use by another" when `up` runs again.
    dstack.up()
    again = dstack.run("up", "-d")
    assert again.returncode == 0, describe(again, dstack)
