"""The daemon's core: wires manifest, controller, runtime and logs; the API calls into it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.api.models import PlanResponse, PlanStep, ServiceStatus, StackStatus
from devstack.config.loader import LoadedStack, load_stack
from devstack.config.ports import PortAllocator
from devstack.config.resolve import resolve
from devstack.daemon.logfiles import LogFiles
from devstack.daemon.paths import StackPaths
from devstack.engine.controller import Controller
from devstack.engine.events import LogStore
from devstack.engine.plan import Operation, ProjectedPlan
from devstack.engine.ports import Probe, Runtime, RuntimeError_
from devstack.engine.reconcile import project, unsettled_dependencies
from devstack.fsutil import read_json, write_json_atomic
from devstack.model.desired import DesiredService, DesiredState
from devstack.model.manifest import HealthCheck
from devstack.model.observed import ObservedState, Workload
from devstack.runtimes.composite import CompositeRuntime
from devstack.runtimes.probes import FunctionProbe, probe_for
from devstack.runtimes.process import ProcessRuntime

if TYPE_CHECKING:
    from devstack.runtimes.docker import DockerRuntime


class Daemon:
    def __init__(
        self, manifest: Path, environment: str | None, host_env: Mapping[str, str] | None = None
    ) -> None:
        self.manifest = manifest
        self.paths = StackPaths(manifest.parent)
        self.paths.ensure()
        self.host_env = dict(os.environ if host_env is None else host_env)
        self.logs = LogStore()
        self._files = LogFiles(self.paths.logs_dir)
        self.logs.subscribe(self._files)
        self._lock = threading.Lock()  # guards the fields below; never held during a pass
        self.loaded: LoadedStack = load_stack(manifest)
        # Overrides survive a daemon restart: the environment in use and user stops.
        saved = read_json(self.paths.overrides) or {}
        self.environment: str = environment or saved.get("environment") or "dev"
        self.stopped: set[str] = set(saved.get("stopped", []))
        self.remove_orphans = False
        self.ports = PortAllocator(self.paths.state_dir / "ports.json")
        self._desired = self._resolve()
        self.process = ProcessRuntime(
            self.paths.stack_id, self.paths.state_dir, self.logs, self._changed, self.host_env
        )
        self.runtime = CompositeRuntime({"process": lambda: self.process, "docker": self._docker})
        self.runtime.runtime("process")
        self.controller = Controller(self.desired, self.runtime, self.logs, self._probe, time.time)
        self._controller_started = False

    def _docker(self) -> Runtime:
        # Imported here: a stack of host processes never loads the Docker SDK.
        from devstack.runtimes.docker import DockerRuntime

        return DockerRuntime(self.loaded.stack.name, self.paths.stack_id, self.logs, self._changed)

    def _probe(self, service: DesiredService, check: HealthCheck) -> Probe:
        if service.runtime == "docker" and check.command is not None:
            self.runtime.runtime("docker")
            docker = self.docker
            assert docker is not None
            command = check.command
            argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
            return FunctionProbe(docker.exec_probe(service.name, 0, argv))
        return probe_for(service, check)

    @property
    def docker(self) -> DockerRuntime | None:
        made = self.runtime.made().get("docker")
        from devstack.runtimes.docker import DockerRuntime

        return made if isinstance(made, DockerRuntime) else None

    def _changed(self) -> None:
        self.controller.mark_dirty()

    def start(self) -> None:
        """Adopt what an earlier daemon left running; reconciling waits for the first `up`.

        The daemon is only ever launched by `up`, which calls the API right away: starting
        the controller there lets that first answer show the whole plan it executes.
        """
        if any(s.runtime == "docker" for s in self.loaded.stack.services.values()):
            self.runtime.runtime("docker")  # observes (re-adopts) its containers from now on
        adopted = self.process.adopt()
        if adopted:
            names = ", ".join(sorted({w.service for w in adopted}))
            self.logs.event(f"adopted running instances of {names}")

    def _ensure_controller(self) -> None:
        with self._lock:
            if self._controller_started:
                return
            self._controller_started = True
        self.controller.start()

    def close(self) -> None:
        """Stop the daemon, not the stack: services keep running for the next daemon."""
        self.controller.close()
        self.process.close()
        if self.docker is not None:
            self.docker.close()
        self._files.close()

    # -- desired state -------------------------------------------------------------------

    def desired(self) -> DesiredState:
        with self._lock:
            return self._desired

    def _resolve(self) -> DesiredState:
        desired = resolve(
            self.loaded,
            self.environment,
            self.host_env,
            stopped=frozenset(self.stopped),
            remove_orphans=self.remove_orphans,
            ports=self.ports,
        )
        self.ports.save()
        return desired

    def _apply(self, **changes: object) -> DesiredState:
        """Change intent atomically: resolve first, so a bad change leaves everything as it was."""
        with self._lock:
            before = (self.loaded, self.environment, set(self.stopped), self.remove_orphans)
            for name, value in changes.items():
                setattr(self, name, value)
            try:
                self._desired = self._resolve()
            except Exception:
                self.loaded, self.environment, self.stopped, self.remove_orphans = before
                raise
            write_json_atomic(
                self.paths.overrides,
                {"environment": self.environment, "stopped": sorted(self.stopped)},
            )
            desired = self._desired
        self._ensure_controller()
        self.controller.mark_dirty()
        return desired

    def _candidate(
        self, environment: str | None, remove_orphans: bool
    ) -> tuple[LoadedStack, DesiredState]:
        loaded = load_stack(self.manifest)
        desired = resolve(
            loaded,
            environment or self.environment,
            self.host_env,
            remove_orphans=remove_orphans,
            ports=self.ports,
        )
        self.ports.save()
        return loaded, desired

    # -- commands --------------------------------------------------------------------------

    def plan(self, environment: str | None, remove_orphans: bool) -> PlanResponse:
        _, desired = self._candidate(environment, remove_orphans)
        observed = self.controller.observed()
        return render_plan(project(self.controller.prepared_view(desired), observed, time.time()))

    def up(
        self, environment: str | None, remove_orphans: bool, build: bool = False
    ) -> PlanResponse:
        loaded, desired = self._candidate(environment, remove_orphans)
        if any(s.runtime == "docker" for s in desired.services.values()):
            self.runtime.runtime("docker")
            if self.docker is not None:
                self.docker.invalidate(rebuild=build)
        self.controller.invalidate()
        # `up` means "everything running": clear user stops and let finished ones start again.
        for w in self.runtime.observe():
            if w.state == "exited":
                self.runtime.remove(w.service, w.replica)
        # Images are built (or found) now, as compose does, so the plan below is exact.
        observed = self.controller.observed()
        view, _ = self.controller.prepare(desired, observed)
        # Planned before applying, so the answer shows what this `up` does, not what is left.
        plan = render_plan(project(view, observed, time.time()))
        desired = self._apply(
            loaded=loaded,
            environment=environment or self.environment,
            stopped=set(),
            remove_orphans=remove_orphans,
        )
        self.logs.event(f"up ({desired.environment}): {len(plan.steps)} step(s)")
        return plan

    def down(self, timeout: float, volumes: bool = False) -> bool:
        services = set(self.loaded.stack.services)
        self._apply(stopped=services, remove_orphans=True)
        # A pass already under way (a restart, say) may create an instance after it looked
        # at the state: wait for a pass that starts from the new intent before checking.
        self.controller.wait_idle(timeout)
        ok = self._wait(self._all_gone, timeout)
        self.paths.overrides.unlink(missing_ok=True)
        if ok and self.docker is not None:
            cleanups = [
                self.docker.remove_network,
                *([self.docker.remove_volumes] if volumes else []),
            ]
            for cleanup in cleanups:
                try:
                    cleanup()
                except RuntimeError_ as exc:
                    self.logs.event(f"down: {exc}")
        return ok

    def _all_gone(self) -> bool:
        if self.process.present():
            return False
        return not (self.docker and self.docker.present())

    def stop_service(self, name: str, timeout: float) -> bool:
        self._require(name)
        self._apply(stopped=self.stopped | {name})

        def gone() -> bool:
            return not any(s == name for s, _ in self.process.present()) and not any(
                w.service == name for w in self.runtime.observe()
            )

        return self._wait(gone, timeout)

    def start_service(self, name: str) -> None:
        self._require(name)
        for w in self.runtime.observe():
            if w.service == name and w.state == "exited":
                self.runtime.remove(w.service, w.replica)
        self._apply(stopped=self.stopped - {name})

    def restart_service(self, name: str, timeout: float) -> bool:
        self._require(name)
        if name in self.stopped:
            self._apply(stopped=self.stopped - {name})
        desired = self.desired()
        self._ensure_controller()
        for replica in range(desired.services[name].replicas):
            self.controller.request(Operation("restart", name, replica, "restart requested"))
        return self.controller.wait_idle(timeout)

    def _require(self, name: str) -> None:
        if name not in self.loaded.stack.services:
            known = ", ".join(sorted(self.loaded.stack.services))
            raise KeyError(f"unknown service {name!r} (known: {known})")

    @staticmethod
    def _wait(condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    # -- status ----------------------------------------------------------------------------

    def status(self) -> StackStatus:
        desired = self.controller.prepared_view(self.desired())
        observed = self.controller.observed()
        errors = self.controller.errors()
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
                services.append(
                    ServiceStatus(
                        name=w.service,
                        runtime=w.runtime,
                        state="orphan",
                        health="none",
                        restarts=0,
                        pid=w.pid,
                        ports=[],
                        spec_hash=w.spec_hash,
                        started_at=w.started_at,
                        reason="not in the manifest: `devstack up --remove-orphans` or `down` removes it",
                    )
                )
        return StackStatus(
            stack=desired.stack,
            environment=desired.environment,
            manifest=str(self.manifest),
            daemon_pid=os.getpid(),
            services=services,
        )

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
            health = "none" if service.healthcheck is None else health
            if service.healthcheck is not None and health == "none":
                health = "starting"
        reason = error
        if service.replicas == 0:
            state = "stopped"
        elif first is None:
            blocked = unsettled_dependencies(desired, observed, service)
            state = "waiting" if blocked else "starting"
            reason = reason or (f"waiting for {', '.join(blocked)}" if blocked else None)
        elif first.state == "exited":
            will_restart = service.restart == "always" or (
                service.restart == "on-failure" and first.exit_code != 0
            )
            state = "failed" if error else "restarting" if will_restart else "exited"
        elif first.spec_hash != service.spec_hash:
            state = "waiting"
            reason = "restart pending (spec changed)"
        elif health == "starting":
            state = "starting"
        elif health == "unhealthy":
            state = "unhealthy"
        else:
            state = "running"
        if error and state in ("waiting", "starting", "restarting"):
            # Cannot be started as declared (a failed build, a missing image, no engine):
            # say so now rather than let `up --wait` wait for its timeout.
            state = "failed"
            reason = error
        ports = list(service.host_ports)
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
            replicas=service.replicas,
            started_at=first.started_at if first else None,
            exit_code=first.exit_code if first else None,
            reason=reason,
        )


def render_plan(projected: ProjectedPlan) -> PlanResponse:
    steps = [
        PlanStep(kind=op.kind, target=op.target, cause=op.cause, after=list(op.after))
        for op in projected.operations
    ]
    waiting = [f"{w.service}: {w.reason}" for w in projected.waiting]
    return PlanResponse(steps=steps, waiting=waiting, text=projected.render())
