"""A container's resolved compose settings (entrypoint, user, mounts, secrets, hooks...):
what the docker runtime needs beyond image, command, env, ports and volumes.

Every field has a digest of its own, present only when the field is set, so containers
created before these settings existed keep their spec hash (no needless recreation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal


@dataclass(frozen=True)
class Mount:
    """A long-syntax or anonymous volume, resolved."""

    type: Literal["bind", "volume", "tmpfs"]
    target: str
    source: str = ""  # bind: absolute host path; volume: <stack>_<name>, "" = anonymous
    read_only: bool = False
    subpath: str | None = None
    create_host_path: bool = True
    tmpfs_size: int | str | None = None


@dataclass(frozen=True)
class FileMount:
    """A secret or config placed in the container at `target`.

    From a file: bind-mounted read-only (`source`), as compose does, so edits show at once.
    From a variable or inline content: copied in before the container starts (`content`),
    never written to the host; `secret` content is masked wherever the spec is shown.
    """

    target: str
    source: str = ""
    content: str | None = None
    secret: bool = False
    uid: int = 0
    gid: int = 0
    mode: int = 0o444


@dataclass(frozen=True)
class HookSpec:
    argv: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HookSpec:
        """Back from `asdict` as JSON (a container's label, a release record)."""
        env = tuple((str(k), str(v)) for k, v in data["env"])
        return cls(tuple(data["argv"]), data["user"], data["privileged"], data["working_dir"], env)


@dataclass(frozen=True)
class GpuRequest:
    """A device request to the engine (`docker run --gpus`): count -1 is every device."""

    driver: str = ""
    count: int = 0
    device_ids: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ("gpu",)
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GpuRequest:
        return cls(
            data["driver"],
            data["count"],
            tuple(data["device_ids"]),
            tuple(data["capabilities"]),
            tuple((str(k), str(v)) for k, v in data["options"]),
        )


@dataclass(frozen=True)
class ContainerOptions:
    entrypoint: tuple[str, ...] | None = None
    user: str | None = None
    working_dir: str | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    ulimits: tuple[tuple[str, int, int], ...] = ()  # name, soft, hard
    tmpfs: tuple[tuple[str, str], ...] = ()  # path, mount options
    shm_size: int | str | None = None
    extra_hosts: tuple[tuple[str, str], ...] = ()  # host, ip
    network_mode: str | None = None  # host, none, bridge or service:NAME
    mounts: tuple[Mount, ...] = ()
    files: tuple[FileMount, ...] = ()
    # Docker's own healthcheck: compose's test (["NONE"] disables the image's) and its timing
    # in seconds: interval, timeout, retries, start_period.
    healthcheck: tuple[str, ...] | None = None
    health_timing: tuple[float, float, int, float] | None = None
    post_start: tuple[HookSpec, ...] = ()
    pre_stop: tuple[HookSpec, ...] = ()
    devices: tuple[str, ...] = ()  # HOST:CONTAINER:PERMISSIONS
    api_socket: bool = False  # the engine's socket bind-mounted at /var/run/docker.sock
    gpus: tuple[GpuRequest, ...] = ()
    aliases: tuple[str, ...] = ()  # besides the service's name, on the stack network
    # Set by prepare(): readiness is the image's own HEALTHCHECK, read from the engine.
    # Not a digest: the image id already says which image it is.
    image_health: bool = False

    def digest_values(self) -> dict[str, object]:
        """Field -> JSON value, for the fields that are set (`image_health` never)."""
        found: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            # `is False`: an unset flag has no digest (0 == False would skip a 0 too).
            if item.name == "image_health" or value is None or value == () or value is False:
                continue
            if item.name == "files":
                value = [asdict(f) for f in value]
            elif item.name in ("mounts", "post_start", "pre_stop", "gpus"):
                value = [asdict(m) for m in value]
            found[item.name] = value
        return found
