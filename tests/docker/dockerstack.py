"""A stack whose services run in containers, looked at through the Docker SDK.

Containers are found as devstack labels them (`devstack.stack` = the stack id), never by
devstack's own view of them: the tests compare what devstack says with what the engine has.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from docker_images import BUSYBOX_IMAGE
from helpers import Stack, wait_for

# Probed often so a healthy container is seen as such within a few tenths of a second.
HEALTH: dict[str, Any] = {
    "interval": "200ms",
    "start_interval": "50ms",
    "timeout": "2s",
    "retries": 100,
}
HTTP_HEALTH: dict[str, Any] = {"http": "/health", **HEALTH}
# busybox httpd in the foreground, serving /www (whose `health` file says `ok`).
HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/www"]


def unique_name() -> str:
    """A stack name no other test (or a concurrent run) uses: names its docker objects."""
    return f"dt{uuid.uuid4().hex[:10]}"


def busybox(script: str | None = None, **extra: Any) -> dict[str, Any]:
    """A busybox container entry running `sh -c SCRIPT`, or httpd on 8080 without a script."""
    command = ["sh", "-c", script] if script is not None else list(HTTPD)
    entry: dict[str, Any] = {"image": BUSYBOX_IMAGE, "command": command}
    entry.update(extra)
    return entry


def web(**extra: Any) -> dict[str, Any]:
    """busybox httpd published on a free host port, with an HTTP healthcheck."""
    return busybox(**{"ports": ["8080"], "healthcheck": dict(HTTP_HEALTH), **extra})


class DockerStack(Stack):
    def __init__(self, root: Path, name: str, engine: docker.DockerClient) -> None:
        super().__init__(root)
        self.name = name
        self.engine = engine

    @property
    def network(self) -> str:
        return f"{self.name}_default"

    def write(self, services: dict[str, Any], name: str | None = None, **top: Any) -> None:
        super().write(services, name=name or self.name, **top)

    # -- the engine's view --

    def containers(self, service: str | None = None) -> list[Container]:
        labels = [f"devstack.stack={self.stack_id}"]
        if service is not None:
            labels.append(f"devstack.service={service}")
        # ignore_removed: the SDK lists, then inspects each; a replica scaled away between
        # the two is gone, not an error (a flaky NotFound in test_scale_docker).
        found: list[Container] = self.engine.containers.list(
            all=True, filters={"label": labels}, ignore_removed=True
        )
        return found

    def container(self, service: str) -> Container:
        found = self.containers(service)
        assert len(found) == 1, f"{len(found)} containers of {service}: {[c.name for c in found]}"
        return found[0]

    def ids(self) -> dict[str, str]:
        """Service -> id of its one container (fails on a duplicate)."""
        found: dict[str, str] = {}
        for c in self.containers():
            service = c.labels["devstack.service"]
            assert service not in found, f"two containers of {service}"
            found[service] = c.id or ""
        return found

    def exec(self, service: str, script: str) -> tuple[int, str]:
        code, output = self.container(service).exec_run(["sh", "-c", script])
        return int(code), output.decode(errors="replace")

    def wait_state(self, service: str, state: str, timeout: float = 20.0) -> dict[str, Any]:
        found: dict[str, Any] = wait_for(
            lambda: (s := self.live()[service])["state"] == state and s,
            timeout,
            f"{service} to be {state}",
        )
        return found

    def log_text(self, service: str) -> str:
        return self.ok("logs", service).stdout


@contextlib.contextmanager
def running_stack(
    engine: docker.DockerClient, prefix: str, prepare: Callable[[DockerStack], None]
) -> Iterator[DockerStack]:
    """A stack in a folder of its own (for a module's tests to share): `prepare` writes it,
    then it is up; afterwards `down`, and everything it left is removed."""
    with cleaned(
        DockerStack(Path(tempfile.mkdtemp(prefix=prefix)), unique_name(), engine)
    ) as stack:
        prepare(stack)
        stack.up()
        yield stack


@contextlib.contextmanager
def cleaned(stack: DockerStack) -> Iterator[DockerStack]:
    """`stack`, then `down` and every container, network, volume and image that carries
    its id or name removed, whatever happened."""
    try:
        yield stack
    finally:
        try:
            stack.cleanup()
        finally:
            remove_leftovers(stack.engine, stack.name, stack.stack_id)


def inspect(stack: DockerStack, service: str) -> dict[str, Any]:
    """The engine's view of the service's one container, fresh."""
    container = stack.container(service)
    container.reload()
    attrs: dict[str, Any] = container.attrs
    return attrs


def remove_leftovers(engine: docker.DockerClient, name: str, stack_id: str) -> None:
    """Remove every container, network, volume and image of the stack (by label or name)."""
    label = {"label": f"devstack.stack={stack_id}"}
    containers = {
        c.id: c
        for c in [
            *engine.containers.list(all=True, filters=label),
            *engine.containers.list(all=True, filters={"name": f"^/?{name}-"}),
        ]
    }
    for c in containers.values():
        with contextlib.suppress(docker.errors.NotFound):
            c.remove(force=True)
    networks = [
        *engine.networks.list(filters=label),
        *(n for n in engine.networks.list(names=[f"{name}_default"]) if n.name.startswith(name)),
    ]
    for n in {n.id: n for n in networks}.values():
        with contextlib.suppress(docker.errors.NotFound):
            n.remove()
    volumes = [
        *engine.volumes.list(filters=label),
        *(v for v in engine.volumes.list() if (v.name or "").startswith(f"{name}_")),
    ]
    for v in {v.name: v for v in volumes}.values():
        with contextlib.suppress(docker.errors.NotFound):
            v.remove(force=True)
    for image in engine.images.list(name=f"{name}/*"):
        for tag in image.tags:
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                engine.images.remove(tag, force=True)
