"""The reconciler: desired + observed -> plan. Pure: no I/O, no clock reads, no waiting.

It is level-triggered: it looks only at the current desired and observed state, so a lost
or duplicated event cannot make it wrong. Health gating falls out of that: a dependent is
held back (not planned) while its dependency is unsettled, and the pass after the
dependency turns healthy starts it.
"""

from __future__ import annotations

from dataclasses import replace

from devstack.engine.causes import (
    HELD,
    Backoff,
    Blocked,
    ContractBroken,
    Crashed,
    ExitedUnwanted,
    HeldForConsumers,
    NotRunning,
    Orphan,
    Retired,
    ScaledDown,
    SpecChanged,
    StopsAfter,
    Unsettled,
)
from devstack.engine.plan import Operation, Plan, ProjectedPlan, Waiting
from devstack.engine.restart import BACKOFF_RESET_AFTER, backoff_delay, will_restart
from devstack.model.desired import DesiredService, DesiredState, changed_fields
from devstack.model.observed import ObservedState, Workload

__all__ = ["BACKOFF_RESET_AFTER", "project", "reconcile", "unsettled_dependencies"]


COMPLETED = "service_completed_successfully"
_WAITED = {"service_healthy": "healthy", "service_started": "started", COMPLETED: "completed"}


def reconcile(desired: DesiredState, observed: ObservedState, now: float) -> Plan:
    ops: list[Operation] = []
    waiting: list[Waiting] = []
    requeue: list[float] = []

    converged = _converged(desired, observed)
    for w in observed.workloads:
        if w.service in desired.retired and w.service not in desired.services:
            if not converged and w.state == "running":
                waiting.append(Waiting(w.service, HeldForConsumers()))
                continue
            cause: Retired | Orphan = Retired()
            if w.state == "running":
                ops.append(Operation("stop", w.service, w.replica, cause))
            else:
                ops.append(Operation("remove", w.service, w.replica, cause))
        elif w.service not in desired.services and desired.remove_orphans:
            cause = Orphan()
            if w.state == "running":
                ops.append(Operation("stop", w.service, w.replica, cause))
            else:
                ops.append(Operation("remove", w.service, w.replica, cause))

    for name in desired.order:
        service = desired.services[name]
        for w in observed.of(name):
            if w.replica < service.replicas:
                continue
            if w.state != "running":
                ops.append(Operation("remove", name, w.replica, ExitedUnwanted()))
                continue
            holders = _running_dependents(desired, observed, name)
            if holders:
                waiting.append(Waiting(name, StopsAfter(tuple(holders))))
                continue
            ops.append(Operation("stop", name, w.replica, ScaledDown(service.replicas)))

        for replica in range(service.replicas):
            op, due = _instance_op(service, replica, observed.get(name, replica), observed, now)
            if due is not None:
                requeue.append(due)
                waiting.append(Waiting(name, Backoff(due)))
            if op is None:
                continue
            if service.violations:
                # Never started with a config that breaks its contract; what runs stays.
                waiting.append(Waiting(name, ContractBroken(service.violations)))
                continue
            blocked = unsettled_dependencies(desired, observed, service)
            if blocked:
                waiting.append(Waiting(name, Blocked(tuple(blocked))))
                continue
            ops.append(op)

    return Plan(tuple(ops), tuple(waiting), min(requeue) if requeue else None)


def _converged(desired: DesiredState, observed: ObservedState) -> bool:
    """No instance still runs an outdated spec, so none can still need an old provider.

    (Instances that are down do not count: a crash loop must not keep a provider alive.)
    """
    for w in observed.workloads:
        service = desired.services.get(w.service)
        if service is not None and w.state == "running" and w.spec_hash != service.spec_hash:
            return False
    return True


def _instance_op(
    service: DesiredService, replica: int, w: Workload | None, observed: ObservedState, now: float
) -> tuple[Operation | None, float | None]:
    name = service.name
    if w is None:
        return Operation("start", name, replica, NotRunning()), None
    if w.state == "running":
        if w.spec_hash == service.spec_hash:
            return None, None
        changed = SpecChanged(tuple(changed_fields(w.digests, service.digests)))
        return Operation("restart", name, replica, changed), None
    if w.spec_hash != service.spec_hash:
        # Exited, and the manifest changed since: run the new spec (a fix for a crash).
        changed = SpecChanged(tuple(changed_fields(w.digests, service.digests)))
        return Operation("start", name, replica, changed), None
    # Exited: the restart policy decides, with exponential backoff between failures.
    if not will_restart(service, w.exit_code):
        return None, None
    record = observed.records.get(w.key)
    failures = record.failures if record else 1
    counted = record.restarts if record else 0
    delay = backoff_delay(failures)
    due = (w.exited_at or now) + delay
    if now < due:
        return None, due
    return Operation("start", name, replica, Crashed(w.exit_code, counted + 1, delay)), None


def unsettled_dependencies(
    desired: DesiredState, observed: ObservedState, service: DesiredService
) -> list[Unsettled]:
    """Dependencies not yet running the desired spec (and healthy, where that is asked)."""
    blocked = []
    for dep, condition in service.depends_on.items():
        target = desired.services.get(dep)
        if target is None or target.replicas == 0:
            blocked.append(Unsettled(dep, "stopped"))
            continue
        if target.violations:
            blocked.append(Unsettled(dep, HELD))
            continue
        if condition == COMPLETED:
            blocked.extend(_incomplete(dep, target, observed))
            continue
        for replica in range(target.replicas):
            w = observed.get(dep, replica)
            if w is None or w.state != "running" or w.spec_hash != target.spec_hash:
                blocked.append(Unsettled(dep, "starting"))
                break
            health = observed.health_of(w)
            if condition == "service_healthy" and target.healthcheck and health != "healthy":
                blocked.append(Unsettled(dep, health if health != "none" else "starting"))
                break
    return blocked


def _incomplete(dep: str, target: DesiredService, observed: ObservedState) -> list[Unsettled]:
    """A one-shot dependency not yet done: every instance must have exited 0 running the
    desired spec (a failure stays a failure: compose stops there too)."""
    for replica in range(target.replicas):
        w = observed.get(dep, replica)
        if w is None or w.spec_hash != target.spec_hash:
            return [Unsettled(dep, "starting")]
        if w.state == "running":
            return [Unsettled(dep, "running, not completed")]
        if w.exit_code != 0:
            code = "unknown code" if w.exit_code is None else f"code {w.exit_code}"
            return [Unsettled(dep, f"exited with {code}")]
    return []


def completes(desired: DesiredState, name: str) -> bool:
    """Does a service wait for `name` to complete (exit 0)? Then its exit 0 is its success."""
    return any(s.depends_on.get(name) == COMPLETED for s in desired.services.values())


def _running_dependents(desired: DesiredState, observed: ObservedState, name: str) -> list[str]:
    """Dependents that are stopping too and still run: `name` must outlive them (like compose)."""
    holders = []
    for other, service in desired.services.items():
        stopping = name in service.depends_on and service.replicas == 0
        if stopping and any(w.state == "running" for w in observed.of(other)):
            holders.append(other)
    return sorted(holders)


def project(desired: DesiredState, observed: ObservedState, now: float) -> ProjectedPlan:
    """Every step `up` would take, assuming each step succeeds and every check turns healthy.

    Health gating splits `up` into passes; simulating them turns the passes into one
    readable plan for `up --dry-run`, each step naming what it waits for.
    """
    result = ProjectedPlan()
    touched: set[str] = set()
    state = observed
    for _ in range(len(desired.services) + len(observed.workloads) + 2):
        plan = reconcile(desired, state, now)
        if not plan.operations:
            # What no further pass resolves: a backoff, or a dependency that stays stopped.
            result.waiting = [
                w
                for w in plan.waiting
                if isinstance(w.reason, Backoff | ContractBroken)
                or (isinstance(w.reason, Blocked) and w.reason.on_a_stopped_dependency)
            ]
            break
        for op in plan.operations:
            after = _waits_for(desired, op, touched)
            result.operations.append(replace(op, after=after))
        touched |= {op.service for op in plan.operations}
        state = _simulate(desired, state, plan)
    return result


def _waits_for(desired: DesiredState, op: Operation, touched: set[str]) -> tuple[str, ...]:
    if op.kind in ("start", "restart"):
        service = desired.services[op.service]
        return tuple(
            f"{dep} {_WAITED[cond]}" for dep, cond in service.depends_on.items() if dep in touched
        )
    return tuple(
        f"{other} stopped"
        for other, s in desired.services.items()
        if op.service in s.depends_on and other in touched
    )


def _simulate(desired: DesiredState, observed: ObservedState, plan: Plan) -> ObservedState:
    workloads = {w.key: w for w in observed.workloads}
    health = dict(observed.health)
    for op in plan.operations:
        key = (op.service, op.replica)
        if op.kind in ("stop", "remove"):
            workloads.pop(key, None)
            continue
        service = desired.services[op.service]
        # A one-shot another service waits for is taken to complete at once.
        done = completes(desired, op.service)
        workloads[key] = Workload(
            op.service, op.replica, "exited" if done else "running", service.spec_hash,
            service.digests, 0.0, exit_code=0 if done else None,
        )  # fmt: skip
        health[key] = "healthy" if service.healthcheck else "none"
    return replace(observed, workloads=tuple(workloads.values()), health=health)
