"""The controller, driven one pass at a time against FakeRuntime and FakeClock (no worker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from devstack.engine.causes import Crashed, NotRunning, Requested
from devstack.engine.controller import Controller
from devstack.engine.events import LogLine, LogStore
from devstack.engine.plan import Operation
from devstack.model.desired import DesiredService, DesiredState
from devstack.model.manifest import HealthCheck
from devstack.model.observed import RestartRecord
from devstack.testing import FakeClock, FakeRuntime, desired, service

KEY = ("api", 0)


class FakeProbe:
    """A probe whose answer the test sets; `check` never blocks."""

    def __init__(self, ok: bool = False) -> None:
        self.ok = ok

    def check(self, timeout: float) -> bool:
        return self.ok


class Harness:
    def __init__(self, state: DesiredState, probe_ok: bool = False) -> None:
        self.state = state
        self.clock = FakeClock()
        self.runtime = FakeRuntime(clock=self.clock)
        self.logs = LogStore(clock=self.clock.now)
        self.probes: list[tuple[str, HealthCheck]] = []
        self.probe = FakeProbe(probe_ok)
        self.controller = Controller(
            lambda: self.state, self.runtime, self.logs, self.probe_for, self.clock.now
        )

    def probe_for(self, svc: DesiredService, check: HealthCheck) -> FakeProbe:
        self.probes.append((svc.name, check))
        return self.probe

    def events(self) -> list[str]:
        return [line.text for line in self.logs.snapshot() if line.stream == "event"]


@pytest.fixture
def api() -> Iterator[Harness]:
    harness = Harness(desired(service("api")))
    yield harness
    harness.controller.close()


def test_a_pass_starts_what_is_missing_and_logs_why(api: Harness) -> None:
    result = api.controller.run_pass()

    assert result.plan.operations == (Operation("start", "api", 0, NotRunning()),)
    assert result.errors == {}
    assert api.runtime.calls == ["start api#0"]
    assert api.events() == ["start service:api: not running"]
    assert api.controller.last_plan == result.plan


def test_a_second_pass_does_nothing(api: Harness) -> None:
    api.controller.run_pass()

    result = api.controller.run_pass()

    assert not result.plan
    assert api.runtime.calls == ["start api#0"]


def test_a_crash_is_counted_once_however_many_passes_see_it(api: Harness) -> None:
    api.controller.run_pass()
    api.runtime.crash("api", code=1)

    first = api.controller.run_pass()
    second = api.controller.run_pass()

    assert api.controller.records() == {KEY: RestartRecord(restarts=0, failures=1)}
    assert first.plan.operations == second.plan.operations == ()
    assert first.plan.requeue_at == second.plan.requeue_at == 1000.5
    assert api.runtime.calls == ["start api#0"]


def test_a_crash_is_restarted_after_its_backoff_and_the_restart_counted(api: Harness) -> None:
    api.controller.run_pass()
    api.runtime.crash("api", code=1)
    api.controller.run_pass()

    api.clock.advance(0.5)
    result = api.controller.run_pass()
    api.controller.run_pass()

    assert result.plan.operations == (Operation("start", "api", 0, Crashed(1, 1, 0.5)),)
    assert api.controller.records() == {KEY: RestartRecord(restarts=1, failures=1)}
    assert api.runtime.calls == ["start api#0", "start api#0"]


def test_quick_crashes_back_off_longer_each_time(api: Harness) -> None:
    api.controller.run_pass()
    delays = []
    for _ in range(4):
        api.runtime.crash("api", code=1)
        crashed_at = api.clock.now()
        held = api.controller.run_pass()
        assert held.plan.requeue_at is not None
        delays.append(held.plan.requeue_at - crashed_at)
        api.clock.t = held.plan.requeue_at
        assert api.controller.run_pass().plan.operations[0].kind == "start"
        api.clock.advance(1)

    assert delays == [0.5, 1.0, 2.0, 4.0]
    assert api.controller.records() == {KEY: RestartRecord(restarts=4, failures=4)}


def test_failures_reset_after_a_run_of_a_minute(api: Harness) -> None:
    api.controller.run_pass()
    for _ in range(3):  # three quick failures: the next backoff would be 4 s
        api.runtime.crash("api", code=1)
        api.clock.t = api.controller.run_pass().plan.requeue_at or 0.0
        api.controller.run_pass()
    assert api.controller.records()[KEY].failures == 3

    api.clock.advance(60)
    api.runtime.crash("api", code=1)
    held = api.controller.run_pass()

    assert api.controller.records()[KEY] == RestartRecord(restarts=3, failures=1)
    assert held.plan.requeue_at == api.clock.now() + 0.5


def test_a_run_just_under_a_minute_still_counts_as_a_failure(api: Harness) -> None:
    api.controller.run_pass()
    api.runtime.crash("api", code=1)
    api.clock.t = api.controller.run_pass().plan.requeue_at or 0.0
    api.controller.run_pass()

    api.clock.advance(59.9)
    api.runtime.crash("api", code=1)
    api.controller.run_pass()

    assert api.controller.records()[KEY].failures == 2


def test_a_clean_exit_under_on_failure_is_not_restarted(api: Harness) -> None:
    api.controller.run_pass()
    api.runtime.crash("api", code=0)
    api.clock.advance(100)

    result = api.controller.run_pass()

    assert result.plan.operations == ()
    assert result.plan.requeue_at is None
    assert api.runtime.calls == ["start api#0"]


def test_a_failing_start_is_reported_and_backs_off(api: Harness) -> None:
    api.runtime.fail_start.add("api")

    failed = api.controller.run_pass()
    held = api.controller.run_pass()

    assert failed.errors == {"api": "cannot start api"}
    assert api.controller.errors() == {"api": "cannot start api"}
    assert "start service:api failed: cannot start api" in api.events()
    assert held.plan.operations == ()
    assert held.plan.requeue_at == 1000.5
    assert api.controller.records() == {KEY: RestartRecord(restarts=0, failures=1)}
    assert api.runtime.calls == ["start api#0"]


def test_a_start_that_keeps_failing_backs_off_longer(api: Harness) -> None:
    api.runtime.fail_start.add("api")
    api.controller.run_pass()
    api.clock.t = api.controller.run_pass().plan.requeue_at or 0.0

    retried = api.controller.run_pass()
    held = api.controller.run_pass()

    assert retried.plan.operations == (Operation("start", "api", 0, Crashed(127, 1, 0.5)),)
    assert retried.errors == {"api": "cannot start api"}
    assert held.plan.requeue_at == api.clock.now() + 1.0
    assert api.controller.records() == {KEY: RestartRecord(restarts=1, failures=2)}


def test_a_start_that_succeeds_again_clears_the_error(api: Harness) -> None:
    api.runtime.fail_start.add("api")
    api.controller.run_pass()
    api.clock.t = api.controller.run_pass().plan.requeue_at or 0.0
    api.runtime.fail_start.clear()

    result = api.controller.run_pass()

    assert result.errors == {}
    assert api.controller.errors() == {}
    assert api.runtime.workloads[KEY].state == "running"


def test_a_requested_restart_runs_on_the_next_pass(api: Harness) -> None:
    api.controller.run_pass()
    asked = Operation("restart", "api", 0, Requested("restart asked by the user"))

    api.controller.request(asked)
    result = api.controller.run_pass()

    assert result.plan.operations == (asked,)
    assert api.runtime.calls == ["start api#0", "stop api#0", "start api#0"]
    assert not api.controller.run_pass().plan


# --- health, through the controller -----------------------------------------------------

HTTP = HealthCheck(http="/health")


def hello() -> DesiredState:
    greeter = service("greeter", healthcheck=HTTP)
    front = service("front", depends_on={"greeter": "service_healthy"})
    return desired(front, greeter)


def test_a_started_service_is_probed_and_its_dependent_held_while_starting() -> None:
    harness = Harness(hello(), probe_ok=False)
    try:
        first = harness.controller.run_pass()
        second = harness.controller.run_pass()

        assert [op.service for op in first.plan.operations] == ["greeter"]
        assert set(harness.probes) == {("greeter", HTTP)}
        assert harness.controller.observed().health == {("greeter", 0): "starting"}
        assert second.plan.operations == ()
        assert [str(w.reason) for w in second.plan.waiting] == ["waiting for greeter (starting)"]
    finally:
        harness.controller.close()


def test_a_dependent_starts_on_the_pass_after_its_dependency_turns_healthy() -> None:
    harness = Harness(hello(), probe_ok=True)
    healthy = threading.Event()

    def watch(line: LogLine) -> None:
        if line.text == "greeter is healthy":
            healthy.set()

    harness.logs.subscribe(watch)
    try:
        harness.controller.run_pass()
        assert healthy.wait(timeout=10), "the probe thread never reported greeter healthy"

        result = harness.controller.run_pass()

        assert result.plan.operations == (Operation("start", "front", 0, NotRunning()),)
        assert harness.controller.observed().health[("greeter", 0)] == "healthy"
    finally:
        harness.controller.close()


def test_a_stopped_instance_is_no_longer_probed() -> None:
    harness = Harness(hello(), probe_ok=False)
    try:
        harness.controller.run_pass()
        harness.state = desired(service("greeter", healthcheck=HTTP, replicas=0))

        harness.controller.run_pass()

        assert harness.runtime.calls == ["start greeter#0", "stop greeter#0"]
        assert harness.controller.observed().health == {}
        assert harness.controller.health.keys() == set()
    finally:
        harness.controller.close()


def test_a_state_that_waits_on_something_is_looked_at_again_without_an_event() -> None:
    """Held services (secrets on a provider still starting) start once the wait is over,
    even when nothing marks the state dirty: the pass asks to be run again soon."""
    from dataclasses import replace

    from devstack.engine.controller import PENDING_RECHECK

    harness = Harness(replace(desired(service("api")), pending="secrets from ssm:/x/: refused"))
    try:
        waiting = harness.controller.run_pass()
        assert waiting.plan.requeue_at == harness.clock.now() + PENDING_RECHECK
        harness.state = desired(service("api"))
        assert harness.controller.run_pass().plan.requeue_at is None
    finally:
        harness.controller.close()
