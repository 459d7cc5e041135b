"""Config resolution: manifest + environment + host env -> desired state with provenance.

Layers, lowest first: the environment's env files (in order), its `vars`, `PORT`, then
the service's own `env`. Templates are interpolated with compose's rules; a name is
looked up in the stack's layers first, then in the host environment (so `${HOME}` works
and `${GREETING:-hi}` can be fed from the shell when the stack does not define it).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path

from devstack.config.envfile import EnvFileError, parse_env_file
from devstack.config.interpolate import InterpolationError, interpolate
from devstack.config.loader import LoadedStack
from devstack.config.problems import ManifestError, Problem
from devstack.model.desired import (
    DesiredService,
    DesiredState,
    EnvVar,
    ProcessSpec,
    Source,
    spec_digests,
)
from devstack.model.graph import start_order
from devstack.model.manifest import EnvFileRef, EnvValue, SecretValue, Service

SECRET_NAME = re.compile(r"(^|_)(SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIALS?)$", re.IGNORECASE)
LOCAL_HOST = "127.0.0.1"


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def resolve(
    loaded: LoadedStack,
    environment: str,
    host_env: Mapping[str, str],
    *,
    stopped: frozenset[str] = frozenset(),
    remove_orphans: bool = False,
) -> DesiredState:
    """The desired state for one environment; raises ManifestError listing every problem."""
    resolver = _Resolver(loaded, environment, host_env)
    services = {}
    for name, service in loaded.stack.services.items():
        desired = resolver.service(name, service)
        if desired is not None:
            replicas = 0 if name in stopped else desired.replicas
            services[name] = _with_replicas(desired, replicas)
    if resolver.problems:
        raise ManifestError(resolver.problems)
    edges = {name: list(s.depends_on) for name, s in services.items()}
    return DesiredState(
        stack=loaded.stack.name,
        environment=environment,
        services=services,
        order=tuple(start_order(edges)),
        remove_orphans=remove_orphans,
    )


def _with_replicas(service: DesiredService, replicas: int) -> DesiredService:
    if service.replicas == replicas:
        return service
    from dataclasses import replace

    return replace(service, replicas=replicas)


class _Resolver:
    def __init__(self, loaded: LoadedStack, environment: str, host_env: Mapping[str, str]) -> None:
        self.loaded = loaded
        self.environment = environment
        self.host_env = host_env
        self.problems: list[Problem] = []
        self.layer = self._environment_layer()

    def problem(self, message: str, *path: str | int) -> None:
        base = self.loaded.locate(*path)
        self.problems.append(Problem(message, base.field, base.location))

    def _environment_layer(self) -> dict[str, EnvVar]:
        stack = self.loaded.stack
        try:
            env = stack.environment(self.environment)
        except KeyError as exc:
            self.problems.append(Problem(str(exc.args[0]), "environments"))
            return {}
        layer: dict[str, EnvVar] = {}
        base_path = ("environments", self.environment)
        for index, item in enumerate(env.env_file):
            ref = EnvFileRef(path=item) if isinstance(item, str) else item
            path = self.loaded.root / ref.path
            try:
                entries = parse_env_file(path, self.host_env.get)
            except FileNotFoundError:
                if ref.required:
                    self.problem(
                        f"env file {ref.path} not found (in {self.loaded.root})",
                        *base_path,
                        "env_file",
                        index,
                    )
                continue
            except EnvFileError as exc:
                self.problem(str(exc), *base_path, "env_file", index)
                continue
            except OSError as exc:
                self.problem(
                    f"cannot read env file {ref.path}: {exc.strerror}",
                    *base_path,
                    "env_file",
                    index,
                )
                continue
            shown = _relative(path, self.loaded.root)
            for entry in entries:
                source = Source("env_file", shown, entry.line, f"environments.{self.environment}")
                layer[entry.name] = EnvVar(
                    entry.name, entry.value, source, is_secret_name(entry.name)
                )
        for name, raw in env.vars.items():
            path_ = (*base_path, "vars", name)
            value = self._interpolate(raw, layer, path_)
            layer[name] = self._var(name, raw, value, path_, "environment", layer.get(name))
        return layer

    def _var(
        self,
        name: str,
        raw: EnvValue,
        value: str,
        path: tuple[str | int, ...],
        kind: str,
        previous: EnvVar | None,
    ) -> EnvVar:
        location = self.loaded.doc.locate(path)
        declared = isinstance(raw, SecretValue) and raw.secret
        # Once a name is secret in a lower layer it stays secret when overridden.
        secret = declared or is_secret_name(name) or bool(previous and previous.secret)
        detail = ".".join(str(p) for p in path[:-1])
        layer = "environment" if kind == "environment" else "service"
        source = Source(
            layer,  # type: ignore[arg-type]
            self.loaded.display_name,
            location.line if location else None,
            detail,
        )
        return EnvVar(name, value, source, secret)

    def _interpolate(
        self, raw: EnvValue, scope: Mapping[str, EnvVar], path: tuple[str | int, ...]
    ) -> str:
        text = raw.value if isinstance(raw, SecretValue) else raw
        try:
            return interpolate(text, self._lookup(scope))
        except InterpolationError as exc:
            self.problem(str(exc), *path)
            return ""

    def _lookup(self, scope: Mapping[str, EnvVar]) -> Callable[[str], str | None]:
        services = self.loaded.stack.services

        def lookup(name: str) -> str | None:
            if name.startswith("services."):
                _, target, field = name.split(".", 2)
                port = services[target].ports[0]
                return {"url": f"http://{LOCAL_HOST}:{port}", "port": port, "host": LOCAL_HOST}[
                    field
                ]
            if name in scope:
                return scope[name].value
            return self.host_env.get(name)

        return lookup

    def service(self, name: str, service: Service) -> DesiredService | None:
        env: dict[str, EnvVar] = dict(self.layer)
        if service.ports:
            env["PORT"] = EnvVar(
                "PORT", service.ports[0], Source("runtime", detail=f"services.{name}.ports[0]")
            )
        scope = {**self.layer, **({"PORT": env["PORT"]} if "PORT" in env else {})}
        for var, raw in service.env.items():
            path = ("services", name, "env", var)
            value = self._interpolate(raw, scope, path)
            env[var] = self._var(var, raw, value, path, "service", env.get(var))
        command = self._command(name, service)
        workdir = (self.loaded.root / service.workdir).resolve()
        if not workdir.is_dir():
            self.problem(
                f"workdir {service.workdir} is not a directory", "services", name, "workdir"
            )
        spec = ProcessSpec(
            command=tuple(command),
            workdir=str(workdir),
            env={v.name: v.value for v in env.values()},
            ports=tuple(int(p) for p in service.ports),
            inherit_env=tuple(service.inherit_env),
        )
        return DesiredService(
            name=name,
            spec=spec,
            env=tuple(env.values()),
            depends_on=service.dependencies(),
            healthcheck=service.healthcheck,
            restart=service.restart,
            stop_grace=service.stop_grace,
            digests=spec_digests(spec),
        )

    def _command(self, name: str, service: Service) -> list[str]:
        if isinstance(service.command, list):
            return list(service.command)
        try:
            return shlex.split(service.command)
        except ValueError as exc:
            self.problem(f"cannot split command: {exc}", "services", name, "command")
            return []


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
