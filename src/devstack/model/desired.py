"""Desired state: what should run, fully resolved, with the provenance of every variable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from devstack.model.container_options import ContainerOptions
from devstack.model.contracts import Violation
from devstack.model.manifest import HealthCheck

Layer = Literal["env_file", "secret", "environment", "binding", "service", "runtime", "contract"]


@dataclass(frozen=True)
class Source:
    """Where a variable's value came from: a file and line, or a layer."""

    layer: Layer
    file: str | None = None
    line: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")
        text = f"{where} ({self.detail})" if where and self.detail else where or self.detail
        return text or self.layer


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    source: Source
    secret: bool = False


@dataclass(frozen=True)
class ProcessSpec:
    """Everything the process runtime needs to start one instance of a service."""

    command: tuple[str, ...]
    workdir: str
    env: dict[str, str]
    ports: tuple[int, ...]
    inherit_env: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortBinding:
    container: int
    host: int
    host_ip: str = "127.0.0.1"
    protocol: str = "tcp"  # or udp: published as such; never probed or forwarded

    def key(self) -> str:
        """The engine's name of the container port: `8080/tcp`, `514/udp`."""
        return f"{self.container}/{self.protocol}"


@dataclass(frozen=True)
class BuildPlan:
    """A resolved `build:`: absolute context, and the tag its content hash names."""

    context: str
    dockerfile: str | None
    args: tuple[tuple[str, str], ...]
    target: str | None
    contexts: tuple[BuildContext, ...] = ()  # compose's additional_contexts

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildPlan:
        """Back from `asdict` as JSON (a release record)."""
        contexts = tuple(
            BuildContext(**{**c, "plan": cls.from_json(c["plan"]) if c.get("plan") else None})
            for c in data.get("contexts", ())
        )
        args = tuple((str(k), str(v)) for k, v in data["args"])
        return cls(data["context"], data["dockerfile"], args, data["target"], contexts)


@dataclass(frozen=True)
class BuildContext:
    """An additional build context by `name`: a folder, an image, or the image another
    service builds (`service` and its `plan`, built first)."""

    name: str
    folder: str = ""  # absolute
    image: str = ""
    service: str = ""
    plan: BuildPlan | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """Everything the docker runtime needs to create one container of a service."""

    image: str  # the reference to run; for a build, filled in by the runtime's prepare()
    command: tuple[str, ...] | None
    env: dict[str, str]
    ports: tuple[PortBinding, ...]
    volumes: tuple[str, ...]  # "SOURCE:TARGET[:ro]": an absolute host path or <stack>_<name>
    build: BuildPlan | None = None
    image_id: str = ""  # pinned by prepare(); part of the spec hash
    options: ContainerOptions = field(default_factory=ContainerOptions)

    @property
    def host_ports(self) -> tuple[int, ...]:
        return tuple(p.host for p in self.ports)


@dataclass(frozen=True)
class ProvisionSpec:
    """A backing service's declared resources, to create on the provider bound to it.

    The provision runtime runs it: "starting" one creates what is missing (idempotently),
    so the engine's dependency gating puts provisioning between a provider turning
    healthy and the consumers starting, and a swap re-provisions on the new provider.
    """

    backing: str
    kind: str
    provider: str
    endpoint_url: str | None  # as the daemon reaches it; None: real AWS endpoints
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    profile: str | None
    resources: dict[str, Any]  # the backing service's manifest entry, as JSON
    others: dict[str, dict[str, Any]]  # other backing services (an SNS subscription's queue)
    root: str  # the manifest's folder, for seed files
    ready_url: str | None = None  # polled until it answers before provisioning
    # The provider's workload: when it restarts (an emulator forgets its data), the runtime
    # reports the node exited, so the restart policy provisions again.
    provider_workload: str | None = None
    # The provider's type (`ministack`, `moto`...): a LocalStack-compatible one is
    # provisioned through localstack-client. Not in the digests: a provider's name and
    # endpoint already say which server it is.
    provider_type: str = ""

    @property
    def host_ports(self) -> tuple[int, ...]:
        return ()


@dataclass(frozen=True)
class DesiredService:
    name: str
    spec: ProcessSpec | ContainerSpec | ProvisionSpec
    env: tuple[EnvVar, ...]
    depends_on: dict[str, str]
    healthcheck: HealthCheck | None
    restart: Literal["no", "on-failure", "always"]
    stop_grace: float
    replicas: int = 1
    runtime: str = "process"
    digests: dict[str, str] = field(default_factory=dict)
    # Host ports of replicas 1, 2, ... (replica 0 uses the spec's): each replica of a
    # service with ports needs its own, and a host process also its own PORT.
    replica_ports: tuple[tuple[int, ...], ...] = ()
    replica: int = 0  # set by instance(): which replica this copy describes
    # One-line remarks about the resolved configuration (not part of the spec: they force
    # nothing), e.g. that localstack-client code cannot reach all of a split binding.
    notes: tuple[str, ...] = ()
    # Set by instance() for a host process: the ports the manifest declares, which replica
    # k serves on its own ports (same order), so a healthcheck's port can be translated.
    declared_ports: tuple[int, ...] = ()
    # Where the resolved env breaks the service's contract (`needs:`): it is held, never
    # started with it (engine/reconcile.py), and `status` says why.
    violations: tuple[Violation, ...] = ()

    def instance(self, replica: int) -> DesiredService:
        """This service as replica `replica` runs it: its own host ports (and PORT).

        The spec hash stays the service's: replicas differ only where they must.
        """
        if replica == 0 or not self.replica_ports or isinstance(self.spec, ProvisionSpec):
            return self if replica == self.replica else replace(self, replica=replica)
        ports = self.replica_ports[min(replica, len(self.replica_ports)) - 1]
        spec: ProcessSpec | ContainerSpec
        if isinstance(self.spec, ProcessSpec):
            env = dict(self.spec.env)
            if "PORT" in env and ports:
                env["PORT"] = str(ports[0])
            spec = replace(self.spec, env=env, ports=ports)
            declared = self.declared_ports or self.spec.ports
            return replace(self, spec=spec, replica=replica, declared_ports=declared)
        bindings = tuple(
            replace(binding, host=host)
            for binding, host in zip(self.spec.ports, ports, strict=False)
        )
        spec = replace(self.spec, ports=bindings)
        return replace(self, spec=spec, replica=replica)

    @property
    def spec_hash(self) -> str:
        return spec_hash(self.digests)

    def host_port_of(self, port: int) -> int:
        """The host port on which this instance serves its own port `port`.

        A healthcheck names the service's port as the manifest does (a container's port,
        a process's declared port); the host reaches a container through the published
        port, and a process replica listens on its own port in place of the declared one.
        A port the service does not declare is dialled as given.
        """
        if isinstance(self.spec, ContainerSpec):
            for binding in self.spec.ports:
                if binding.container == port:
                    return binding.host
        elif isinstance(self.spec, ProcessSpec) and port in self.declared_ports:
            index = self.declared_ports.index(port)
            if index < len(self.spec.ports):
                return self.spec.ports[index]
        return port

    @property
    def host_ports(self) -> tuple[int, ...]:
        """Ports reachable from the host, first one first (the one `PORT` names)."""
        if isinstance(self.spec, ContainerSpec | ProvisionSpec):
            return self.spec.host_ports
        return self.spec.ports


@dataclass(frozen=True)
class DesiredState:
    stack: str
    environment: str
    services: dict[str, DesiredService]
    order: tuple[str, ...]  # dependencies before dependents
    remove_orphans: bool = False
    # Providers and backing nodes no longer wanted (after a swap): stopped, data kept, once
    # every service runs its desired spec, so no consumer loses its provider mid-swap.
    retired: frozenset[str] = frozenset()
    # Why services wait although their dependencies are up (secrets not readable yet).
    pending: str = ""
    release: str | None = None  # the release this state was thawed from (`up --release`)


# One encoder for every digest: json.dumps with options builds a new one per call, which
# was half the cost of resolving (8 digests a service, every `up`). Same output.
_DIGEST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def digest(value: object) -> str:
    """Short stable digest of one spec field; secrets are compared without being stored."""
    raw = _DIGEST_JSON.encode(value).encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def spec_digests(spec: ProcessSpec | ContainerSpec | ProvisionSpec) -> dict[str, str]:
    """One digest per field that forces a restart when it changes, keyed by field path.

    Keyed digests (not one opaque hash) let a plan say *which* field changed:
    `spec-hash changed: env.GREETING`. Replicas, depends_on and healthcheck timing are
    deliberately not in it: changing them must not recreate anything.
    """
    if isinstance(spec, ProvisionSpec):
        return {
            "provider": digest([spec.provider, spec.endpoint_url, spec.region, spec.profile]),
            "credentials": digest([spec.access_key_id, spec.secret_access_key]),
            "resources": digest([spec.resources, spec.others]),
        }
    if isinstance(spec, ContainerSpec):
        digests = {
            "image": digest([spec.image, spec.image_id]),
            "command": digest(list(spec.command) if spec.command is not None else None),
            # The protocol only when it is udp: a tcp port keeps the hash it always had.
            "ports": digest([_port_digest(p) for p in spec.ports]),
            "volumes": digest(list(spec.volumes)),
        }
        for name, value in spec.options.digest_values().items():
            digests[name] = digest(value)
    else:
        digests = {
            "command": digest(list(spec.command)),
            "workdir": digest(spec.workdir),
            "ports": digest(list(spec.ports)),
            "inherit_env": digest(list(spec.inherit_env)),
        }
    for name, value in spec.env.items():
        digests[f"env.{name}"] = digest([name, value])
    return digests


def spec_hash(digests: dict[str, str]) -> str:
    return digest(digests)


def changed_fields(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Field paths whose digest differs, including fields added or removed."""
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def _port_digest(port: PortBinding) -> list[object]:
    extra = [port.protocol] if port.protocol != "tcp" else []
    return [port.container, port.host, port.host_ip, *extra]
