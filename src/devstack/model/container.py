"""Container-only service settings, in compose's names and shapes.

A team importing its compose file keeps what changes how a service behaves (its
entrypoint, user, mounts, secrets, hooks...), so these follow the compose specification
rather than a devstack dialect. Host processes cannot honour them: `config/loader.py`
refuses them there with one located line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from devstack.model.manifest_base import Model

# A compose secret or config name: letters, digits, dots, dashes, underscores.
OBJECT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

# The service keys only a container can honour (the loader names them for a process).
CONTAINER_ONLY_KEYS = (
    "entrypoint",
    "user",
    "working_dir",
    "cap_add",
    "cap_drop",
    "ulimits",
    "tmpfs",
    "shm_size",
    "extra_hosts",
    "network_mode",
    "volumes",
    "secrets",
    "configs",
    "post_start",
    "pre_stop",
    "devices",
    "use_api_socket",
    "gpus",
    "aliases",
)
# A device as compose writes it: HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]], permissions rwm.
DEVICE_PATTERN = r"^/[^:]+(:/[^:]+(:[rwm]{1,3})?)?$"
# A name the container also answers to on the stack network (a DNS label, dots allowed).
ALIAS_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class Ulimit(Model):
    soft: int
    hard: int

    @model_validator(mode="after")
    def _soft_below_hard(self) -> Ulimit:
        if self.soft > self.hard:
            raise ValueError(f"soft limit {self.soft} is above the hard limit {self.hard}")
        return self


UlimitValue = int | Ulimit


class DeviceRequest(Model):
    """A request for devices the engine's driver hands out (GPUs): compose's `gpus` entry,
    or an entry of `deploy.resources.reservations.devices`."""

    driver: str | None = Field(default=None, description="nvidia...; default: the engine's")
    count: int | Literal["all"] | None = Field(
        default=None, description="How many (all: every one); default: all, unless device_ids"
    )
    device_ids: list[str] = Field(default_factory=list)
    capabilities: list[str] = Field(default_factory=lambda: ["gpu"])
    options: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _count_or_ids(self) -> DeviceRequest:
        if self.count is not None and self.device_ids:
            raise ValueError("give count or device_ids, not both")
        return self


class VolumeOptions(Model):
    subpath: str | None = Field(default=None, description="Mount this folder of the volume")
    nocopy: bool = False


class BindOptions(Model):
    create_host_path: bool = Field(
        default=True, description="Create a missing host folder (compose's default)"
    )
    propagation: str | None = None


class TmpfsOptions(Model):
    size: int | str | None = Field(default=None, description="Bytes, or 64m, 1g...")
    mode: int | None = None


class VolumeMount(Model):
    """Compose's long volume syntax."""

    type: Literal["bind", "volume", "tmpfs"]
    source: str | None = Field(
        default=None,
        description="bind: host path (relative to the manifest); volume: a stack volume "
        "(none: an anonymous volume); tmpfs: none",
    )
    target: str = Field(description="Absolute path in the container")
    read_only: bool = False
    volume: VolumeOptions | None = None
    bind: BindOptions | None = None
    tmpfs: TmpfsOptions | None = None

    @model_validator(mode="after")
    def _coherent(self) -> VolumeMount:
        if not self.target.startswith("/"):
            raise ValueError("target must be an absolute path in the container")
        if self.type == "bind" and not self.source:
            raise ValueError("a bind mount needs a source (a host path)")
        if self.type == "tmpfs" and self.source:
            raise ValueError("a tmpfs mount has no source")
        for option in ("volume", "bind", "tmpfs"):
            if getattr(self, option) is not None and option != self.type:
                raise ValueError(f"option {option!r} applies to type {option}, not {self.type}")
        return self


class ObjectRef(Model):
    """A service's use of a stack secret or config (compose's long syntax)."""

    source: str = Field(pattern=OBJECT_NAME_PATTERN)
    target: str | None = Field(
        default=None,
        description="secrets: a name under /run/secrets or an absolute path; configs: a path "
        "(default /<source>)",
    )
    uid: str | None = Field(default=None, pattern=r"^\d+$", description="Numeric owner id")
    gid: str | None = Field(default=None, pattern=r"^\d+$", description="Numeric group id")
    mode: int | str | None = Field(
        default=None,
        description='File mode: 0o440, or a string read as octal ("0440"); default 0444',
    )

    @field_validator("mode")
    @classmethod
    def _octal(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, str):
            try:
                number = int(value.removeprefix("0o"), 8)
            except ValueError:
                raise ValueError(f"mode {value!r} is not an octal number such as 0440") from None
            if not 0 <= number <= 0o7777:
                raise ValueError(f"mode {value!r} is not a file mode")
        return value

    def file_mode(self) -> int | None:
        if isinstance(self.mode, str):
            return int(self.mode.removeprefix("0o"), 8)
        return self.mode


ObjectUse = Annotated[str, Field(pattern=OBJECT_NAME_PATTERN)] | ObjectRef


class SecretDef(Model):
    """A top-level secret: a file's content, or a variable's value (masked like any secret)."""

    file: str | None = Field(default=None, description="Relative to the manifest")
    environment: str | None = Field(
        default=None,
        pattern=VAR_PATTERN,
        description="A variable of the environment (env files, vars, secrets) or the host",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretDef:
        given = [n for n in ("file", "environment", "content") if getattr(self, n, None)]
        if len(given) != 1:
            raise ValueError(f"needs exactly one of {self._forms()}")
        return self

    @staticmethod
    def _forms() -> str:
        return "file or environment"


class ConfigDef(SecretDef):
    """A top-level config: a file, a variable's value or inline content."""

    content: str | None = None

    @staticmethod
    def _forms() -> str:
        return "file, environment or content"


class Hook(Model):
    """A command run in the container after it starts (`post_start`) or before it stops."""

    command: str | list[str]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: dict[Annotated[str, Field(pattern=VAR_PATTERN)], str] | list[str] = Field(
        default_factory=dict, description="NAME: VALUE, or a list of NAME=VALUE"
    )

    def env_map(self) -> dict[str, str]:
        if isinstance(self.environment, dict):
            return dict(self.environment)
        pairs = {}
        for item in self.environment:
            key, sep, value = item.partition("=")
            pairs[key] = value if sep else ""
        return pairs
