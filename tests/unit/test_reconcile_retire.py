"""Retiring a provider after a swap: it keeps running until no running consumer can still
need it, then it is stopped (its data kept), never while a consumer is mid-move."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from devstack.config.loader import load_stack
from devstack.config.resolve import resolve
from devstack.engine.causes import HeldForConsumers, Retired, SpecChanged
from devstack.engine.executor import execute
from devstack.engine.plan import Operation, Waiting
from devstack.engine.reconcile import project, reconcile
from devstack.model.desired import DesiredService, DesiredState
from devstack.model.manifest import HealthCheck
from devstack.model.observed import ObservedState, Workload
from devstack.testing import FakeRuntime, desired, service

NOW = 1000.0
HTTP = HealthCheck(http="/health")
RETIRED = Retired()
HELD = HeldForConsumers()

# A consumer moved from ministack (port 45001) to moto (port 45002).
MINISTACK = service("ministack", healthcheck=HTTP)
MOTO = service("moto", healthcheck=HTTP)
API_OLD = service(
    "api",
    env={"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:45001"},
    depends_on={"ministack": "service_healthy"},
)
API = service(
    "api",
    env={"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:45002"},
    depends_on={"moto": "service_healthy"},
)
PLAIN = service("plain")


def swapped(
    *extra: DesiredService, retired: frozenset[str] = frozenset({"ministack"})
) -> DesiredState:
    return replace(desired(API, MOTO, PLAIN, *extra), retired=retired)


def running(svc: DesiredService, replica: int = 0) -> Workload:
    return Workload(svc.name, replica, "running", svc.spec_hash, svc.digests, NOW - 100, pid=1)


def exited(svc: DesiredService, code: int = 1) -> Workload:
    return Workload(
        svc.name, 0, "exited", svc.spec_hash, svc.digests, NOW - 100, exit_code=code, exited_at=NOW
    )


def observed(*workloads: Workload) -> ObservedState:
    return ObservedState(workloads, {w.key: "healthy" for w in workloads if w.state == "running"})


def ops_on(plan_ops: tuple[Operation, ...], name: str) -> list[Operation]:
    return [op for op in plan_ops if op.service == name]


# --- the reconciler's rule ----------------------------------------------------------------


def test_a_retired_provider_keeps_running_while_a_consumer_runs_its_old_spec() -> None:
    plan = reconcile(
        swapped(),
        observed(running(MINISTACK), running(MOTO), running(API_OLD), running(PLAIN)),
        NOW,
    )

    assert ops_on(plan.operations, "ministack") == []
    assert Waiting("ministack", HELD) in plan.waiting
    [restart] = ops_on(plan.operations, "api")
    assert restart.kind == "restart"  # the consumer moves first


def test_a_retired_provider_is_stopped_once_every_consumer_runs_its_new_spec() -> None:
    plan = reconcile(
        swapped(), observed(running(MINISTACK), running(MOTO), running(API), running(PLAIN)), NOW
    )

    assert plan.operations == (Operation("stop", "ministack", 0, RETIRED),)
    assert not [w for w in plan.waiting if w.service == "ministack"]


def test_an_exited_consumer_does_not_hold_a_retired_provider() -> None:
    """A crash-looping consumer on the old spec must not keep the old provider alive."""
    plan = reconcile(
        swapped(), observed(running(MINISTACK), running(MOTO), exited(API_OLD), running(PLAIN)), NOW
    )

    assert Operation("stop", "ministack", 0, RETIRED) in plan.operations
    [start] = ops_on(plan.operations, "api")
    assert start.kind == "start" and isinstance(start.cause, SpecChanged)


def test_every_retired_workload_stops_together_once_converged() -> None:
    relay = service("ministack-relay", depends_on={"ministack": "service_healthy"})
    state = swapped(retired=frozenset({"ministack", "ministack-relay", "localstack"}))

    plan = reconcile(
        state,
        observed(running(MINISTACK), running(relay), running(MOTO), running(API), running(PLAIN)),
        NOW,
    )

    assert set(plan.operations) == {
        Operation("stop", "ministack", 0, RETIRED),
        Operation("stop", "ministack-relay", 0, RETIRED),
    }


def test_a_retired_provider_that_already_exited_is_removed_even_mid_move() -> None:
    plan = reconcile(
        swapped(), observed(exited(MINISTACK, 0), running(MOTO), running(API_OLD)), NOW
    )

    assert Operation("remove", "ministack", 0, RETIRED) in plan.operations


def test_a_retired_name_the_manifest_still_wants_is_not_stopped() -> None:
    """Resolution never retires a wanted name, but the reconciler must not trust that."""
    mine = service("ministack", command=("python3", "my-own-ministack.py"))
    plan = reconcile(swapped(mine), observed(running(mine), running(MOTO), running(API)), NOW)

    assert ops_on(plan.operations, "ministack") == []
    assert not [w for w in plan.waiting if w.service == "ministack"]


def test_nothing_happens_once_retired_providers_are_gone() -> None:
    plan = reconcile(swapped(), observed(running(MOTO), running(API), running(PLAIN)), NOW)

    assert not plan
    assert plan.waiting == ()


# --- a whole swap, from resolved desired states ---------------------------------------------

SHOP = """\
name: shop
backing:
  uploads: {kind: s3, bucket: shop-uploads}
  jobs: {kind: sqs, queue: jobs, provider: localstack}
services:
  api: {command: python3 api.py, uses: [uploads]}
  worker: {command: python3 worker.py, uses: [jobs]}
"""
PORTS = {"ministack": 45001, "moto": 45002, "localstack": 45003}


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "devstack.yaml"
    path.write_text(textwrap.dedent(SHOP))
    return path


def resolved(manifest: Path, **swaps: str) -> DesiredState:
    return resolve(load_stack(manifest), "dev", {}, ports=lambda n, _: PORTS[n], swaps=swaps)


def pass_once(state: DesiredState, runtime: FakeRuntime) -> tuple[Operation, ...]:
    workloads = tuple(runtime.observe())
    health = {w.key: "healthy" for w in workloads if w.state == "running"}
    plan = reconcile(state, ObservedState(workloads, health), runtime.clock.now())  # type: ignore[arg-type]
    results = execute(plan, state, runtime, lambda _: 1.0)
    assert all(r.error is None for r in results)
    return plan.operations


def test_a_swap_stops_the_old_provider_only_after_its_consumer_moved(manifest: Path) -> None:
    before = resolved(manifest)
    runtime = FakeRuntime()
    for name in before.order:
        runtime.start(before.services[name], 0)
    runtime.calls.clear()
    after = resolved(manifest, uploads="moto")
    assert "ministack" in after.retired

    passes = []
    for _ in range(10):
        ops = pass_once(after, runtime)
        if not ops:
            break
        passes.append(ops)

    stops = [i for i, ops in enumerate(passes) if Operation("stop", "ministack", 0, RETIRED) in ops]
    moved = [i for i, ops in enumerate(passes) for op in ops if op.service == "api"]
    assert len(stops) == 1 and len(moved) == 1
    assert stops[0] > moved[0]
    assert runtime.calls.index("stop ministack#0") > runtime.calls.index("start api#0")
    # localstack (the worker's provider) and the worker never moved.
    assert not any(op.service in ("localstack", "worker", "jobs") for ops in passes for op in ops)
    assert {w.service for w in runtime.observe()} == set(after.services)
    assert all(w.spec_hash == after.services[w.service].spec_hash for w in runtime.observe())


def test_the_dry_run_shows_the_old_provider_stopping_last(manifest: Path) -> None:
    before = resolved(manifest)
    after = resolved(manifest, uploads="moto")
    state = observed(*(running(before.services[name]) for name in before.order))

    plan = project(after, state, NOW)

    last = plan.operations[-1]
    assert (last.kind, last.service, last.cause) == ("stop", "ministack", RETIRED)
    assert [op.service for op in plan.operations].index("api") < len(plan.operations) - 1
    assert (
        plan.render().splitlines()[-1]
        == f"#{len(plan.operations)} stop service:ministack, {RETIRED}"
    )
