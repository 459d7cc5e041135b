"""A container service's compose settings resolved into `ContainerOptions`: paths made
absolute, volumes named after the stack, secrets and configs read, hooks split.

Problems go through `problem(message, *path)`, as the resolver collects them all."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

from devstack.config.loader import LoadedStack
from devstack.model.container import (
    ConfigDef,
    DeviceRequest,
    Hook,
    ObjectRef,
    SecretDef,
    Ulimit,
    VolumeMount,
)
from devstack.model.container_options import (
    ContainerOptions,
    FileMount,
    GpuRequest,
    HookSpec,
    Mount,
)
from devstack.model.manifest import HealthCheck, Service

ReportProblem = Callable[..., None]
# A variable of the environment (env files, vars, secrets) or the host: (value, secret).
Variable = Callable[[str], tuple[str, bool] | None]


def container_options(
    loaded: LoadedStack,
    name: str,
    service: Service,
    variable: Variable,
    problem: ReportProblem,
) -> ContainerOptions:
    at = ("services", name)
    entrypoint = None
    if service.entrypoint is not None:
        entrypoint = tuple(_split(service.entrypoint, problem, *at, "entrypoint"))
    return ContainerOptions(
        entrypoint=entrypoint,
        user=service.user,
        working_dir=service.working_dir,
        cap_add=tuple(service.cap_add),
        cap_drop=tuple(service.cap_drop),
        ulimits=tuple(_ulimit(k, v) for k, v in sorted(service.ulimits.items())),
        tmpfs=tuple(_tmpfs(text) for text in service.tmpfs_list()),
        shm_size=service.shm_size,
        extra_hosts=_extra_hosts(service, problem, at),
        network_mode=service.network_mode,
        mounts=tuple(
            _mount(loaded, item, problem, (*at, "volumes", index))
            for index, item in enumerate(service.volumes)
            if not isinstance(item, str) or item.startswith("/")
        ),
        files=_files(loaded, name, service, variable, problem),
        healthcheck=docker_test(service.healthcheck),
        health_timing=_timing(service.healthcheck),
        post_start=tuple(_hook(h, problem, (*at, "post_start", i)) for i, h in enumerate(service.post_start)),
        pre_stop=tuple(_hook(h, problem, (*at, "pre_stop", i)) for i, h in enumerate(service.pre_stop)),
        devices=tuple(_device(text) for text in service.devices),
        api_socket=service.use_api_socket,
        gpus=gpu_requests(service.gpus),
        aliases=tuple(service.aliases),
    )  # fmt: skip


def _device(text: str) -> str:
    """HOST[:CONTAINER[:PERMISSIONS]] in full, as the engine takes it (compose's defaults:
    the same path, rwm)."""
    host, _, rest = text.partition(":")
    container, _, permissions = rest.partition(":")
    return f"{host}:{container or host}:{permissions or 'rwm'}"


def gpu_requests(gpus: str | list[DeviceRequest]) -> tuple[GpuRequest, ...]:
    """Compose's `gpus` as device requests: `all` (or no count and no ids) is every GPU."""
    if gpus == "all":
        return (GpuRequest(count=-1),)
    return tuple(
        GpuRequest(
            driver=g.driver or "",
            count=-1
            if g.count == "all" or (g.count is None and not g.device_ids)
            else g.count or 0,
            device_ids=tuple(g.device_ids),
            capabilities=tuple(g.capabilities),
            options=tuple(sorted(g.options.items())),
        )
        for g in gpus
        if not isinstance(g, str)
    )


def docker_test(check: HealthCheck | None) -> tuple[str, ...] | None:
    """Compose's healthcheck test as the engine takes it (a string runs in a shell)."""
    if check is None or check.test is None:
        return None
    if isinstance(check.test, str):
        return ("CMD-SHELL", check.test)
    return tuple(check.test)


def probe_argv(test: tuple[str, ...]) -> list[str]:
    """What devstack runs in the container to judge readiness from a compose test."""
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", test[1]]
    return list(test[1:])


def _timing(check: HealthCheck | None) -> tuple[float, float, int, float] | None:
    if check is None or check.test is None:
        return None
    return (check.interval, check.timeout, check.retries, check.start_period)


def _split(value: str | list[str], problem: ReportProblem, *path: str | int) -> list[str]:
    if isinstance(value, list):
        return list(value)
    try:
        return shlex.split(value)
    except ValueError as exc:
        problem(f"cannot split {path[-1]}: {exc}", *path)
        return []


def _ulimit(name: str, value: int | Ulimit) -> tuple[str, int, int]:
    if isinstance(value, int):
        return (name, value, value)
    return (name, value.soft, value.hard)


def _tmpfs(text: str) -> tuple[str, str]:
    path, _, options = text.partition(":")
    return (path, options)


def _extra_hosts(
    service: Service, problem: ReportProblem, at: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    if isinstance(service.extra_hosts, dict):
        return tuple(sorted(service.extra_hosts.items()))
    found = []
    for index, text in enumerate(service.extra_hosts):
        # HOST:IP or HOST=IP; an IPv6 address keeps its colons (split at the first).
        cut = min((i for i in (text.find("="), text.find(":")) if i > 0), default=-1)
        if cut < 0 or not text[cut + 1 :]:
            problem(f"invalid extra host {text!r}: expected HOST:IP", *at, "extra_hosts", index)
            continue
        found.append((text[:cut], text[cut + 1 :]))
    return tuple(found)


def _mount(
    loaded: LoadedStack,
    item: str | VolumeMount,
    problem: ReportProblem,
    path: tuple[str | int, ...],
) -> Mount:
    if isinstance(item, str):  # `/data`: an anonymous volume
        return Mount("volume", item)
    source = item.source or ""
    if item.type == "bind":
        host = Path(source).expanduser()
        source = str(host if host.is_absolute() else (loaded.root / host).resolve())
        create = item.bind.create_host_path if item.bind else True
        if not create and not Path(source).exists():
            problem(f"bind source {item.source} does not exist (create_host_path: false)", *path)
    elif item.type == "volume" and source:
        if source not in loaded.stack.volumes:
            known = ", ".join(sorted(loaded.stack.volumes)) or "none declared"
            problem(
                f"unknown volume {source!r} (declare it under top-level volumes; known: {known})",
                *path,
            )
        source = f"{loaded.stack.name}_{source}"
    return Mount(
        type=item.type,
        target=item.target,
        source=source,
        read_only=item.read_only,
        subpath=item.volume.subpath if item.volume else None,
        create_host_path=item.bind.create_host_path if item.bind else True,
        tmpfs_size=item.tmpfs.size if item.tmpfs else None,
    )


def _files(
    loaded: LoadedStack, name: str, service: Service, variable: Variable, problem: ReportProblem
) -> tuple[FileMount, ...]:
    found = []
    for section, declared in (("secrets", loaded.stack.secrets), ("configs", loaded.stack.configs)):
        for index, use in enumerate(getattr(service, section)):
            ref = use if isinstance(use, ObjectRef) else ObjectRef(source=use)
            definition = declared.get(ref.source)
            if definition is None:
                continue  # reported by the loader
            target = ref.target or ref.source
            if section == "secrets" and not target.startswith("/"):
                target = f"/run/secrets/{target}"
            elif not target.startswith("/"):
                target = f"/{target}"
            where = ("services", name, section, index)
            mount = _file(loaded, section, ref.source, definition, variable, problem, where)
            if mount is not None:
                found.append(
                    FileMount(
                        target=target,
                        source=mount.source,
                        content=mount.content,
                        secret=mount.secret,
                        uid=int(ref.uid or 0),
                        gid=int(ref.gid or 0),
                        mode=ref.file_mode() or 0o444,
                    )
                )
    return tuple(found)


def _file(
    loaded: LoadedStack,
    section: str,
    source: str,
    definition: SecretDef,
    variable: Variable,
    problem: ReportProblem,
    where: tuple[str | int, ...],
) -> FileMount | None:
    kind = section[:-1]
    if definition.file is not None:
        path = Path(definition.file).expanduser()
        path = path if path.is_absolute() else (loaded.root / path).resolve()
        if not path.is_file():
            problem(f"{kind} {source!r}: file {definition.file} does not exist", section, source)
            return None
        return FileMount(target="", source=str(path))
    if definition.environment is not None:
        found = variable(definition.environment)
        if found is None:
            problem(
                f"{kind} {source!r}: variable {definition.environment} is not set "
                "(in the environment's vars, env files, secrets or the host)",
                section,
                source,
            )
            return None
        value, secret = found
        # A secret's value is masked like any secret; a config's only if its source is one.
        return FileMount(target="", content=value, secret=secret or section == "secrets")
    content = definition.content if isinstance(definition, ConfigDef) else None
    return FileMount(target="", content=content or "")


def _hook(hook: Hook, problem: ReportProblem, path: tuple[str | int, ...]) -> HookSpec:
    argv = _split(hook.command, problem, *path, "command")
    if not argv:
        problem("a hook's command cannot be empty", *path, "command")
    return HookSpec(
        argv=tuple(argv),
        user=hook.user,
        privileged=hook.privileged,
        working_dir=hook.working_dir,
        env=tuple(sorted(hook.env_map().items())),
    )
