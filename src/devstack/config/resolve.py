"""Config resolution: manifest + environment + host env -> desired state with provenance.

Layers, lowest first: the environment's env files (in order), its `vars`, `PORT`, then
the service's own `env`. Templates are interpolated with compose's rules; a name is
looked up in the stack's layers first, then in the host environment (so `${HOME}` works
and `${GREETING:-hi}` can be fed from the shell when the stack does not define it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from devstack.config import lsclient
from devstack.config.backing import BackingProblem, BackingResolution, resolve_backing
from devstack.config.containers import container_spec, split_command
from devstack.config.contracts import apply_contract
from devstack.config.contracts import check as check_contract
from devstack.config.endpoints import HOST_FROM_CONTAINER, LOCAL_HOST
from devstack.config.extras import MissingExtra
from devstack.config.interpolate import InterpolationError, interpolate
from devstack.config.layers import declared_var, env_file_layer
from devstack.config.loader import LoadedStack
from devstack.config.ports import PortAllocator
from devstack.config.problems import ManifestError, Problem
from devstack.config.secrets import SecretReader, SecretsUnavailable, secrets_provider
from devstack.model.desired import (
    ContainerSpec,
    DesiredService,
    DesiredState,
    EnvVar,
    PortBinding,
    ProcessSpec,
    Source,
    spec_digests,
)
from devstack.model.graph import start_order
from devstack.model.manifest import EnvValue, SecretValue, Service
from devstack.model.names import UnknownName, unknown
from devstack.model.ports import parse_port, port_mappings


def resolve(
    loaded: LoadedStack,
    environment: str,
    host_env: Mapping[str, str],
    *,
    stopped: frozenset[str] = frozenset(),
    remove_orphans: bool = False,
    ports: Callable[[str, int], int] | None = None,
    swaps: Mapping[str, str] | None = None,
    warm: frozenset[str] = frozenset(),
    state_dir: Path | None = None,
    secrets: SecretReader | None = None,
    scale: Mapping[str, int] | None = None,
) -> DesiredState:
    """The desired state for one environment; raises ManifestError listing every problem,
    or else MissingExtra when a provider it uses needs an extra that is not installed.

    `ports(service, container_port)` gives the host port of a container port declared
    without one; by default a fresh free port (the daemon passes a persistent allocator).
    `swaps` maps backing services to the provider the user swapped them to; `warm` names
    providers to run although nothing uses them yet (a swap in progress). `secrets` reads
    the environment's `secrets:` sources; without one (validate) they are left out.
    `scale` maps services to the replica count the user asked for (`devstack scale`).
    An environment the stack does not declare raises UnknownName: the caller's argument is
    wrong, not the manifest.
    """
    loaded.stack.environment(environment)
    resolver = _Resolver(
        loaded,
        environment,
        host_env,
        ports or PortAllocator(),
        swaps or {},
        warm,
        state_dir,
        secrets,
        scale or {},
    )
    services = {}
    for name, service in loaded.stack.services.items():
        desired = resolver.service(name, service)
        if desired is not None:
            # Secrets still unreadable (their emulator is starting): wait, never run without.
            held = name in stopped or bool(resolver.pending)
            replicas = 0 if held else desired.replicas
            services[name] = _with_replicas(desired, replicas)
    retired: frozenset[str] = frozenset()
    if resolver.backing is not None:
        for name, node in resolver.backing.nodes.items():
            if name in services:
                resolver.problem(
                    f"service {name!r} has the name of a provider or backing service "
                    "devstack runs; rename one of them",
                    "services",
                    name,
                )
                continue
            services[name] = _with_replicas(node, 0 if name in stopped else node.replicas)
        retired = resolver.backing.internal - set(services)
    if resolver.problems:
        raise ManifestError(resolver.problems)
    if resolver.missing is not None:
        raise resolver.missing
    edges = {name: list(s.depends_on) for name, s in services.items()}
    return DesiredState(
        stack=loaded.stack.name,
        environment=environment,
        services=services,
        order=tuple(start_order(edges)),
        remove_orphans=remove_orphans,
        retired=retired,
        pending=resolver.pending,
    )


def _with_replicas(service: DesiredService, replicas: int) -> DesiredService:
    if service.replicas == replicas:
        return service
    from dataclasses import replace

    return replace(service, replicas=replicas)


class _Resolver:
    def __init__(
        self,
        loaded: LoadedStack,
        environment: str,
        host_env: Mapping[str, str],
        ports: Callable[[str, int], int],
        swaps: Mapping[str, str],
        warm: frozenset[str],
        state_dir: Path | None,
        secrets: SecretReader | None = None,
        scale: Mapping[str, int] | None = None,
    ) -> None:
        self.loaded = loaded
        self.scale = scale or {}
        self.environment = environment
        self.host_env = host_env
        self.ports = ports
        self.bindings = {
            name: self._bindings(name, service, ports)
            for name, service in loaded.stack.services.items()
        }
        self.problems: list[Problem] = []
        self._workdirs: dict[str, tuple[Path, bool]] = {}  # as written -> (real path, a dir?)
        self.backing: BackingResolution | None = None
        self.reader = secrets
        self.pending = ""  # why services wait: secrets on a provider that is still starting
        self.secrets_from = ""  # the provider the environment's secrets come from
        self.missing: MissingExtra | None = None  # an optional extra this environment needs
        stack = loaded.stack
        declared = stack.environments.get(environment)
        env_providers = declared.providers if declared else {}
        source = declared.secrets if declared else None
        self.secrets_unread = source is not None and secrets is None
        try:
            self.backing = resolve_backing(
                stack,
                loaded.root,
                env_providers,
                swaps,
                host_env,
                ports,
                extra_providers=warm,
                state_dir=state_dir,
            )
            if source is not None:
                self.secrets_from = secrets_provider(
                    stack, tuple(source.from_), source.provider, self.backing.provider_of
                )
                if self.secrets_from not in self.backing.providers:
                    # Nothing else uses it: run it anyway, the secrets live there.
                    self.backing = resolve_backing(
                        stack,
                        loaded.root,
                        env_providers,
                        swaps,
                        host_env,
                        ports,
                        extra_providers=warm | {self.secrets_from},
                        state_dir=state_dir,
                    )
        except MissingExtra as exc:
            # Raised by resolve() only if the manifest has no problem: those come first.
            self.missing = exc
        except BackingProblem as exc:
            path = exc.path
            if path in (("environments",), ("providers",)) and source is not None:
                path = ("environments", environment, "secrets", "provider")
            elif path == ("environments",):
                path = ("environments", environment, "providers")
            self.problem(str(exc), *path)
        # After the backing services: environment vars may use `${backing...}` templates
        # (filled in as a host process sees them).
        self.layer = self._environment_layer()
        self.check_images()

    def problem(self, message: str, *path: str | int) -> None:
        base = self.loaded.locate(*path)
        self.problems.append(Problem(message, base.field, base.location))

    def _environment_layer(self) -> dict[str, EnvVar]:
        stack = self.loaded.stack
        try:
            env = stack.environment(self.environment)
        except UnknownName as exc:
            self.problems.append(Problem(str(exc), "environments"))
            return {}
        layer = env_file_layer(
            self.loaded, self.environment, env.env_file, self.host_env, self.problem
        )
        base_path = ("environments", self.environment)
        if env.secrets is not None:
            layer.update(self._cloud_secrets(tuple(env.secrets.from_)))
        for name, raw in env.vars.items():
            path_ = (*base_path, "vars", name)
            value = self._interpolate(raw, layer, path_)
            layer[name] = declared_var(
                self.loaded, name, raw, value, path_, "environment", layer.get(name)
            )
        return layer

    def environment_images(self) -> dict[str, str]:
        declared = self.loaded.stack.environments.get(self.environment)
        return declared.images if declared else {}

    def check_images(self) -> None:
        services = self.loaded.stack.services
        for name in self.environment_images():
            path = ("environments", self.environment, "images", name)
            if name not in services:
                self.problem(unknown("service", name, services), *path)
            elif services[name].runtime != "docker":
                self.problem(
                    f"service {name!r} runs as a host process; an image applies to a "
                    "container service (give it image: or build:)",
                    *path,
                )

    def _cloud_secrets(self, sources: tuple[str, ...]) -> dict[str, EnvVar]:
        """The environment's secrets, read from their provider (values never leave memory)."""
        path = ("environments", self.environment, "secrets")
        use = self.backing.providers.get(self.secrets_from) if self.backing else None
        if use is None or self.reader is None:
            return {}
        if use.type not in ("ministack", "moto", "localstack", "external", "aws"):
            self.problem(
                f"secrets are read from an AWS provider; {self.secrets_from!r} is {use.type}",
                *path,
            )
            return {}
        try:
            found = self.reader(sources, use.endpoint)
        except SecretsUnavailable as exc:
            if use.workload is not None:
                # A provider the stack runs: services wait for it, then the daemon reads.
                self.pending = f"secrets from {self.secrets_from}: {exc}"
            else:
                self.problem(f"cannot read secrets: {exc}", *path)
            return {}
        return {
            s.name: EnvVar(s.name, s.value, Source("secret", detail=s.reference), secret=True)
            for s in found
        }

    def secret_dependencies(self) -> dict[str, str]:
        """Every service waits for the secrets' provider (and the stores provisioned on it)."""
        if not self.secrets_from or self.backing is None:
            return {}
        stores = [
            name
            for name, backing in self.loaded.stack.backing.items()
            if backing.kind in ("ssm", "secretsmanager")
            and self.backing.provider_of.get(name) == self.secrets_from
        ]
        deps = self.backing.dependencies(stores) if stores else {}
        use = self.backing.providers.get(self.secrets_from)
        if use is not None and use.workload is not None:
            deps.setdefault(use.workload.name, "service_healthy")
        return deps

    def _interpolate(
        self,
        raw: EnvValue,
        scope: Mapping[str, EnvVar],
        path: tuple[str | int, ...],
        consumer: str = "process",
    ) -> str:
        text = raw.value if isinstance(raw, SecretValue) else raw
        try:
            return interpolate(text, self._lookup(scope, consumer))
        except InterpolationError as exc:
            self.problem(str(exc), *path)
            return ""

    @staticmethod
    def _bindings(
        name: str, service: Service, ports: Callable[[str, int], int]
    ) -> tuple[PortBinding, ...]:
        found = []
        for mapping in [m for text in service.ports for m in port_mappings(text)]:
            # A process, or a container on the host's network, listens on the host itself.
            if service.runtime == "process" or service.network_mode == "host":
                found.append(PortBinding(mapping.container, mapping.container))
            else:
                host = mapping.host or ports(name, mapping.container)
                found.append(
                    PortBinding(mapping.container, host, mapping.host_ip, mapping.protocol)
                )
        return tuple(found)

    def _variable(self, name: str) -> tuple[str, bool] | None:
        """A variable of the environment layer, else of the host: (value, secret)."""
        if name in self.layer:
            return self.layer[name].value, self.layer[name].secret
        value = self.host_env.get(name)
        return None if value is None else (value, False)

    def _lookup(
        self, scope: Mapping[str, EnvVar], consumer: str = "process"
    ) -> Callable[[str], str | None]:
        services = self.loaded.stack.services

        def lookup(name: str) -> str | None:
            if name.startswith("backing."):
                return self.backing.lookup(name, consumer) if self.backing else ""
            if name.startswith("services."):
                _, target, field = name.split(".", 2)
                host, port = self._address(target, services[target].runtime, consumer)
                return {"url": f"http://{host}:{port}", "port": str(port), "host": host}[field]
            if name in scope:
                return scope[name].value
            return self.host_env.get(name)

        return lookup

    def _address(self, target: str, target_runtime: str, consumer: str) -> tuple[str, int]:
        """Where `consumer` (a process or a container) reaches `target`'s first port."""
        binding = self.bindings[target][0]
        if consumer == "docker":
            if target_runtime == "docker":
                return target, binding.container  # the stack network's DNS
            return HOST_FROM_CONTAINER, binding.host
        return LOCAL_HOST, binding.host

    def _workdir(self, written: str) -> tuple[Path, bool]:
        # Services mostly share one workdir ("."): realpath walks every component with
        # lstat, once per service and per `up` (17 ms at 100 services).
        if written not in self._workdirs:
            path = (self.loaded.root / written).resolve()
            self._workdirs[written] = (path, path.is_dir())
        return self._workdirs[written]

    def service(self, name: str, service: Service) -> DesiredService | None:
        replicas = self.scale.get(name, service.replicas)
        env: dict[str, EnvVar] = dict(self.layer)
        bindings = self.bindings[name]
        if bindings:
            port = str(bindings[0].container)
            env["PORT"] = EnvVar(
                "PORT", port, Source("runtime", detail=f"services.{name}.ports[0]")
            )
        depends_on = service.dependencies()
        for dep, condition in self.secret_dependencies().items():
            depends_on.setdefault(dep, condition)
        if self.backing is not None:
            for bound in self.backing.env(name, service.runtime):
                env[bound.name] = bound
            refs = [b for b in self.loaded.stack.backing if _mentions(service, b)]
            for dep, condition in self.backing.dependencies(
                [*service.uses, *refs], service.runtime
            ).items():
                depends_on.setdefault(dep, condition)
        scope = dict(env)  # the service's own env may build on any layer below it
        for var, raw in service.env.items():
            path = ("services", name, "env", var)
            value = self._interpolate(raw, scope, path, service.runtime)
            env[var] = declared_var(self.loaded, var, raw, value, path, "service", env.get(var))
        env = apply_contract(self.loaded, name, service.needs, env)
        violations = check_contract(service.needs, env, self.environment)
        if self.pending:
            violations = ()  # secrets not readable yet: it waits for them, not judged without
        elif self.secrets_unread:
            # Secrets not asked for (validate): what is unset may be in the store.
            violations = tuple(v for v in violations if v.layer)
        values = {v.name: v.value for v in env.values()}
        notes: tuple[str, ...] = ()
        if self.backing is not None:
            found = lsclient.note(name, values, self.backing.aws_bindings(name, service.runtime))
            notes = (found,) if found else ()
        spec: ProcessSpec | ContainerSpec
        if service.runtime == "docker":
            pinned = self.environment_images().get(name)
            where = ("environments", self.environment, "images", name)
            spec = container_spec(
                self.loaded,
                name,
                service,
                values,
                bindings,
                (pinned, where) if pinned is not None else None,
                lambda raw, path: self._interpolate(raw, self.layer, path),
                self.problem,
                self._variable,
            )
        else:
            workdir, is_dir = self._workdir(service.workdir)
            if not is_dir:
                self.problem(
                    f"workdir {service.workdir} is not a directory", "services", name, "workdir"
                )
            spec = ProcessSpec(
                command=tuple(split_command(name, service, self.problem) or ()),
                workdir=str(workdir),
                env=values,
                ports=tuple(b.host for b in bindings),
                inherit_env=tuple(service.inherit_env),
            )
        return DesiredService(
            name=name,
            spec=spec,
            env=tuple(env.values()),
            depends_on=depends_on,
            # test: [NONE] turns the check off (the image's HEALTHCHECK too).
            healthcheck=None if _no_check(service) else service.healthcheck,
            restart=service.restart,
            stop_grace=service.stop_grace,
            runtime=service.runtime,
            digests=spec_digests(spec),
            replicas=replicas,
            replica_ports=self._replica_ports(name, service, bindings, replicas),
            notes=notes,
            violations=violations,
        )

    def _replica_ports(
        self, name: str, service: Service, bindings: tuple[PortBinding, ...], replicas: int
    ) -> tuple[tuple[int, ...], ...]:
        """A host port per port of each extra replica, remembered like any free port."""
        if not bindings or replicas <= 1:
            return ()
        for index, text in enumerate(service.ports):
            if parse_port(text).host is not None:
                self.problem(
                    f"port {text!r} names a host port, which only one replica can bind; "
                    f"write {parse_port(text).container} to give each replica a free port",
                    "services",
                    name,
                    "ports",
                    index,
                )
                return ()
        return tuple(
            tuple(self.ports(f"{name}#{k}", b.container) for b in bindings)
            for k in range(1, replicas)
        )


def _mentions(service: Service, backing: str) -> bool:
    """The service's env refers to `${backing.NAME...}`: it needs the resources too."""
    needle = f"backing.{backing}."
    return any(needle in (v if isinstance(v, str) else v.value) for v in service.env.values())


def _no_check(service: Service) -> bool:
    check = service.healthcheck
    return check is not None and isinstance(check.test, list) and check.test[:1] == ["NONE"]
