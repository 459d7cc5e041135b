"""The reconciler: golden plans, steady state, health gating, restart policy and backoff."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devstack.engine.causes import (
    Backoff,
    Blocked,
    Crashed,
    ExitedUnwanted,
    NotRunning,
    ScaledDown,
    SpecChanged,
    StopsAfter,
    Unsettled,
)
from devstack.engine.executor import execute
from devstack.engine.plan import Operation, Waiting
from devstack.engine.reconcile import project, reconcile
from devstack.engine.restart import backoff_delay
from devstack.model.desired import DesiredService, DesiredState
from devstack.model.manifest import HealthCheck
from devstack.model.observed import Health, ObservedState, RestartRecord, Workload
from devstack.testing import FakeRuntime, desired, service

HTTP = HealthCheck(http="/health")
NOW = 1000.0


def hello(
    *,
    greeting: str = "hello",
    greeter_url: str = "http://127.0.0.1:8000",
    replicas: int = 1,
    remove_orphans: bool = False,
) -> DesiredState:
    """The hello stack: front depends on a healthy greeter."""
    greeter = service("greeter", env={"GREETING": greeting}, healthcheck=HTTP, replicas=replicas)
    front = service(
        "front",
        env={"GREETER_URL": greeter_url},
        depends_on={"greeter": "service_healthy"},
        healthcheck=HTTP,
        replicas=replicas,
    )
    return desired(front, greeter, remove_orphans=remove_orphans)


def running(svc: DesiredService, replica: int = 0, **changes: object) -> Workload:
    w = Workload(svc.name, replica, "running", svc.spec_hash, svc.digests, NOW - 100, pid=1)
    return replace(w, **changes)  # type: ignore[arg-type]


def exited(svc: DesiredService, code: int, at: float = NOW - 100, replica: int = 0) -> Workload:
    return Workload(
        svc.name,
        replica,
        "exited",
        svc.spec_hash,
        svc.digests,
        at - 5,
        exit_code=code,
        exited_at=at,
    )


def all_running(state: DesiredState, health: Health = "healthy") -> ObservedState:
    """Every wanted instance of `state` running its desired spec, with the given health."""
    workloads = tuple(
        running(svc, replica) for svc in state.services.values() for replica in range(svc.replicas)
    )
    return ObservedState(workloads, {w.key: health for w in workloads})


def observe(runtime: FakeRuntime, health: Health = "healthy") -> ObservedState:
    workloads = tuple(runtime.observe())
    return ObservedState(workloads, {w.key: health for w in workloads if w.state == "running"})


def converge(state: DesiredState, runtime: FakeRuntime, passes: int = 10) -> int:
    """Apply plans until the reconciler has nothing left to do; returns the passes taken."""
    for index in range(passes):
        plan = reconcile(state, observe(runtime), runtime.clock.now())
        if not plan:
            return index
        results = execute(plan, state, runtime, lambda _: 1.0)
        assert all(r.error is None for r in results)
    raise AssertionError(f"no steady state after {passes} passes")


# --- golden plans ----------------------------------------------------------------------


def test_an_empty_stack_starts_dependencies_first_and_names_the_gate() -> None:
    plan = project(hello(), ObservedState(), NOW)

    assert plan.render() == (
        "#1 start service:greeter, not running\n"
        "#2 start service:front, not running (after greeter healthy)"
    )


def test_a_service_started_condition_is_rendered_as_started() -> None:
    greeter = service("greeter", healthcheck=HTTP)
    front = service("front", depends_on={"greeter": "service_started"})

    plan = project(desired(front, greeter), ObservedState(), NOW)

    assert plan.render() == (
        "#1 start service:greeter, not running\n"
        "#2 start service:front, not running (after greeter started)"
    )


def test_a_running_stack_that_matches_renders_nothing_to_do() -> None:
    state = hello()

    plan = project(state, all_running(state), NOW)

    assert plan.render() == "nothing to do: the stack matches the manifest"
    assert plan.operations == []


def test_a_changed_env_var_restarts_only_that_service_and_names_the_field() -> None:
    before = hello(greeting="hello")
    after = hello(greeting="bonjour")

    plan = project(after, all_running(before), NOW)

    assert plan.render() == "#1 restart service:greeter, spec-hash changed: env.GREETING"


def test_a_changed_dependency_restarts_first_and_its_dependent_after_it_is_healthy() -> None:
    before = hello()
    after = hello(greeting="bonjour", greeter_url="http://127.0.0.1:8100")

    plan = project(after, all_running(before), NOW)

    assert plan.render() == (
        "#1 restart service:greeter, spec-hash changed: env.GREETING\n"
        "#2 restart service:front, spec-hash changed: env.GREETER_URL (after greeter healthy)"
    )


def test_several_changed_fields_are_listed_sorted() -> None:
    old = service("api", env={"A": "1", "B": "1", "C": "1"})
    new = service("api", env={"A": "2", "C": "1", "D": "1"}, command=("serve",))

    plan = reconcile(desired(new), ObservedState((running(old),)), NOW)

    assert plan.operations == (
        Operation("restart", "api", 0, SpecChanged(("command", "env.A", "env.B", "env.D"))),
    )


def test_down_stops_dependents_before_their_dependencies() -> None:
    state = hello()

    plan = project(hello(replicas=0), all_running(state), NOW)

    assert plan.render() == (
        "#1 stop service:front, stopped\n#2 stop service:greeter, stopped (after front stopped)"
    )


def test_down_holds_a_dependency_while_a_dependent_still_runs() -> None:
    plan = reconcile(hello(replicas=0), all_running(hello()), NOW)

    assert plan.operations == (Operation("stop", "front", 0, ScaledDown(0)),)
    assert plan.waiting == (Waiting("greeter", StopsAfter(("front",))),)


def test_down_of_a_chain_stops_it_from_the_top() -> None:
    db = service("db")
    api = service("api", depends_on={"db": "service_started"})
    web = service("web", depends_on={"api": "service_started"})
    up = desired(web, api, db)
    down = desired(*(replace(s, replicas=0) for s in (web, api, db)))

    plan = project(down, all_running(up), NOW)

    assert plan.render() == (
        "#1 stop service:web, stopped\n"
        "#2 stop service:api, stopped (after web stopped)\n"
        "#3 stop service:db, stopped (after api stopped)"
    )


def test_orphans_are_left_alone_without_remove_orphans() -> None:
    observed = all_running(hello())

    plan = project(desired(hello().services["greeter"]), observed, NOW)

    assert plan.render() == "nothing to do: the stack matches the manifest"


def test_orphans_are_stopped_or_removed_with_remove_orphans() -> None:
    greeter = hello().services["greeter"]
    gone = service("gone")
    observed = all_running(hello())
    observed = replace(observed, workloads=(*observed.workloads, exited(gone, 0)))

    plan = project(desired(greeter, remove_orphans=True), observed, NOW)

    assert plan.render() == (
        "#1 stop service:front, orphan: not in the manifest\n"
        "#2 remove service:gone, orphan: not in the manifest"
    )


def test_scaling_down_stops_the_highest_replicas() -> None:
    three = service("worker", replicas=3)
    one = service("worker", replicas=1)

    plan = project(desired(one), all_running(desired(three)), NOW)

    assert plan.render() == (
        "#1 stop service:worker#1, scaled down to 1\n#2 stop service:worker#2, scaled down to 1"
    )


def test_scaling_up_starts_the_missing_replicas() -> None:
    one = service("worker", replicas=1)
    three = service("worker", replicas=3)

    plan = project(desired(three), all_running(desired(one)), NOW)

    assert plan.render() == (
        "#1 start service:worker#1, not running\n#2 start service:worker#2, not running"
    )


def test_an_exited_replica_that_is_no_longer_wanted_is_removed() -> None:
    two = service("worker", replicas=2)
    one = service("worker", replicas=1)
    observed = ObservedState((running(two, 0), exited(two, 1, replica=1)))

    plan = reconcile(desired(one), observed, NOW)

    assert plan.operations == (Operation("remove", "worker", 1, ExitedUnwanted()),)


def test_a_projected_plan_lists_a_backoff_as_waiting() -> None:
    api = service("api")
    observed = ObservedState(
        (exited(api, 1, at=NOW),), records={("api", 0): RestartRecord(restarts=0, failures=1)}
    )

    plan = project(desired(api), observed, NOW)

    assert plan.render() == (
        "nothing to do: the stack matches the manifest\nwaiting api: restart backoff until 1000.5"
    )


# --- steady state ----------------------------------------------------------------------


def test_a_second_pass_after_applying_a_plan_is_empty() -> None:
    runtime = FakeRuntime()
    state = hello()

    passes = converge(state, runtime)

    # greeter first, then front once greeter is healthy: two passes, then nothing.
    assert passes == 2
    assert runtime.calls == ["start greeter#0", "start front#0"]
    plan = reconcile(state, observe(runtime), runtime.clock.now())
    assert plan.operations == ()
    assert plan.waiting == ()
    assert plan.requeue_at is None


def test_a_noop_up_restarts_nothing() -> None:
    runtime = FakeRuntime()
    state = hello()
    converge(state, runtime)
    runtime.calls.clear()

    assert converge(hello(), runtime) == 0
    assert runtime.calls == []


def test_a_change_converges_and_then_stays_still() -> None:
    runtime = FakeRuntime()
    converge(hello(), runtime)
    runtime.calls.clear()
    changed = hello(greeting="bonjour")

    converge(changed, runtime)

    assert runtime.calls == ["stop greeter#0", "start greeter#0"]
    assert not reconcile(changed, observe(runtime), runtime.clock.now())


# --- health gating ---------------------------------------------------------------------


@pytest.mark.parametrize("health", ["starting", "none", "unhealthy"])
def test_a_dependent_waits_while_its_dependency_is_not_healthy(health: Health) -> None:
    state = hello()
    greeter = running(state.services["greeter"])
    observed = ObservedState((greeter,), {greeter.key: health})

    plan = reconcile(state, observed, NOW)

    shown = "starting" if health == "none" else health
    assert plan.operations == ()
    assert plan.waiting == (Waiting("front", Blocked((Unsettled("greeter", shown),))),)


def test_a_dependent_is_planned_once_its_dependency_is_healthy() -> None:
    state = hello()
    greeter = running(state.services["greeter"])
    observed = ObservedState((greeter,), {greeter.key: "healthy"})

    plan = reconcile(state, observed, NOW)

    assert plan.operations == (Operation("start", "front", 0, NotRunning()),)
    assert plan.waiting == ()


def test_a_dependent_waits_while_its_dependency_runs_an_old_spec() -> None:
    before = hello()
    after = hello(greeting="bonjour")
    greeter = running(before.services["greeter"])
    observed = ObservedState((greeter,), {greeter.key: "healthy"})

    plan = reconcile(after, observed, NOW)

    assert [op.service for op in plan.operations] == ["greeter"]
    assert plan.waiting == (Waiting("front", Blocked((Unsettled("greeter", "starting"),))),)


def test_a_service_started_condition_only_needs_the_dependency_running() -> None:
    greeter = service("greeter", healthcheck=HTTP)
    front = service("front", depends_on={"greeter": "service_started"})
    w = running(greeter)

    plan = reconcile(desired(front, greeter), ObservedState((w,), {w.key: "starting"}), NOW)

    assert plan.operations == (Operation("start", "front", 0, NotRunning()),)


def test_a_service_started_condition_still_needs_the_dependency_running() -> None:
    greeter = service("greeter", healthcheck=HTTP)
    front = service("front", depends_on={"greeter": "service_started"})

    plan = reconcile(desired(front, greeter), ObservedState(), NOW)

    assert plan.operations == (Operation("start", "greeter", 0, NotRunning()),)
    assert plan.waiting == (Waiting("front", Blocked((Unsettled("greeter", "starting"),))),)


def test_a_dependency_without_healthcheck_counts_as_healthy_once_running() -> None:
    greeter = service("greeter")
    front = service("front", depends_on={"greeter": "service_healthy"})

    plan = reconcile(desired(front, greeter), ObservedState((running(greeter),)), NOW)

    assert plan.operations == (Operation("start", "front", 0, NotRunning()),)


def test_a_dependent_of_a_stopped_service_waits_for_it() -> None:
    greeter = service("greeter", replicas=0)
    front = service("front", depends_on={"greeter": "service_started"})

    plan = reconcile(desired(front, greeter), ObservedState(), NOW)

    assert plan.operations == ()
    assert plan.waiting == (Waiting("front", Blocked((Unsettled("greeter", "stopped"),))),)


def test_a_dependent_waits_for_every_replica_of_its_dependency() -> None:
    greeter = service("greeter", healthcheck=HTTP, replicas=2)
    front = service("front", depends_on={"greeter": "service_healthy"})
    first, second = running(greeter, 0), running(greeter, 1)
    observed = ObservedState((first, second), {first.key: "healthy", second.key: "starting"})

    plan = reconcile(desired(front, greeter), observed, NOW)

    assert plan.waiting == (Waiting("front", Blocked((Unsettled("greeter", "starting"),))),)


# --- restart policy and backoff --------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "code", "restarts"),
    [
        ("no", 1, False),
        ("no", 0, False),
        ("on-failure", 1, True),
        ("on-failure", 137, True),
        ("on-failure", 0, False),
        ("always", 0, True),
        ("always", 2, True),
    ],
)
def test_the_restart_policy_decides_whether_an_exit_is_restarted(
    policy: str, code: int, restarts: bool
) -> None:
    api = service("api", restart=policy)

    plan = reconcile(desired(api), ObservedState((exited(api, code),)), NOW)

    expected = (Operation("start", "api", 0, Crashed(code, 1, 0.5)),) if restarts else ()
    assert plan.operations == expected
    assert plan.requeue_at is None


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.0), (1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 16.0), (7, 30.0)],
)
def test_backoff_doubles_from_half_a_second(failures: int, delay: float) -> None:
    assert backoff_delay(failures) == delay


@pytest.mark.parametrize("failures", [8, 20, 100, 1000])
def test_backoff_is_capped_at_thirty_seconds(failures: int) -> None:
    assert backoff_delay(failures) == 30.0


def test_backoff_stays_capped_after_a_night_of_crash_loops() -> None:
    # At the 30 s cap, 1026 failures is under 9 hours of a crash loop.
    assert backoff_delay(1026) == 30.0
    assert backoff_delay(10_000) == 30.0


def test_a_restart_is_held_until_the_backoff_has_passed() -> None:
    api = service("api")
    record = RestartRecord(restarts=2, failures=3)  # third failure in a row: 2 s
    observed = ObservedState((exited(api, 1, at=NOW),), records={("api", 0): record})

    early = reconcile(desired(api), observed, NOW + 1.9)
    due = reconcile(desired(api), observed, NOW + 2.0)

    assert early.operations == ()
    assert early.waiting == (Waiting("api", Backoff(1002.0)),)
    assert early.requeue_at == NOW + 2.0
    assert due.operations == (Operation("start", "api", 0, Crashed(1, 3, 2.0)),)
    assert due.waiting == ()
    assert due.requeue_at is None


def test_the_first_crash_without_a_record_backs_off_half_a_second() -> None:
    api = service("api")
    observed = ObservedState((exited(api, 1, at=NOW),))

    assert reconcile(desired(api), observed, NOW).requeue_at == NOW + 0.5
    assert reconcile(desired(api), observed, NOW + 0.5).operations == (
        Operation("start", "api", 0, Crashed(1, 1, 0.5)),
    )


def test_requeue_at_is_the_earliest_held_restart() -> None:
    a, b = service("a"), service("b")
    observed = ObservedState(
        (exited(a, 1, at=NOW), exited(b, 1, at=NOW)),
        records={("a", 0): RestartRecord(failures=4), ("b", 0): RestartRecord(failures=2)},
    )

    plan = reconcile(desired(a, b), observed, NOW)

    assert plan.requeue_at == NOW + 1.0
    assert {w.service for w in plan.waiting} == {"a", "b"}


def test_a_restart_waits_for_its_dependencies_after_the_backoff() -> None:
    greeter = service("greeter", healthcheck=HTTP)
    front = service("front", depends_on={"greeter": "service_healthy"})
    g = running(greeter)
    observed = ObservedState((g, exited(front, 1)), {g.key: "starting"})

    plan = reconcile(desired(front, greeter), observed, NOW)

    assert plan.operations == ()
    assert plan.waiting == (Waiting("front", Blocked((Unsettled("greeter", "starting"),))),)


def test_an_exited_instance_with_a_changed_spec_is_started_with_the_new_spec() -> None:
    old = service("migrate", restart="no", env={"V": "1"})
    new = service("migrate", restart="no", env={"V": "2"})

    plan = reconcile(desired(new), ObservedState((exited(old, 1),)), NOW)

    assert [op.kind for op in plan.operations] in (["start"], ["restart"])


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        (NotRunning(), "not running"),
        (SpecChanged(("command", "env.A")), "spec-hash changed: command, env.A"),
        (Crashed(3, 2, 1.0), "exited with code 3; restart 2 after 1s backoff"),
        (Crashed(None, 1, 0.5), "exited with code None; restart 1 after 0.5s backoff"),
        (ScaledDown(0), "stopped"),
        (ScaledDown(2), "scaled down to 2"),
        (ExitedUnwanted(), "exited and no longer wanted"),
        (StopsAfter(("a", "b")), "stops after a, b"),
        (Backoff(1001.25), "restart backoff until 1001.2"),
        (
            Blocked((Unsettled("db", "unhealthy"), Unsettled("mq", "stopped"))),
            "waiting for db (unhealthy), mq (stopped)",
        ),
    ],
)
def test_typed_causes_and_reasons_render_the_texts_users_have_always_seen(
    typed: object, text: str
) -> None:
    assert str(typed) == text


def _migration() -> tuple[DesiredService, DesiredService, DesiredState]:
    """`app` waits for the one-shot `migrate` to exit 0 (compose's
    service_completed_successfully)."""
    migrate = service("migrate", restart="no")
    app = service("app", depends_on={"migrate": "service_completed_successfully"})
    return migrate, app, desired(app, migrate)


def test_a_completion_condition_waits_while_the_one_shot_runs() -> None:
    migrate, _, state = _migration()

    first = reconcile(state, ObservedState(), NOW)
    w = running(migrate)
    later = reconcile(state, ObservedState((w,), {w.key: "none"}), NOW)

    assert first.operations == (Operation("start", "migrate", 0, NotRunning()),)
    for plan in (first, later):
        assert plan.waiting[0].service == "app"
    assert later.operations == ()
    assert later.waiting == (
        Waiting("app", Blocked((Unsettled("migrate", "running, not completed"),))),
    )


def test_a_completion_condition_starts_the_dependent_once_the_one_shot_exited_0() -> None:
    migrate, _, state = _migration()

    plan = reconcile(state, ObservedState((exited(migrate, 0),)), NOW)

    assert plan.operations == (Operation("start", "app", 0, NotRunning()),)


def test_a_failed_one_shot_holds_its_dependent_with_the_exit_code() -> None:
    migrate, _, state = _migration()

    plan = reconcile(state, ObservedState((exited(migrate, 3),)), NOW)

    assert plan.operations == ()
    assert plan.waiting == (Waiting("app", Blocked((Unsettled("migrate", "exited with code 3"),))),)


def test_the_dry_run_plans_the_one_shot_then_its_dependent() -> None:
    _, _, state = _migration()

    steps = project(state, ObservedState(), NOW).operations

    assert [(op.service, op.after) for op in steps] == [
        ("migrate", ()),
        ("app", ("migrate completed",)),
    ]
