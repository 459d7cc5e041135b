"""The executor: one runtime call per operation, in parallel, and no decisions of its own."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from devstack.engine.plan import Operation, Plan
from devstack.engine.ports import Runtime, RuntimeError_
from devstack.model.desired import DesiredState
from devstack.model.observed import Workload
from devstack.trace import mark

MAX_PARALLEL = 32


@dataclass(frozen=True)
class OpResult:
    operation: Operation
    workload: Workload | None = None
    error: str | None = None


def execute(
    plan: Plan,
    desired: DesiredState,
    runtime: Runtime,
    grace_for: Callable[[str], float],
    on_result: Callable[[OpResult], None] = lambda _: None,
) -> list[OpResult]:
    """Run every operation of the plan; operations of one plan never share a target.

    `on_result` hears of each operation as it finishes, so a started service's health
    checks begin at once rather than after the slowest operation of the plan.
    """

    def run(op: Operation) -> OpResult:
        mark(f"op.{op.kind} {op.service}#{op.replica}")
        result = _run(op)
        mark(f"op.done {op.service}#{op.replica}")
        on_result(result)
        return result

    def _run(op: Operation) -> OpResult:
        try:
            if op.kind == "stop":
                runtime.stop(op.service, op.replica, grace_for(op.service))
                return OpResult(op)
            if op.kind == "remove":
                runtime.remove(op.service, op.replica)
                return OpResult(op)
            if op.kind == "restart":
                runtime.stop(op.service, op.replica, grace_for(op.service))
            service = desired.services[op.service].instance(op.replica)
            return OpResult(op, runtime.start(service, op.replica))
        except RuntimeError_ as exc:
            return OpResult(op, error=str(exc))

    if len(plan.operations) == 1:
        return [run(plan.operations[0])]
    workers = min(MAX_PARALLEL, len(plan.operations)) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="op") as pool:
        return list(pool.map(run, plan.operations))
