"""The controller: a worker that reconciles whenever something marked the stack dirty.

Events (an API call, a process exit, a health change, a backoff timer) never act
themselves; they only mark work. The worker re-reads desired and observed state, plans,
and executes. Duplicated or lost events therefore cannot leave the stack wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from devstack.config.problems import ManifestError
from devstack.engine.causes import Crashed
from devstack.engine.events import LogStore
from devstack.engine.executor import OpResult, execute
from devstack.engine.health import HealthMonitor, InstanceProbe
from devstack.engine.plan import Operation, Plan
from devstack.engine.ports import Probe, Runtime, RuntimeError_
from devstack.engine.reconcile import reconcile
from devstack.engine.restart import BACKOFF_RESET_AFTER
from devstack.engine.supervise import spawn
from devstack.model.desired import ContainerSpec, DesiredService, DesiredState, spec_digests
from devstack.model.manifest import HealthCheck
from devstack.model.observed import Health, ObservedState, RestartRecord, Workload
from devstack.trace import mark

ProbeFactory = Callable[[DesiredService, HealthCheck], Probe]
# Is this workload still the live instance (of this service instance spec), holding what
# its probe reaches? See InstanceProbe.
Ownership = Callable[[Workload, DesiredService], bool]
PREPARE = "cannot prepare: "  # prefix of errors from building / finding images
PREPARE_RETRY = 10.0  # seconds before a failed prepare (build, image lookup) is tried again
# Seconds between looks at a desired state that waits on something (DesiredState.pending).
PENDING_RECHECK = 0.5


@dataclass(frozen=True)
class PassResult:
    plan: Plan
    errors: dict[str, str]


class Controller:
    def __init__(
        self,
        desired: Callable[[], DesiredState],
        runtime: Runtime,
        logs: LogStore,
        probe_for: ProbeFactory,
        clock: Callable[[], float],
        backoff_reset_after: float = BACKOFF_RESET_AFTER,
        owns: Ownership | None = None,
        records: dict[tuple[str, int], RestartRecord] | None = None,
        on_restart: Callable[[dict[tuple[str, int], RestartRecord]], None] | None = None,
    ) -> None:
        """`records`: restart counts an earlier daemon kept; `on_restart` is given all of
        them after each counted restart, so the next daemon can keep counting."""
        self._desired = desired
        self._owns = owns
        # A run at least this long counts as healthy: the next failure starts the backoff
        # over. The daemon may shorten it (DEVSTACK_BACKOFF_RESET) so tests see a reset.
        self._backoff_reset_after = backoff_reset_after
        self._runtime = runtime
        self._logs = logs
        self._probe_for = probe_for
        self._clock = clock
        self.health = HealthMonitor(self._health_changed, clock, logs)
        self._lock = threading.Lock()  # guards records/errors/manual; never held while executing
        self._records: dict[tuple[str, int], RestartRecord] = dict(records or {})
        self._on_restart = on_restart
        self._seen_exits: set[tuple[str, int, float]] = set()
        self._errors: dict[str, str] = {}
        self._manual: list[Operation] = []
        self._dirty = threading.Event()
        self._idle = threading.Condition()
        self._passes = 0
        self._busy = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_plan = Plan()
        self._prepared: dict[tuple[str, str], DesiredService] = {}
        self._failed: dict[tuple[str, str], tuple[float, str]] = {}

    # -- triggers ----------------------------------------------------------------------

    def mark_dirty(self) -> None:
        self._dirty.set()

    def request(self, op: Operation) -> None:
        """Queue an explicit operation (restart asked by the user) for the next pass."""
        with self._lock:
            self._manual.append(op)
        self.mark_dirty()

    def _health_changed(self, key: tuple[str, int], health: Health) -> None:
        mark(f"health {key[0]}#{key[1]} {health}")
        self._logs.event(f"{key[0]} is {health}", service=key[0])
        self.mark_dirty()

    # -- the worker --------------------------------------------------------------------

    def start(self) -> None:
        self._thread = spawn("controller", self._run, self._logs, self._stop)
        self.mark_dirty()

    def close(self) -> None:
        self._stop.set()
        self._dirty.set()
        if self._thread:
            self._thread.join(timeout=30)
        self.health.close()

    def _run(self) -> None:
        requeue: float | None = self._clock()  # a restarted worker passes at once
        while not self._stop.is_set():
            timeout = None if requeue is None else max(0.0, requeue - self._clock())
            self._dirty.wait(timeout)
            if self._stop.is_set():
                return
            self._dirty.clear()
            with self._idle:
                self._busy = True
            try:
                result = self.run_pass()
                requeue = result.plan.requeue_at
            except ManifestError as exc:
                # The manifest became invalid under us: keep the last good state running.
                self._logs.event(f"manifest error, keeping the running stack: {exc}")
                requeue = None
            except Exception as exc:  # the worker must survive any single failed pass
                self._logs.event(f"reconcile failed: {exc!r}")
                requeue = self._clock() + 1.0
            finally:
                with self._idle:
                    self._busy = False
                    self._passes += 1
                    self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until a pass that started after this call has finished and no work is queued."""
        with self._idle:
            target = self._passes + (2 if self._busy else 1)
            return self._idle.wait_for(
                lambda: self._passes >= target and not self._busy and not self._dirty.is_set(),
                timeout,
            )

    def observed(self) -> ObservedState:
        workloads = tuple(self._runtime.observe())
        with self._lock:
            return ObservedState(workloads, self.health.snapshot(), dict(self._records))

    def run_pass(self) -> PassResult:
        with self._lock:
            manual, self._manual = self._manual, []
        self._account_exits(self._runtime.observe())
        observed = self.observed()
        desired, prepare_errors = self.prepare(self._desired(), observed)
        plan = reconcile(desired, observed, self._clock())
        if desired.pending:
            # Services wait on something outside the engine (secrets on a provider still
            # starting): look again soon even if no event marks the state dirty.
            again = self._clock() + PENDING_RECHECK
            plan = replace(plan, requeue_at=min(plan.requeue_at or again, again))
        if manual:
            targets = {(op.service, op.replica) for op in manual}
            kept = tuple(op for op in plan.operations if (op.service, op.replica) not in targets)
            plan = replace(plan, operations=(*manual, *kept))
        self.last_plan = plan
        for op in plan.operations:
            self._logs.event(f"{op.kind} {op.target}: {op.cause}", service=op.service)
            if op.kind in ("stop", "restart", "remove"):
                self.health.forget((op.service, op.replica))

        def started(result: OpResult) -> None:
            if result.error:
                # At once, not after the whole plan: status must not show the failed
                # instance without its reason, even for a moment.
                with self._lock:
                    self._errors[result.operation.service] = result.error
            if result.workload is not None:
                self._watch(desired, result.workload)

        results = execute(plan, desired, self._runtime, lambda s: _grace(desired, s), started)
        errors: dict[str, str] = dict(prepare_errors)
        for res in results:
            op = res.operation
            if res.error:
                errors[op.service] = res.error
                self._logs.event(f"{op.kind} {op.target} failed: {res.error}", service=op.service)
            if isinstance(op.cause, Crashed):
                self._count_restart((op.service, op.replica))
            wanted = desired.services.get(op.service)
            if op.kind in ("stop", "remove") and (wanted is None or wanted.replicas == 0):
                # Stopped or removed: free its log buffer but for its last words.
                self._logs.release(op.service)
        with self._lock:
            for op in plan.operations:
                if op.service not in errors:
                    self._errors.pop(op.service, None)
            for name in desired.services:
                if name not in errors and self._errors.get(name, "").startswith(PREPARE):
                    self._errors.pop(name)
            self._errors.update(errors)
        self._sync_health(desired)
        if plan.operations:
            self.mark_dirty()  # the next pass checks what the operations changed
        return PassResult(plan, errors)

    def invalidate(self) -> None:
        """Forget prepared services: the next pass builds / looks up images again."""
        with self._lock:
            self._prepared.clear()
            self._failed.clear()

    def prepare(
        self, desired: DesiredState, observed: ObservedState
    ) -> tuple[DesiredState, dict[str, str]]:
        """Each wanted service made startable by its runtime (images built and pinned).

        Cached per service and unprepared spec hash, so a pass costs no build and no
        hashing of build contexts. When preparing fails (a broken build), the service keeps
        what it last ran: its previous prepared spec, or the running instance's digests.
        """
        services: dict[str, DesiredService] = {}
        errors: dict[str, str] = {}
        for name, service in desired.services.items():
            key = (name, service.spec_hash)
            with self._lock:
                cached = self._prepared.get(key)
                failed_at, failed = self._failed.get(key, (0.0, None))
            if failed is not None and self._clock() - failed_at >= PREPARE_RETRY:
                failed = None  # the engine may be back, or the files fixed
            if cached is not None:
                services[name] = _with_count_of(cached, service)
                continue
            if service.replicas == 0:
                services[name] = self._last_good(service, observed)
                continue
            if failed is None:
                try:
                    prepared = self._runtime.prepare(service)
                except RuntimeError_ as exc:
                    failed = f"{PREPARE}{exc}"
                    self._logs.event(f"{name}: {exc}", service=name)
                    with self._lock:
                        # Not retried on every pass: a broken build would rebuild each time.
                        self._failed[key] = (self._clock(), failed)
            if failed is not None:
                errors[name] = failed
                services[name] = self._last_good(service, observed)
                continue
            with self._lock:
                self._prepared = {k: v for k, v in self._prepared.items() if k[0] != name}
                self._prepared[key] = prepared
            services[name] = prepared
        return replace(desired, services=services), errors

    def prepared_view(self, desired: DesiredState) -> DesiredState:
        """`desired` with each service as last prepared (no building): what status and
        plans compare running instances with."""
        with self._lock:
            latest = {k[0]: v for k, v in self._prepared.items()}
            keys = set(self._prepared)
        services = {}
        for name, s in desired.services.items():
            if (name, s.spec_hash) in keys:
                services[name] = _with_count_of(latest[name], s)
            elif name in latest:
                services[name] = _with_pin_of(s, latest[name])
            else:
                services[name] = s
        return replace(desired, services=services)

    def _last_good(self, service: DesiredService, observed: ObservedState) -> DesiredService:
        with self._lock:
            previous = [v for k, v in self._prepared.items() if k[0] == service.name]
        if previous:
            return _with_count_of(previous[0], service)
        running = [w for w in observed.of(service.name) if w.state == "running"]
        if running and running[0].digests:
            return replace(service, digests=running[0].digests)
        return service

    def errors(self) -> dict[str, str]:
        with self._lock:
            return dict(self._errors)

    def records(self) -> dict[tuple[str, int], RestartRecord]:
        with self._lock:
            return dict(self._records)

    # -- bookkeeping -------------------------------------------------------------------

    def _account_exits(self, workloads: list[Workload]) -> None:
        """Count each exit once: consecutive failures drive the backoff."""
        with self._lock:
            for w in workloads:
                if w.state != "exited":
                    continue
                mark = (w.service, w.replica, w.started_at)
                if mark in self._seen_exits:
                    continue
                self._seen_exits.add(mark)
                record = self._records.get(w.key, RestartRecord())
                ran = (w.exited_at or w.started_at) - w.started_at
                failures = 1 if ran >= self._backoff_reset_after else record.failures + 1
                self._records[w.key] = replace(record, failures=failures)

    def _count_restart(self, key: tuple[str, int]) -> None:
        with self._lock:
            record = self._records.get(key, RestartRecord())
            self._records[key] = replace(record, restarts=record.restarts + 1)
            records = dict(self._records)
        if self._on_restart is not None:
            self._on_restart(records)

    def _watch(self, desired: DesiredState, workload: Workload) -> None:
        service = desired.services.get(workload.service)
        if service is None or service.healthcheck is None or workload.state != "running":
            return
        if self.health.watching(workload.key, workload.started_at):
            return
        instance = service.instance(workload.replica)
        probe = self._probe_for(instance, service.healthcheck)
        owns = self._owns
        if owns is not None:
            probe = InstanceProbe(probe, lambda: owns(workload, instance))
        self.health.watch(workload.key, workload.started_at, service.healthcheck, probe)

    def _sync_health(self, desired: DesiredState) -> None:
        """Probe every running instance with a healthcheck (adopted ones included)."""
        running = {w.key: w for w in self._runtime.observe() if w.state == "running"}
        for key in self.health.keys() - running.keys():
            self.health.forget(key)
        for w in running.values():
            self._watch(desired, w)


def _grace(desired: DesiredState, service: str) -> float:
    found = desired.services.get(service)
    return found.stop_grace if found else 10.0


def _with_pin_of(service: DesiredService, prepared: DesiredService) -> DesiredService:
    """An unprepared variant (its env changed, say) with the image its last prepared
    version pinned, when it builds or names the same image: so a preview does not report
    an image change that preparing it would not make."""
    spec, pinned = service.spec, prepared.spec
    if not isinstance(spec, ContainerSpec) or not isinstance(pinned, ContainerSpec):
        return service
    same = spec.build == pinned.build if spec.build is not None else spec.image == pinned.image
    if not same or spec.image_id:
        return service
    spec = replace(spec, image=pinned.image, image_id=pinned.image_id)
    return replace(service, spec=spec, digests=spec_digests(spec))


def _with_count_of(prepared: DesiredService, service: DesiredService) -> DesiredService:
    """A prepared spec with the current replica count (and the extra replicas' ports):
    scaling changes no spec hash, so it must not prepare (build) anything again."""
    return replace(prepared, replicas=service.replicas, replica_ports=service.replica_ports)
