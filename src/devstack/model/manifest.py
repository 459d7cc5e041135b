"""The stack manifest as typed data: what `devstack.yaml` may say, and nothing else.

Unknown keys are rejected everywhere except `x-` extensions, so a typo is an error rather
than a silently ignored setting. The JSON Schema printed by `devstack schema` is generated
from these models, so the schema and the validator never disagree.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from devstack.model.backing import Backing, Provider
from devstack.model.container import (
    ALIAS_PATTERN,
    CONTAINER_ONLY_KEYS,
    DEVICE_PATTERN,
    OBJECT_NAME_PATTERN,
    ConfigDef,
    DeviceRequest,
    Hook,
    ObjectUse,
    SecretDef,
    UlimitValue,
    VolumeMount,
)
from devstack.model.contracts import NeedSpec, short_form_schema
from devstack.model.manifest_base import Model
from devstack.model.names import UnknownName
from devstack.model.ports import parse_port as _parse_port
from devstack.model.ports import port_spec
from devstack.model.service_parts import (
    BuildSpec,
    DependsOnCondition,
    Duration,
    HealthCheck,
    WatchRule,
)

# Ports live in model/ports.py; `parse_port` stays importable from here for its callers.
parse_port = _parse_port
# Service parts live in model/service_parts.py; importable from here too.
__all__ = ["BuildSpec", "DependsOnCondition", "Duration", "HealthCheck", "WatchRule"]

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
VAR_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# A service's own variable may also hold dots and dashes, as compose allows
# (Elasticsearch reads `discovery.type`); `${...}` cannot name it, nothing else differs.
ENV_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"


class SecretValue(Model):
    """A variable declared with extra attributes: `{value: ..., secret: true}`."""

    value: str
    secret: bool = False


# A variable's value as written: scalars arrive as their source text (see config.loader).
EnvValue = str | SecretValue
EnvMap = dict[Annotated[str, Field(pattern=VAR_NAME_PATTERN)], EnvValue]
ServiceEnvMap = dict[Annotated[str, Field(pattern=ENV_KEY_PATTERN)], EnvValue]


class EnvFileRef(Model):
    path: str
    required: bool = True


SECRET_SOURCE_PATTERN = r"^(ssm:/\S*|secretsmanager:\S+)$"


class SecretSource(Model):
    """Where an environment's secrets live: read at `up`, injected, never written in clear."""

    from_: list[Annotated[str, Field(pattern=SECRET_SOURCE_PATTERN)]] = Field(
        alias="from",
        description="`ssm:/path/` (every parameter under it) or `secretsmanager:NAME` "
        "(a JSON object's keys, or one value named after the secret); one or a list",
    )
    provider: str | None = Field(
        default=None,
        description="Provider to read from (e.g. an `aws` provider with a profile); default: "
        "the provider of the stack's ssm / secretsmanager backing service, else ministack",
    )

    @field_validator("from_", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Environment(Model):
    """A named configuration layer: env files first, then secrets, then `vars` on top."""

    env_file: list[str | EnvFileRef] = Field(default_factory=list)
    vars: EnvMap = Field(default_factory=dict)
    providers: dict[str, str] = Field(
        default_factory=dict, description="Backing service -> provider in this environment"
    )
    secrets: SecretSource | None = Field(
        default=None, description="Secrets read from SSM / Secrets Manager at `up`"
    )
    images: dict[str, str] = Field(
        default_factory=dict,
        description="Service -> image it runs in this environment (replaces image and build)",
    )

    @field_validator("env_file", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | dict) else value


PortSpec = Annotated[str, BeforeValidator(port_spec)]
# A compose profile name (compose: [a-zA-Z0-9][a-zA-Z0-9_.-]+).
PROFILE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class Service(Model):
    """A microservice the user develops: a container with `image`/`build`, else a host process."""

    command: str | list[str] | None = Field(
        default=None,
        description="Program and arguments (split like a shell); for a container, overrides CMD",
    )
    image: str | None = Field(default=None, description="Image to run in a container")
    build: str | BuildSpec | None = Field(
        default=None, description="Build context (or full build settings) for the image"
    )
    workdir: str = Field(default=".", description="Host processes: relative to the manifest")
    ports: list[PortSpec] = Field(default_factory=list)
    volumes: list[str | VolumeMount] = Field(
        default_factory=list,
        description="Containers: NAME:/path (a stack volume), ./host/path:/path[:ro], /path "
        "(an anonymous volume), or compose's long syntax {type, source, target, ...}",
    )
    entrypoint: str | list[str] | None = Field(
        default=None, description="Containers: replaces the image's ENTRYPOINT ([] clears it)"
    )
    user: str | None = Field(default=None, description="Containers: USER[:GROUP] to run as")
    working_dir: str | None = Field(
        default=None, description="Containers: the working folder in the container"
    )
    cap_add: list[str] = Field(default_factory=list, description="Containers: capabilities")
    cap_drop: list[str] = Field(default_factory=list, description="Containers: capabilities")
    ulimits: dict[str, UlimitValue] = Field(
        default_factory=dict,
        description="Containers: NAME -> limit, or {soft, hard} (nofile, nproc...)",
    )
    tmpfs: str | list[str] = Field(
        default_factory=list, description="Containers: /path[:options] mounted as tmpfs"
    )
    shm_size: str | int | None = Field(
        default=None, description="Containers: size of /dev/shm (bytes, or 64m, 1g...)"
    )
    extra_hosts: list[str] | dict[str, str] = Field(
        default_factory=list,
        description="Containers: HOST:IP (or HOST=IP) lines added to /etc/hosts; "
        "host-gateway is the host",
    )
    network_mode: str | None = Field(
        default=None,
        pattern=r"^(host|none|bridge|service:[a-z0-9][a-z0-9_-]*)$",
        description="Containers: service:NAME shares NAME's network (NAME starts first); "
        "host; none; default: the stack's network",
    )
    secrets: list[ObjectUse] = Field(
        default_factory=list,
        description="Containers: stack secrets mounted at /run/secrets/<target or name>",
    )
    configs: list[ObjectUse] = Field(
        default_factory=list,
        description="Containers: stack configs mounted at /<name> or their target",
    )
    post_start: list[Hook] = Field(
        default_factory=list, description="Containers: commands run in it after it starts"
    )
    pre_stop: list[Hook] = Field(
        default_factory=list, description="Containers: commands run in it before it stops"
    )
    devices: list[Annotated[str, Field(pattern=DEVICE_PATTERN)]] = Field(
        default_factory=list,
        description="Containers: host devices, HOST[:CONTAINER[:PERMISSIONS]] (/dev/net/tun)",
    )
    use_api_socket: bool = Field(
        default=False,
        description="Containers: the engine's API socket at /var/run/docker.sock (compose's)",
    )
    gpus: Literal["all"] | list[DeviceRequest] = Field(
        default_factory=list,
        description="Containers: devices (GPUs) requested of the engine's driver, as compose's "
        "gpus or deploy.resources.reservations.devices; all: every GPU",
    )
    aliases: list[Annotated[str, Field(pattern=ALIAS_PATTERN)]] = Field(
        default_factory=list,
        description="Containers: more names it answers to on the stack network (compose's "
        "networks.NAME.aliases)",
    )
    env: ServiceEnvMap = Field(
        default_factory=dict,
        description="NAME: VALUE; a name may hold dots and dashes (discovery.type), as in compose",
    )
    uses: list[str] = Field(
        default_factory=list,
        description="Backing services this service binds to (injects their variables)",
    )
    depends_on: list[str] | dict[str, DependsOnCondition] = Field(default_factory=list)
    healthcheck: HealthCheck | None = None
    restart: Literal["no", "on-failure", "always"] = "on-failure"
    stop_grace: Duration = 10.0
    replicas: int = Field(
        default=1, ge=0, le=100, description="Instances to run; `devstack scale` changes it live"
    )
    watch: list[WatchRule] = Field(
        default_factory=list, description="Live reload rules for this service's files"
    )
    profiles: list[Annotated[str, Field(pattern=PROFILE_PATTERN)]] = Field(
        default_factory=list,
        description="Compose's profiles: the service runs only when `up --profile NAME` (or "
        "DEVSTACK_PROFILES) enables one of them; a service without profiles always runs",
    )
    inherit_env: list[Annotated[str, Field(pattern=VAR_NAME_PATTERN)]] = Field(
        default_factory=list,
        description="Host variables passed through on top of the minimal base environment",
    )
    needs: dict[Annotated[str, Field(pattern=VAR_NAME_PATTERN)], NeedSpec] = Field(
        default_factory=dict,
        description="The service's config contract: variable -> type (url, port, int, bool, "
        "secret, str, enum:A,B) or {type, pattern, min, max, optional, default}; checked in "
        "every environment before the service starts",
    )

    @field_validator("command")
    @classmethod
    def _non_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None and (not value or (isinstance(value, str) and not value.strip())):
            raise ValueError("command cannot be empty")
        return value

    @model_validator(mode="after")
    def _runnable(self) -> Service:
        if self.runtime == "process":
            if self.command is None:
                raise ValueError(
                    "a service needs a command (host process) or an image or build (container)"
                )
            for port in self.ports:
                if parse_port(port).protocol == "udp":
                    raise ValueError(
                        f"port {port!r}: a host process opens its own UDP sockets; devstack "
                        "publishes and checks UDP ports of containers only (remove it)"
                    )
                if parse_port(port).host is not None:
                    raise ValueError(
                        f"port {port!r}: a host process listens on its port directly; "
                        "write just the port number"
                    )
            for rule in self.watch:
                if rule.action != "restart":
                    raise ValueError(
                        f"watch action {rule.action!r} applies to containers; "
                        "a host process is restarted (action: restart)"
                    )
        return self

    @model_validator(mode="after")
    def _rebuild_needs_build(self) -> Service:
        if any(rule.action == "rebuild" for rule in self.watch) and self.build is None:
            raise ValueError("watch action 'rebuild' needs a build: to rebuild from")
        return self

    @property
    def runtime(self) -> Literal["process", "docker"]:
        return "docker" if self.image is not None or self.build is not None else "process"

    def build_spec(self) -> BuildSpec | None:
        return BuildSpec(context=self.build) if isinstance(self.build, str) else self.build

    def dependencies(self) -> dict[str, str]:
        """Dependency name -> condition. A plain list waits for health, like Tilt.

        `network_mode: service:NAME` implies NAME starts first (its network must exist).
        """
        if isinstance(self.depends_on, list):
            found = dict.fromkeys(self.depends_on, "service_healthy")
        else:
            found = {name: dep.condition for name, dep in self.depends_on.items()}
        shared = self.network_service()
        if shared is not None:
            found.setdefault(shared, "service_started")
        return found

    def network_service(self) -> str | None:
        """The service whose network namespace this one shares (`network_mode: service:X`)."""
        mode = self.network_mode or ""
        return mode.removeprefix("service:") if mode.startswith("service:") else None

    def tmpfs_list(self) -> list[str]:
        return [self.tmpfs] if isinstance(self.tmpfs, str) else list(self.tmpfs)

    def container_keys(self) -> list[str]:
        """The container-only keys this service sets (refused on a host process)."""
        found = []
        for key in CONTAINER_ONLY_KEYS:
            value = getattr(self, key)
            # `entrypoint: []` is set too: it clears an image's entrypoint.
            if (
                key in self.model_fields_set
                and value is not None
                and (value or key == "entrypoint")
            ):
                found.append(key)
        return found


ServiceName = Annotated[str, Field(pattern=NAME_PATTERN)]


class VolumeSpec(Model):
    """A named volume; created as `<stack>_<name>`."""

    labels: dict[str, str] = Field(default_factory=dict)


class Stack(Model):
    """A whole `devstack.yaml`."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    environments: dict[ServiceName, Environment] = Field(default_factory=dict)
    services: dict[ServiceName, Service] = Field(default_factory=dict)
    volumes: dict[ServiceName, VolumeSpec | None] = Field(
        default_factory=dict, description="Named volumes, kept across `down` unless --volumes"
    )
    providers: dict[ServiceName, Provider] = Field(
        default_factory=dict,
        description="What realises backing services; localstack, ministack, moto, container "
        "and process exist without being declared",
    )
    backing: dict[ServiceName, Backing] = Field(
        default_factory=dict, description="Backing services (attached resources) of the stack"
    )
    secrets: dict[Annotated[str, Field(pattern=OBJECT_NAME_PATTERN)], SecretDef] = Field(
        default_factory=dict,
        description="Secrets services mount (compose's): {file: PATH} or {environment: VAR}",
    )
    configs: dict[Annotated[str, Field(pattern=OBJECT_NAME_PATTERN)], ConfigDef] = Field(
        default_factory=dict,
        description="Configs services mount (compose's): {file}, {environment} or {content}",
    )

    def environment(self, name: str) -> Environment:
        """The named environment; `dev` exists implicitly even when not declared."""
        if name in self.environments:
            return self.environments[name]
        if name == "dev":
            return Environment()
        raise UnknownName("environment", name, {*self.environments, "dev"})


def json_schema() -> dict[str, Any]:
    """JSON Schema of the manifest, for editors (yaml-language-server) and tools."""
    schema = Stack.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "devstack stack manifest"
    entries = schema["$defs"]["Service"]["properties"]["needs"]["patternProperties"]
    for pattern, long_form in entries.items():
        entries[pattern] = short_form_schema(long_form)
    _allow_extensions(schema)
    return schema


def _allow_extensions(node: Any) -> None:
    # Pydantic writes additionalProperties: false; `x-` keys must stay legal for editors too.
    if isinstance(node, dict):
        if node.get("additionalProperties") is False and "properties" in node:
            node["patternProperties"] = {"^x-": {}}
        for value in node.values():
            _allow_extensions(value)
    elif isinstance(node, list):
        for value in node:
            _allow_extensions(value)
