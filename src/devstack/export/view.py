"""The stack as an exported deployment sees it: which services go in, with what config.

Config is resolved by `config.resolve` (the same layers and provenance as `config show`),
on a copy of the stack adjusted for the target:

- an environment's `images:` entry replaces the service's image and build, as under `up`;
- an environment's `secrets:` sources give the variables the stack declares for them
  (`export/secrets.py`), never values;
- compose: AWS backing services on host emulators (MiniStack, moto) move to LocalStack,
  which runs as a compose service; Postgres/Redis on host binaries (`process`) move to
  their container images. Consumers then get the endpoints a container on the compose
  network reaches (`http://localstack:4566`, `postgresql://container-db:5432/...`);
- ecs: AWS backing services on any emulator move to the real AWS endpoints (no endpoint
  variable, no emulator keys: a task role gives credentials);
- k8s: providers move as for compose (the emulator runs in the namespace), and host
  processes become containers of a placeholder image (`<stack>/<service>:latest`) that
  the user replaces: a cluster has no host to run them on, and leaving them out would
  leave their consumers pointing nowhere;
- `external` and `aws` providers stay what they are.

Swaps (`.devstack/overrides.json`) are left out on purpose: an export describes the
manifest and one environment, not what someone swapped on their machine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from devstack.api.kinds import AWS_KINDS, BUILTIN_PROVIDERS, default_provider
from devstack.config.loader import LoadedStack
from devstack.config.resolve import resolve
from devstack.config.secrets import SecretReader
from devstack.export.secrets import declared_reader
from devstack.model.backing import DEFAULT_REGION, AwsProvider, LocalstackProvider
from devstack.model.container import ConfigDef, SecretDef
from devstack.model.desired import (
    BuildPlan,
    ContainerSpec,
    DesiredService,
    EnvVar,
    ProvisionSpec,
)
from devstack.model.manifest import Environment, Service

Target = Literal["compose", "ecs", "k8s"]

HOST_EMULATORS = ("ministack", "moto")  # run on the host only: no image to put in compose
EMULATORS = (*HOST_EMULATORS, "localstack")


@dataclass(frozen=True)
class ExportedService:
    """One service of the export: a user's service, or a provider's container (compose)."""

    name: str
    desired: DesiredService
    manifest: Service | None  # None: a provider's workload (localstack, container-db)
    image: str | None  # None: built from `build`
    build: BuildPlan | None
    replicas: int
    depends_on: dict[str, str]  # only on exported services, conditions as compose names them

    @property
    def spec(self) -> ContainerSpec:
        assert isinstance(self.desired.spec, ContainerSpec)
        return self.desired.spec

    @property
    def env(self) -> tuple[EnvVar, ...]:
        return self.desired.env


@dataclass
class ExportView:
    stack: str
    environment: str
    manifest: str  # as the user named it, for the generated file's header
    root: str  # the manifest's folder: relative paths in the manifest start there
    services: dict[str, ExportedService]  # dependencies first
    skipped: dict[str, str] = field(default_factory=dict)  # service -> why it is left out
    # compose: LocalStack service -> the backing services whose resources are created on
    # it (by a one-shot service, see export/provision.py), and its region
    provisioning: dict[str, dict[str, Any]] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # for stderr and the file's header
    # k8s: host processes exported as containers of a placeholder image (service -> image)
    placeholders: dict[str, str] = field(default_factory=dict)
    # The stack's top-level secrets and configs (compose's): definitions, never values.
    secrets: dict[str, SecretDef] = field(default_factory=dict)
    configs: dict[str, ConfigDef] = field(default_factory=dict)


def export_view(
    loaded: LoadedStack,
    environment: str,
    host_env: Mapping[str, str],
    target: Target,
    *,
    region: str | None = None,
    secrets: SecretReader | None = None,
) -> ExportView:
    """Raises ManifestError (located) for a manifest or environment that cannot resolve."""
    stack = loaded.stack
    env = stack.environment(environment)  # UnknownName: the argument, not the manifest
    notes: list[str] = []
    services = stack.services
    providers: dict[str, Any] = dict(stack.providers)
    swaps = _provider_moves(loaded, env, providers, target, region, notes)
    placeholders: dict[str, str] = {}
    if target == "k8s":
        services = dict(services)
        for name, entry in stack.services.items():
            if entry.runtime == "process":
                placeholders[name] = placeholder_image(stack.name, name)
                services[name] = entry.model_copy(update={"image": placeholders[name]})
    adjusted = stack.model_copy(update={"providers": providers, "services": services})
    desired = resolve(
        dataclasses.replace(loaded, stack=adjusted),
        environment,
        host_env,
        ports=_container_port,
        swaps=swaps,
        secrets=secrets or declared_reader(stack),
    )
    view = ExportView(
        stack=stack.name,
        environment=environment,
        manifest=loaded.display_name,
        root=str(loaded.root),
        services={},
        notes=notes,
        placeholders=placeholders,
        secrets=dict(stack.secrets),
        configs=dict(stack.configs),
    )
    nodes: dict[str, DesiredService] = {}
    kept: dict[str, tuple[DesiredService, Service | None]] = {}
    for name in desired.order:
        service = desired.services[name]
        manifest = services.get(name)
        if service.runtime == "provision":
            nodes[name] = service  # creating resources is devstack's job, not a container's
        elif manifest is not None and service.runtime != "docker":
            view.skipped[name] = "a host process (no image or build)"
        elif manifest is None and (target == "ecs" or service.runtime != "docker"):
            continue  # a provider: compose runs its container; ECS uses real endpoints
        else:
            kept[name] = (service, manifest)
    for name, (service, manifest) in kept.items():
        spec = service.spec
        assert isinstance(spec, ContainerSpec)
        view.services[name] = ExportedService(
            name=name,
            desired=service,
            manifest=manifest,
            image=spec.image or None,
            build=spec.build,
            replicas=manifest.replicas if manifest is not None else 1,
            depends_on=_dependencies(service.depends_on, set(kept), nodes),
        )
    _drop_unused_providers(view)
    if target == "ecs":
        mounted = sorted(n for n, s in view.services.items() if s.manifest and s.manifest.volumes)
        if mounted:
            notes.append(
                f"volumes of {', '.join(mounted)} are not in the task definitions "
                "(no Fargate equivalent without EFS)"
            )
    unprovisioned: list[str] = []
    for name, node in sorted(nodes.items()):
        spec = node.spec
        if not isinstance(spec, ProvisionSpec) or spec.provider_workload not in view.services:
            continue
        if spec.kind in AWS_KINDS and spec.provider_workload:
            view.provisioning.setdefault(spec.provider_workload, {})[name] = stack.backing[name]
            view.regions[spec.provider_workload] = spec.region
        # The Postgres image creates its database itself (POSTGRES_DB); seeds stay devstack's.
        if spec.resources.get("seed"):
            unprovisioned.append(f"{name} (its seed)")
    if unprovisioned:
        notes.append(
            f"backing {', '.join(unprovisioned)}: created by `devstack up`, not by this file"
        )
    if view.skipped:
        names = ", ".join(sorted(view.skipped))
        hint = "give them image: or build:, or an image in the environment's images:"
        if target == "compose":
            hint += "; containers reach a host process at host.docker.internal:PORT"
        notes.append(f"left out, host processes with no image: {names} ({hint})")
    if env.secrets is not None and not any(
        v.source.layer == "secret" for s in view.services.values() for v in s.env
    ):
        sources = ", ".join(env.secrets.from_)
        notes.append(
            f"environment {environment!r} reads secrets from {sources}, and the stack "
            "declares none there: none is in the export (--read-secrets asks the store)"
        )
    return view


def _provider_moves(
    loaded: LoadedStack,
    env: Environment,
    providers: dict[str, Any],
    target: Target,
    region: str | None,
    notes: list[str],
) -> dict[str, str]:
    """Backing service -> provider it takes in the export (as a swap would); may add a
    provider to `providers` (a LocalStack or an AWS account the manifest did not name)."""
    stack = loaded.stack
    types = {name: name for name in BUILTIN_PROVIDERS} | {
        name: p.type for name, p in stack.providers.items()
    }
    moves: dict[str, str] = {}
    moved: dict[str, list[str]] = {}
    local: list[str] = []  # ECS: database servers devstack runs, which a task cannot reach
    for name, backing in stack.backing.items():
        chosen = env.providers.get(name) or backing.provider or default_provider(backing.kind)
        kind = types.get(chosen or "")
        if target != "ecs" and kind in HOST_EMULATORS:
            moves[name] = _provider_named(providers, "localstack", LocalstackProvider, {})
        elif target != "ecs" and kind == "process":
            moves[name] = _provider_named(providers, "container", None, {})
        elif target == "ecs" and kind in EMULATORS:
            moves[name] = _provider_named(
                providers, "aws", AwsProvider, {"region": region or DEFAULT_REGION}
            )
        elif target == "ecs" and kind in ("process", "container"):
            if kind == "process":
                moves[name] = _provider_named(providers, "container", None, {})
            local.append(name)
            continue
        else:
            continue
        moved.setdefault(f"{chosen} -> {moves[name]}", []).append(name)
    for change, names in moved.items():
        what = ", ".join(names)
        if target == "compose":
            why = "it runs as a container of the compose file"
        elif target == "k8s":
            why = "it runs as a Deployment in the namespace"
        else:
            why = "real AWS endpoints, credentials from the task role"
        notes.append(f"backing {what}: provider {change} ({why})")
    if local:
        notes.append(
            f"backing {', '.join(local)}: a server devstack runs; its URLs name a host a task "
            "cannot reach (give it an external provider in this environment)"
        )
    return moves


def placeholder_image(stack: str, service: str) -> str:
    """The image named for a service devstack builds or runs on the host: the user pushes
    one and names it (the environment's `images:`, or the export's own image settings)."""
    return f"{stack}/{service}:latest"


def _provider_named(
    providers: dict[str, Any], wanted: str, model: type[Any] | None, settings: dict[str, Any]
) -> str:
    """A provider of type `wanted`: a declared one of that type, else a new one."""
    for name, provider in providers.items():
        # A LocalStack at a URL is not one the export can run, nor an account reached
        # with a developer's profile one a task can use.
        reusable = not getattr(provider, "url", None) and not getattr(provider, "profile", None)
        if provider.type == wanted and reusable:
            return name
    if model is None or (wanted not in providers and wanted in BUILTIN_PROVIDERS):
        return wanted  # built in, and not redeclared as something else
    name = wanted if wanted not in providers else f"{wanted}-export"
    providers[name] = model(type=wanted, **settings)
    return name


def _container_port(_service: str, container_port: int) -> int:
    # Stands in for the host-port allocator: an export publishes unpinned ports on a port
    # the engine picks, so no free port is chosen (or remembered) here.
    return container_port


def _dependencies(
    depends_on: Mapping[str, str],
    exported: set[str],
    nodes: Mapping[str, DesiredService],
) -> dict[str, str]:
    """Dependencies on exported services; a backing node stands for what it waits on (its
    provider), and a dependency left out of the export is dropped."""
    out: dict[str, str] = {}
    todo = list(depends_on.items())
    seen: set[str] = set()
    while todo:
        name, condition = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name in exported:
            out[name] = condition
        elif name in nodes:
            todo.extend(nodes[name].depends_on.items())
    return out


def _drop_unused_providers(view: ExportView) -> None:
    """A provider's container goes in only when an exported service depends on it (the
    consumers of a host process left out do not count)."""
    needed: set[str] = set()
    todo = [name for name, s in view.services.items() if s.manifest is not None]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(view.services[name].depends_on)
    view.services = {name: s for name, s in view.services.items() if name in needed}
