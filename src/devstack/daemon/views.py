"""Read-only views the API serves: stack status, backing services, a service's config,
and a projected plan.

`Views` reads a `ViewSource` (the daemon's desired and observed state, its intent) and
never changes either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from devstack.api.kinds import AWS_KINDS
from devstack.api.models import (
    MASK,
    BackingStatus,
    ConfigVar,
    EngineInfo,
    PlanResponse,
    PlanStep,
    ServiceConfig,
    ServiceStatus,
    StackStatus,
)
from devstack.config.backing import BackingResolution
from devstack.daemon.seams import StackState
from devstack.engine.causes import Blocked, ContractBroken
from devstack.engine.plan import ProjectedPlan
from devstack.engine.reconcile import completes, unsettled_dependencies
from devstack.engine.restart import will_restart
from devstack.model.backing import Backing
from devstack.model.desired import DesiredState
from devstack.model.names import UnknownName
from devstack.model.observed import Health, ObservedState, Workload


class ViewSource(StackState, Protocol):
    """What the views read: the daemon's state, never a way to change it."""

    @property
    def manifest(self) -> Path: ...
    @property
    def recovered(self) -> list[str]: ...
    def shown_problems(self) -> list[str]:
        """The last manifest edit's problems, then the disk's, then the engine's."""
        ...

    def engine_info(self, desired: DesiredState) -> EngineInfo | None:
        """The Docker engine of the stack's containers (None: it has none)."""
        ...

    def runs_on(self, runtime: str | None) -> str | None:
        """Where a provider's workload of this runtime runs, for `backing`."""
        ...

    def backing_resolution(
        self, environment: str, swaps: Mapping[str, str] | None = None
    ) -> BackingResolution | None: ...


class Views:
    """The daemon's `status`, `backing` and `config` answers."""

    def __init__(self, source: ViewSource) -> None:
        self.host = source

    def backing(self) -> list[BackingStatus]:
        desired = self.host.desired()
        resolution = self.host.backing_resolution(desired.environment)
        status = {s.name: s for s in self.status().services}
        swapped = self.host.intent.active_swaps
        result = []
        for name, model in self.host.loaded.stack.backing.items():
            provider = resolution.provider_of.get(name, "") if resolution else ""
            use = resolution.providers.get(resolution.use_key.get(name, "")) if resolution else None
            node = status.get(name)
            server = status.get(use.workload.name) if use and use.workload else None
            state: str
            if node is not None:
                state, reason = node.state, node.reason
                if state == "running":
                    state = "provisioned"
            elif server is not None:
                state, reason = server.state, server.reason
            else:
                state, reason = "external", None
            health = server.health if server else ("healthy" if state == "provisioned" else "none")
            if server is not None and server.state != "running":
                health = server.health
                state, reason = server.state, server.reason or reason
            consumers = [
                s for s, spec in self.host.loaded.stack.services.items() if name in spec.uses
            ]
            result.append(
                BackingStatus(
                    name=name,
                    kind=model.kind,
                    provider=provider,
                    provider_type=use.type if use else "",
                    endpoint=use.endpoint.host_url if use else getattr(model, "url", None),
                    region=use.endpoint.region if use and model.kind in AWS_KINDS else None,
                    health=health,
                    state=state,
                    resources=_shown_resources(model),
                    consumers=consumers,
                    swapped=name in swapped,
                    real=_is_real(use.type, use.endpoint.host_url) if use else False,
                    reason=reason,
                    runs_on=self.host.runs_on(
                        use.workload.runtime if use and use.workload else None
                    ),
                )
            )
        return result

    def config(self, name: str, show_secrets: bool = False) -> ServiceConfig:
        """The effective environment of a service as it runs now, with each value's source."""
        desired = self.host.desired()
        if name not in desired.services:
            raise UnknownName("service", name, desired.services)
        service = desired.services[name]
        variables = ConfigVar.listing(service.env, show_secrets)
        return ServiceConfig(
            service=name,
            environment=desired.environment,
            variables=variables,
            notes=list(service.notes),
        )

    def status(self) -> StackStatus:
        desired = self.host.controller.prepared_view(self.host.desired())
        observed = self.host.controller.observed()
        errors = self.host.controller.errors()
        records = observed.records
        services = []
        for name in desired.order:
            instances = observed.of(name)
            restarts = sum(r.restarts for (s, _), r in records.items() if s == name)
            services.append(
                self._service_status(desired, observed, name, instances, restarts, errors.get(name))
            )
        known = set(desired.services)
        for w in observed.workloads:
            if w.service not in known:
                known.add(w.service)
                retiring = w.service in desired.retired
                services.append(
                    ServiceStatus(
                        name=w.service,
                        runtime=w.runtime,
                        state="retiring" if retiring else "orphan",
                        health="none",
                        restarts=0,
                        pid=w.pid,
                        ports=[],
                        spec_hash=w.spec_hash,
                        started_at=w.started_at,
                        reason=(
                            "no longer used: stops (data kept) once its consumers moved off it"
                            if retiring
                            else "not in the manifest: `devstack up --remove-orphans` or "
                            "`down` removes it"
                        ),
                    )
                )
        return StackStatus(
            stack=desired.stack,
            environment=desired.environment,
            manifest=str(self.host.manifest),
            daemon_pid=os.getpid(),
            services=services,
            problems=self.host.shown_problems(),
            release=desired.release,
            recovered=list(self.host.recovered),
            real=self._real_backing(desired.environment),
            engine=self.host.engine_info(desired),
        )

    def _real_backing(self, environment: str) -> list[str]:
        """What reproducing staging points at for real: shown in status and the UI."""
        resolution = self.host.backing_resolution(environment)
        if resolution is None:
            return []
        found = []
        for name, key in sorted(resolution.use_key.items()):
            use = resolution.providers.get(key)
            if use is not None and _is_real(use.type, use.endpoint.host_url):
                where = use.endpoint.host_url or f"AWS {use.endpoint.region}"
                found.append(f"{name} -> {use.provider} ({where})")
        return found

    def _exit_reason(self, workload: Workload) -> str:
        """`exited with code 3: ValueError: bad config`: the exit and the last thing said."""
        said = self.host.logs.last_output(workload.service, workload.replica, workload.started_at)
        how = _exit_description(workload.exit_code)
        if not said:
            return how
        if len(said) > REASON_LIMIT:
            said = said[: REASON_LIMIT - 1] + "…"
        return f"{how}: {said}"

    def _service_status(
        self,
        desired: DesiredState,
        observed: ObservedState,
        name: str,
        instances: list[Workload],
        restarts: int,
        error: str | None,
    ) -> ServiceStatus:
        service = desired.services[name]
        first = instances[0] if instances else None
        health = observed.health_of(first) if first else "none"
        if first and first.state == "running":
            # Not probed yet counts as starting: never report an unchecked service as ready.
            # With replicas, the least healthy running one speaks for the service, so
            # `up --wait` and `scale` wait for every replica, not only the first.
            healths = {observed.health_of(w) for w in instances if w.state == "running"}
            health = "none" if service.healthcheck is None else _worst(healths)
        reason = error
        held = (
            desired.pending
            and name in self.host.loaded.stack.services
            and name not in self.host.intent.stopped
        )
        replicas = service.replicas
        if service.replicas == 0 and held:
            # Held back until the environment's secrets can be read: waiting, not stopped,
            # with the replicas it will run, so `up --wait` waits for them.
            state, reason = "waiting", f"waiting for {desired.pending}"
            replicas = self.host.intent.scale.get(
                name, self.host.loaded.stack.services[name].replicas
            )
        elif service.replicas == 0:
            state = "stopped"
        elif first is None:
            blocked = unsettled_dependencies(desired, observed, service)
            state = "waiting" if blocked else "starting"
            reason = reason or (str(Blocked(tuple(blocked))) if blocked else None)
        elif first.state == "exited":
            again = will_restart(service, first.exit_code)
            state = "failed" if error else "restarting" if again else "exited"
            if state == "exited" and first.exit_code == 0 and completes(desired, name):
                state = "completed"  # a one-shot another service waited for: its success
            else:
                reason = reason or self._exit_reason(first)
        elif first.spec_hash != service.spec_hash:
            state = "waiting"
            reason = "restart pending (spec changed)"
        elif health == "starting":
            state = "starting"
        elif health == "unhealthy":
            state = "unhealthy"
        else:
            state = "running"
        if service.violations and service.replicas > 0:
            # Held by its contract: failed until the config is fixed (a previous instance
            # may still run), so `up --wait` names it instead of waiting for its timeout.
            state, reason = "failed", str(ContractBroken(service.violations))
        elif error and state in ("waiting", "starting", "restarting"):
            # Cannot be started as declared (a failed build, a missing image, no engine):
            # say so now rather than let `up --wait` wait for its timeout.
            state = "failed"
            reason = error
        ports = list(service.host_ports)
        for replica in range(1, service.replicas):
            ports.extend(service.instance(replica).host_ports)
        running = sum(1 for w in instances if w.state == "running")
        return ServiceStatus(
            name=name,
            runtime=service.runtime,
            state=state,
            health=health if first else "none",
            restarts=restarts,
            pid=first.pid if first and first.state == "running" else None,
            ports=ports,
            spec_hash=service.spec_hash,
            url=f"http://127.0.0.1:{ports[0]}" if ports else None,
            replicas=replicas,
            running=running,
            started_at=first.started_at if first else None,
            exit_code=first.exit_code if first else None,
            reason=reason,
        )


REASON_LIMIT = 200  # characters of the last output line a reason quotes


def _worst(healths: set[Health]) -> Health:
    """The health a service shows for its running instances' (not yet probed: starting)."""
    for health in ("unhealthy", "starting"):
        if health in healths:
            return health
    return "starting" if "none" in healths or not healths else "healthy"


def _exit_description(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exited with code {code}"


def _is_real(provider_type: str, url: str | None) -> bool:
    """An AWS account, or an external endpoint that is not on this machine."""
    if provider_type == "aws":
        return True
    if provider_type != "external" or not url:
        return False
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host not in ("127.0.0.1", "localhost", "::1", "host.docker.internal")


def _shown_resources(model: Backing) -> dict[str, object]:
    """A backing service's declared resources for `backing`, the API and the TUI, with
    the values of SecureString parameters, Secrets Manager secrets and passwords masked:
    whoever may read the status may not read the secrets."""
    data = model.model_dump(mode="json", exclude={"provider", "kind"})
    for name, parameter in data.get("parameters", {}).items():
        if isinstance(parameter, dict) and parameter.get("secure"):
            data["parameters"][name] = {**parameter, "value": MASK}
    for name, secret in data.get("secrets", {}).items():
        data["secrets"][name] = {**secret, "value": MASK} if isinstance(secret, dict) else MASK
    if "password" in data:
        data["password"] = MASK
    return data


def render_plan(projected: ProjectedPlan) -> PlanResponse:
    steps = [
        PlanStep(kind=op.kind, target=op.target, cause=str(op.cause), after=list(op.after))
        for op in projected.operations
    ]
    waiting = [f"{w.service}: {w.reason}" for w in projected.waiting]
    return PlanResponse(steps=steps, waiting=waiting, text=projected.render())
