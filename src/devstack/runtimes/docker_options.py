"""A container service's compose settings turned into the engine's create arguments, and
the work around a container's start and stop they ask for: secret and config files copied
in before it starts, `post_start` hooks after, `pre_stop` hooks before it stops, and
readiness read from the engine's health status (the image's own HEALTHCHECK)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import docker.errors
from docker import APIClient
from docker.types import DeviceRequest, Ulimit
from docker.types import Mount as DockerMount

from devstack.engine.ports import RuntimeError_
from devstack.model.container_options import ContainerOptions, FileMount, HookSpec, Mount
from devstack.model.desired import ContainerSpec, DesiredService
from devstack.model.manifest import HealthCheck
from devstack.runtimes.docker_engine import LABEL, translated

HOST_GATEWAY = {"host.docker.internal": "host-gateway"}
API_SOCKET = "/var/run/docker.sock"  # where compose's use_api_socket puts it
PRE_STOP_LABEL = f"{LABEL}.pre-stop"
SUBPATH_API = (1, 45)  # the engine mounts a volume's subpath itself from this API on
NANO = 1_000_000_000
POST_START_TIMEOUT = 300.0  # seconds; a pre_stop hook has the service's stop grace
ENGINE_POLL = 1.0  # seconds between two looks at the engine's health status, once healthy

Lookup = Callable[[str], list[dict[str, Any]]]  # service -> its replica-0 containers


def create_arguments(
    api: APIClient,
    spec: ContainerSpec,
    network: str,
    bindings: dict[int | str, Any],
    lookup: Lookup,
    local: bool,
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(create_host_config kwargs, create_container kwargs, joins the stack network)."""
    opts = spec.options
    host: dict[str, Any] = {
        "binds": list(spec.volumes),
        "init": True,  # PID 1 must forward SIGTERM, or stop waits out the whole grace
        "extra_hosts": {**HOST_GATEWAY, **dict(opts.extra_hosts)},
        "network_mode": network,
        "port_bindings": bindings,
    }
    # The SDK takes a udp port as (port, "udp"); a bare number is tcp.
    create: dict[str, Any] = {
        "ports": [p.container if p.protocol == "tcp" else (p.container, p.protocol)
                  for p in spec.ports]
    }  # fmt: skip
    mode = opts.network_mode
    if mode is not None:
        host["network_mode"] = mode
        if mode != "bridge":  # host, none, another's: nothing of its own to publish
            host.pop("port_bindings")
            create.pop("ports")
    if mode is not None and mode.startswith("service:"):
        # The other service's network namespace: its ports, its /etc/hosts, its name.
        host["network_mode"] = f"container:{_running_id(mode.removeprefix('service:'), lookup)}"
        host.pop("extra_hosts")  # the engine refuses them in another's namespace
    if opts.cap_add:
        host["cap_add"] = list(opts.cap_add)
    if opts.cap_drop:
        host["cap_drop"] = list(opts.cap_drop)
    if opts.ulimits:
        host["ulimits"] = [Ulimit(name=n, soft=s, hard=h) for n, s, h in opts.ulimits]
    if opts.tmpfs:
        host["tmpfs"] = dict(opts.tmpfs)
    if opts.shm_size is not None:
        host["shm_size"] = opts.shm_size
    if opts.devices:
        host["devices"] = list(opts.devices)
    if opts.gpus:
        # The engine's driver hands the devices out; without one (no GPU) it refuses to
        # start the container, as it does for compose.
        host["device_requests"] = [
            DeviceRequest(
                driver=g.driver,
                count=g.count,
                device_ids=list(g.device_ids),
                capabilities=[list(g.capabilities)],
                options=dict(g.options),
            )
            for g in opts.gpus
        ]
    mounts, binds = _mounts(api, opts.mounts, local)
    host["binds"].extend(binds)
    host["binds"].extend(f"{f.source}:{f.target}:ro" for f in opts.files if f.source)
    if opts.api_socket:
        host["binds"].append(f"{engine_socket(local)}:{API_SOCKET}")
    if mounts:
        host["mounts"] = mounts
    if opts.entrypoint is not None:
        create["entrypoint"] = list(opts.entrypoint) or [""]  # [""] clears the image's
    if opts.user is not None:
        create["user"] = opts.user
    if opts.working_dir is not None:
        create["working_dir"] = opts.working_dir
    if opts.healthcheck is not None:
        create["healthcheck"] = _healthcheck(opts)
    return host, create, mode is None


def engine_socket(local: bool) -> str:
    """The engine's API socket on the engine's machine: DOCKER_HOST's for a local unix
    socket, else the standard path (a remote engine over SSH listens there)."""
    given = os.environ.get("DOCKER_HOST", "")
    if local and given.startswith("unix://"):
        return given.removeprefix("unix://")
    return API_SOCKET


def network_orphans(listed: list[dict[str, Any]]) -> set[str]:
    """Running containers in the network namespace of a container that no longer runs
    (`network_mode: service:NAME` after NAME was recreated or died): cut off from every
    network, so they are reported exited and the restart policy starts them again."""
    running = {item["Id"] for item in listed if item.get("State") == "running"}
    return {
        item["Id"]
        for item in listed
        if item.get("State") == "running"
        and (mode := str((item.get("HostConfig") or {}).get("NetworkMode", ""))).startswith(
            "container:"
        )
        and mode.removeprefix("container:") not in running
    }


def labels(opts: ContainerOptions) -> dict[str, str]:
    """The pre_stop hooks travel with the container: a restarted daemon still runs them."""
    if not opts.pre_stop:
        return {}
    return {PRE_STOP_LABEL: json.dumps([asdict(h) for h in opts.pre_stop])}


def volumes_to_create(spec: ContainerSpec) -> tuple[str, ...]:
    """The stack volumes the container mounts, as `SOURCE:TARGET` for StackObjects."""
    named = [
        f"{m.source}:{m.target}" for m in spec.options.mounts if m.type == "volume" and m.source
    ]
    return (*spec.volumes, *named)


def copy_files(api: APIClient, cid: str, files: tuple[FileMount, ...]) -> None:
    """Secrets and configs with inline content, into the created container (not started)."""
    copied = [f for f in files if f.content is not None]
    if not copied:
        return
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        # No entries for the folders: the engine makes missing ones (root, 0755), and an
        # entry would reset an existing folder's owner and mode (an app's home).
        for item in copied:
            data = (item.content or "").encode()
            info = tarfile.TarInfo(item.target.lstrip("/"))
            info.size, info.mode, info.uid, info.gid = len(data), item.mode, item.uid, item.gid
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    with translated("copying secrets and configs into the container"):
        api.put_archive(cid, "/", buffer.getvalue())


def run_hooks(
    api: APIClient, cid: str, hooks: tuple[HookSpec, ...], stage: str, timeout: float
) -> str | None:
    """Run the hooks in order, each for at most `timeout` seconds; the first failure as
    one line (None: all exited 0). A hook's output goes nowhere: detached, its run is
    bounded by devstack's clock rather than by a read that could wait forever."""
    for index, hook in enumerate(hooks):
        shown = f"{stage}[{index}] ({' '.join(hook.argv)})"
        try:
            exec_id = api.exec_create(
                cid,
                list(hook.argv),
                stdout=False,
                stderr=False,
                user=hook.user or "",
                privileged=hook.privileged,
                workdir=hook.working_dir,
                environment=dict(hook.env) or None,
            )["Id"]
            api.exec_start(exec_id, detach=True)
            code = _exit_code(api, exec_id, timeout)
        except (docker.errors.DockerException, OSError) as exc:
            return f"{shown} could not run: {exc}"
        if code is None:
            return f"{shown} did not finish within {timeout:g}s"
        if code != 0:
            return f"{shown} exited with code {code}"
    return None


def pre_stop_hooks(item: dict[str, Any]) -> tuple[HookSpec, ...]:
    raw = (item.get("Labels") or {}).get(PRE_STOP_LABEL)
    if not raw:
        return ()
    try:
        return tuple(HookSpec.from_json(h) for h in json.loads(raw))
    except (ValueError, KeyError, TypeError):
        return ()  # a label edited by hand: no hook rather than a stop that fails


Find = Callable[[], tuple[APIClient, list[dict[str, Any]]]]  # the instance's containers


def engine_health(find: Find) -> Callable[[float], bool]:
    """Readiness as the engine judges it: the container's health status is `healthy`."""

    def check(timeout: float) -> bool:
        try:
            api, (item,) = find()
            state = api.inspect_container(item["Id"])["State"]
        except (RuntimeError_, ValueError, docker.errors.DockerException):
            return False
        return bool((state.get("Health") or {}).get("Status") == "healthy")

    return check


def exec_check(find: Find, argv: list[str]) -> Callable[[float], bool]:
    """A command healthcheck run inside the container (docker exec), exit 0 = healthy."""

    def check(timeout: float) -> bool:
        try:
            api, (item,) = find()
            exec_id = api.exec_create(item["Id"], argv, stdout=False, stderr=False)["Id"]
            # Detached from output, exec_start returns at once: the command is still
            # running (ExitCode None) until inspect says otherwise.
            api.exec_start(exec_id, detach=True)
            return _exit_code(api, exec_id, timeout) == 0
        except (RuntimeError_, ValueError, docker.errors.DockerException):
            return False

    return check


def with_image_health(api: APIClient, service: DesiredService) -> DesiredService:
    """A container service that declares no healthcheck is ready when the engine says the
    image's own HEALTHCHECK passes (compose's behaviour), if the image has one."""
    spec = service.spec
    if not isinstance(spec, ContainerSpec) or service.healthcheck is not None:
        return service
    if spec.options.healthcheck is not None:  # test: [NONE]
        return service
    try:
        image = api.inspect_image(spec.image_id or spec.image)  # type: ignore[no-untyped-call]
    except docker.errors.DockerException:
        return service
    declared = (image.get("Config") or {}).get("Healthcheck") or {}
    test = declared.get("Test") or []
    if not test or test[0] == "NONE":
        return service
    # The engine counts the image's retries itself: once healthy, one look that says
    # otherwise is enough. Until then it may take what the engine allows the image (its
    # start period, then `retries` intervals and timeouts; Docker's defaults: 30s, 3).
    interval = (declared.get("Interval") or 30 * NANO) / NANO
    timeout = (declared.get("Timeout") or 30 * NANO) / NANO
    retries = declared.get("Retries") or 3
    budget = (declared.get("StartPeriod") or 0) / NANO + (interval + timeout) * (retries + 1)
    check = HealthCheck(
        test=list(test), interval=ENGINE_POLL, retries=1, start_period=budget, start_interval=0.2
    )
    options = replace(spec.options, image_health=True)
    return replace(service, spec=replace(spec, options=options), healthcheck=check)


def _healthcheck(opts: ContainerOptions) -> dict[str, Any]:
    test = list(opts.healthcheck or ())
    if test == ["NONE"] or opts.health_timing is None:
        return {"test": test}
    interval, timeout, retries, start = opts.health_timing
    return {"test": test, "interval": int(interval * NANO), "timeout": int(timeout * NANO),
            "retries": retries, "start_period": int(start * NANO)}  # fmt: skip


def _running_id(service: str, lookup: Lookup) -> str:
    running = [c for c in lookup(service) if c.get("State") == "running"]
    if not running:
        raise RuntimeError_(f"service {service} is not running: its network cannot be shared")
    return str(running[0]["Id"])


def _mounts(
    api: APIClient, mounts: tuple[Mount, ...], local: bool
) -> tuple[list[DockerMount], list[str]]:
    found: list[DockerMount] = []
    binds: list[str] = []
    for m in mounts:
        if m.type == "bind" and m.create_host_path:
            # `binds` create a missing host folder, as compose's create_host_path does.
            binds.append(f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}")
        elif m.type == "tmpfs":
            found.append(DockerMount(m.target, None, type="tmpfs", read_only=m.read_only,
                                     tmpfs_size=m.tmpfs_size))  # fmt: skip
        elif m.type == "volume" and m.subpath and _api_version(api) < SUBPATH_API:
            binds.append(_subpath_bind(api, m, local))
        else:
            found.append(DockerMount(m.target, m.source or None, type=m.type,
                                     read_only=m.read_only, subpath=m.subpath))  # fmt: skip
    return found, binds


def _subpath_bind(api: APIClient, mount: Mount, local: bool) -> str:
    """An engine older than API 1.45 cannot mount part of a volume: mount that folder of
    the volume's data from the host instead (what newer engines do), on a local engine."""
    if not local:
        raise RuntimeError_(
            f"volume subpath {mount.subpath} needs Docker Engine 26 (API 1.45) on a remote "
            f"engine; this one speaks API {api.api_version}"
        )
    with translated(f"finding volume {mount.source}"):
        where = Path(api.inspect_volume(mount.source)["Mountpoint"]) / mount.subpath  # type: ignore[operator]
    if not where.is_dir():
        raise RuntimeError_(f"volume {mount.source} has no folder {mount.subpath} to mount")
    return f"{where}:{mount.target}:{'ro' if mount.read_only else 'rw'}"


def _api_version(api: APIClient) -> tuple[int, ...]:
    return tuple(int(part) for part in str(api.api_version).split(".")[:2])


def _exit_code(api: APIClient, exec_id: str, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        state = api.exec_inspect(exec_id)
        if not state.get("Running"):
            code = state.get("ExitCode")
            return int(code) if code is not None else None
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)
