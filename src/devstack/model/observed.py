"""Observed state: what the runtimes report, plus the health and restart records kept for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

WorkloadState = Literal["running", "exited"]
Health = Literal["none", "starting", "healthy", "unhealthy"]


@dataclass(frozen=True)
class Workload:
    """One running (or exited, not yet removed) instance of a service, found by its labels."""

    service: str
    replica: int
    state: WorkloadState
    spec_hash: str
    digests: dict[str, str]
    started_at: float
    pid: int | None = None
    exit_code: int | None = None
    exited_at: float | None = None
    runtime: str = "process"

    @property
    def key(self) -> tuple[str, int]:
        return (self.service, self.replica)


@dataclass(frozen=True)
class RestartRecord:
    """Restart bookkeeping for one instance: drives backoff and what status shows."""

    restarts: int = 0
    failures: int = 0  # consecutive failed runs; reset after a long healthy run


@dataclass(frozen=True)
class ObservedState:
    workloads: tuple[Workload, ...] = ()
    health: dict[tuple[str, int], Health] = field(default_factory=dict)
    records: dict[tuple[str, int], RestartRecord] = field(default_factory=dict)

    def of(self, service: str) -> list[Workload]:
        return [w for w in self.workloads if w.service == service]

    def get(self, service: str, replica: int) -> Workload | None:
        for w in self.workloads:
            if w.service == service and w.replica == replica:
                return w
        return None

    def health_of(self, workload: Workload) -> Health:
        return self.health.get(workload.key, "none")
