"""A container service's spec: its image (or the environment's pinned one, or a build
plan), command, ports and volumes. Problems are reported through `problem`, as the
resolver collects every problem of the manifest before it raises."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from devstack.config.container_options import Variable, container_options
from devstack.config.loader import LoadedStack
from devstack.model.desired import BuildContext, BuildPlan, ContainerSpec, PortBinding
from devstack.model.manifest import BuildSpec, Service

ReportProblem = Callable[..., None]  # problem(message, *path)
Interpolate = Callable[[str, tuple[str | int, ...]], str]  # a template, at a path -> value


def container_spec(
    loaded: LoadedStack,
    name: str,
    service: Service,
    env: dict[str, str],
    bindings: tuple[PortBinding, ...],
    pinned: tuple[str, tuple[str | int, ...]] | None,
    interpolate: Interpolate,
    problem: ReportProblem,
    variable: Variable = lambda name: None,
) -> ContainerSpec:
    """`pinned`: the image the environment ships for this service, and where it is declared."""
    build = service.build_spec()
    plan = None
    if pinned is not None:
        # The environment's image replaces image and build: staging runs what it ships.
        build = None
    if build is not None:
        plan = build_plan(loaded, name, build, interpolate, problem, {name})
    image = ""
    if pinned is not None:
        image = interpolate(*pinned)
    elif service.image:
        image = interpolate(service.image, ("services", name, "image"))
    command = split_command(name, service, problem)
    return ContainerSpec(
        image=image,
        command=tuple(command) if command is not None else None,
        env=env,
        ports=bindings,
        volumes=tuple(
            volume(loaded, name, index, item, problem)
            for index, item in enumerate(service.volumes)
            # Anonymous and long-syntax volumes are mounts (ContainerOptions.mounts).
            if isinstance(item, str) and not item.startswith("/")
        ),
        build=plan,
        options=container_options(loaded, name, service, variable, problem),
    )


def volume(loaded: LoadedStack, service: str, index: int, text: str, problem: ReportProblem) -> str:
    """`NAME:/path` -> `<stack>_NAME:/path`; `./dir:/path` -> an absolute bind mount."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[1].startswith("/"):
        problem(
            f"invalid volume {text!r}: expected SOURCE:/container/path[:ro]",
            "services",
            service,
            "volumes",
            index,
        )
        return text
    source, rest = parts[0], parts[1:]
    if source.startswith((".", "/", "~")):
        path = Path(source).expanduser()
        source = str(path if path.is_absolute() else (loaded.root / path).resolve())
    elif source in loaded.stack.volumes:
        source = f"{loaded.stack.name}_{source}"
    else:
        known = ", ".join(sorted(loaded.stack.volumes)) or "none declared"
        problem(
            f"unknown volume {source!r} (declare it under top-level volumes; known: {known})",
            "services",
            service,
            "volumes",
            index,
        )
    return ":".join([source, *rest])


@lru_cache(maxsize=1024)
def _shell_split(command: str) -> tuple[str, ...]:
    # Every `up` resolves every service again: shlex costs 0.1 ms a command (10 ms at 100).
    return tuple(shlex.split(command))


def split_command(name: str, service: Service, problem: ReportProblem) -> list[str] | None:
    """The service's command as argv (a string is split as a shell would); None: the image's."""
    if service.command is None:
        return None
    if isinstance(service.command, list):
        return list(service.command)
    try:
        return list(_shell_split(service.command))
    except ValueError as exc:
        problem(f"cannot split command: {exc}", "services", name, "command")
        return []


def build_plan(
    loaded: LoadedStack,
    name: str,
    build: BuildSpec,
    interpolate: Interpolate,
    problem: ReportProblem,
    seen: set[str],
) -> BuildPlan:
    """`build:` resolved: the context made absolute, args interpolated, and each additional
    context a folder, an image, or another service's build (`seen`: no service twice)."""
    at = ("services", name, "build")
    context = (loaded.root / build.context).resolve()
    if not context.is_dir():
        problem(f"build context {build.context} is not a directory", *at)
    args = {key: interpolate(value, (*at, "args", key)) for key, value in build.args.items()}
    contexts = []
    for label, source in build.additional_contexts.items():
        where = (*at, "additional_contexts", label)
        if source.startswith("docker-image://"):
            contexts.append(BuildContext(label, image=source.removeprefix("docker-image://")))
        elif source.startswith("service:"):
            other = source.removeprefix("service:")
            found = _service_context(loaded, label, other, interpolate, problem, seen, where)
            if found is not None:
                contexts.append(found)
        else:
            folder = (loaded.root / source).resolve()
            if not folder.is_dir():
                problem(f"additional context {source} is not a directory", *where)
            contexts.append(BuildContext(label, folder=str(folder)))
    return BuildPlan(
        str(context), build.dockerfile, tuple(sorted(args.items())), build.target, tuple(contexts)
    )


def _service_context(
    loaded: LoadedStack,
    label: str,
    other: str,
    interpolate: Interpolate,
    problem: ReportProblem,
    seen: set[str],
    where: tuple[str, ...],
) -> BuildContext | None:
    service = loaded.stack.services.get(other)
    if service is None or service.runtime != "docker" or other in seen:
        known = ", ".join(n for n, s in sorted(loaded.stack.services.items()) if s.build or s.image)
        reason = "it is the service itself" if other in seen else f"containers: {known}"
        problem(f"additional context service:{other} is not another container service "
                f"({reason})", *where)  # fmt: skip
        return None
    spec = service.build_spec()
    if spec is None:
        return BuildContext(
            label, image=interpolate(service.image or "", ("services", other, "image"))
        )
    plan = build_plan(loaded, other, spec, interpolate, problem, {*seen, other})
    return BuildContext(label, service=other, plan=plan)
