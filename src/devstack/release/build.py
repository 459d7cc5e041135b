"""Building (or finding) the images of a desired state, outside the daemon: `build`, `release`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from devstack.engine.events import LogLine, LogStore
from devstack.engine.ports import RuntimeError_
from devstack.model.desired import ContainerSpec, DesiredState
from devstack.release.record import ReleaseError


def prepare_images(
    state: DesiredState,
    stack_id: str,
    services: Iterable[str],
    progress: Callable[[str, str], None],
    rebuild: bool = False,
) -> DesiredState:
    """Each named container service with its image built when its context changed (or
    always with `rebuild`) and its image id pinned, as the daemon's `up` would do."""
    wanted = [n for n in services if isinstance(state.services[n].spec, ContainerSpec)]
    if not wanted:
        return state
    from devstack.runtimes.docker import DockerRuntime

    logs = LogStore()

    def show(line: LogLine) -> None:
        progress(line.service, line.text)

    logs.subscribe(show)
    runtime = DockerRuntime(state.stack, stack_id, logs, lambda: None)
    runtime.invalidate(rebuild=rebuild)
    prepared = dict(state.services)
    try:
        for name in wanted:
            prepared[name] = runtime.prepare(state.services[name])
    except RuntimeError_ as exc:
        raise ReleaseError(f"{name}: {exc}") from None
    finally:
        runtime.close()
    return replace(state, services=prepared)


def tag_release(state: DesiredState, stack_id: str, release: str) -> list[str]:
    """Tag each built image `<stack>/<service>:<release>`: `docker image prune` keeps it,
    so an old release still runs after newer builds moved the service's usual tag."""
    from devstack.runtimes.docker_engine import connect

    tags = []
    api = None
    for name, service in state.services.items():
        spec = service.spec
        if isinstance(spec, ContainerSpec) and spec.build is not None and spec.image_id:
            api = api or connect()
            repository = f"{state.stack}/{name}"
            api.tag(spec.image_id, repository, release)
            tags.append(f"{repository}:{release}")
    return tags
