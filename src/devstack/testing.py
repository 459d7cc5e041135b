"""Fakes and builders for tests of the engine and the daemon. Public: other packages'
tests may use them.

Fakes serve unit tests of the engine and of the daemon's behaviour (`FakeStackRuntime`
is what `Daemon(runtime=...)` runs on); runtimes are tested against the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from devstack.engine.ports import Probe, RuntimeError_
from devstack.model.desired import DesiredService, DesiredState, ProcessSpec, spec_digests
from devstack.model.manifest import HealthCheck
from devstack.model.observed import Workload


@dataclass
class FakeClock:
    t: float = 1000.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class FakeRuntime:
    """Records calls; `fail_start` names services whose start fails."""

    name: str = "fake"
    clock: FakeClock = field(default_factory=FakeClock)
    workloads: dict[tuple[str, int], Workload] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_start: set[str] = field(default_factory=set)

    def observe(self) -> list[Workload]:
        return list(self.workloads.values())

    prepare_fails: set[str] = field(default_factory=set)

    def prepare(self, service: DesiredService) -> DesiredService:
        if service.name in self.prepare_fails:
            raise RuntimeError_(f"cannot build {service.name}")
        return service

    def start(self, service: DesiredService, replica: int) -> Workload:
        self.calls.append(f"start {service.name}#{replica}")
        if service.name in self.fail_start:
            self.workloads[(service.name, replica)] = Workload(
                service.name,
                replica,
                "exited",
                service.spec_hash,
                service.digests,
                self.clock.now(),
                exit_code=127,
                exited_at=self.clock.now(),
            )
            raise RuntimeError_(f"cannot start {service.name}")
        w = Workload(
            service.name,
            replica,
            "running",
            service.spec_hash,
            service.digests,
            self.clock.now(),
            pid=4242,
        )
        self.workloads[(service.name, replica)] = w
        return w

    def stop(self, service: str, replica: int, grace: float) -> None:
        self.calls.append(f"stop {service}#{replica}")
        self.workloads.pop((service, replica), None)

    def remove(self, service: str, replica: int) -> None:
        self.calls.append(f"remove {service}#{replica}")
        self.workloads.pop((service, replica), None)

    def crash(self, service: str, replica: int = 0, code: int = 1) -> None:
        w = self.workloads[(service, replica)]
        self.workloads[(service, replica)] = replace(
            w, state="exited", exit_code=code, exited_at=self.clock.now()
        )


@dataclass
class FakeProbe:
    """Answers `healthy` unless told otherwise."""

    healthy: bool = True

    def check(self, timeout: float) -> bool:
        return self.healthy


@dataclass
class FakeStackRuntime:
    """A daemon's runtimes (daemon.stack_runtime.StackRuntime) on one FakeRuntime: nothing
    runs, no container engine exists, and probes answer as `probes` says (default: healthy)."""

    fake: FakeRuntime = field(default_factory=FakeRuntime)
    probes: dict[str, FakeProbe] = field(default_factory=dict)

    @property
    def runtime(self) -> FakeRuntime:
        return self.fake

    @property
    def docker(self) -> Any:
        return None

    def use_docker(self) -> None:
        return None

    def discard_docker(self) -> None:
        return None

    def probe(self, service: DesiredService, check: HealthCheck) -> Probe:
        return self.probes.setdefault(service.name, FakeProbe())

    def owns(self, workload: Workload, service: DesiredService) -> bool:
        return workload.state == "running"

    def adopt(self) -> list[Workload]:
        return []

    def present(self) -> set[tuple[str, int]]:
        return set(self.fake.workloads)

    def all_gone(self) -> bool:
        return not self.fake.workloads

    def retry_save(self) -> None:
        return None

    def close(self) -> None:
        return None


def service(
    name: str,
    *,
    env: dict[str, str] | None = None,
    depends_on: dict[str, str] | None = None,
    healthcheck: HealthCheck | None = None,
    restart: str = "on-failure",
    replicas: int = 1,
    command: tuple[str, ...] = ("true",),
) -> DesiredService:
    spec = ProcessSpec(command=command, workdir="/", env=dict(env or {}), ports=())
    return DesiredService(
        name=name,
        spec=spec,
        env=(),
        depends_on=dict(depends_on or {}),
        healthcheck=healthcheck,
        restart=restart,  # type: ignore[arg-type]
        stop_grace=1.0,
        replicas=replicas,
        digests=spec_digests(spec),
    )


def desired(*services: DesiredService, remove_orphans: bool = False) -> DesiredState:
    from devstack.model.graph import start_order

    by_name = {s.name: s for s in services}
    order = start_order({s.name: list(s.depends_on) for s in services})
    return DesiredState("test", "dev", by_name, tuple(order), remove_orphans)
