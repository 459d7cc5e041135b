"""Preparing services (builds, image lookups) before reconcile, against FakeRuntime."""

from __future__ import annotations

from dataclasses import replace

from devstack.engine.controller import PREPARE_RETRY, Controller
from devstack.engine.events import LogStore
from devstack.model.desired import DesiredService, DesiredState, spec_digests
from devstack.model.manifest import HealthCheck
from devstack.testing import FakeClock, FakeRuntime, desired, service


class CountingRuntime(FakeRuntime):
    """Prepares by pinning an 'image id' into the env, counting each prepare call."""

    image_id: str = "sha256:1"
    prepared: int = 0

    def prepare(self, svc: DesiredService) -> DesiredService:
        super().prepare(svc)  # raises for names in prepare_fails
        self.prepared += 1
        spec = replace(svc.spec, env={**svc.spec.env, "IMAGE_ID": self.image_id})
        return replace(svc, spec=spec, digests=spec_digests(spec))


def harness(state: DesiredState) -> tuple[Controller, CountingRuntime, FakeClock]:
    clock = FakeClock()
    runtime = CountingRuntime(clock=clock)
    logs = LogStore(clock=clock.now)

    def no_probe(svc: DesiredService, check: HealthCheck) -> object:
        raise AssertionError("no healthchecks here")

    controller = Controller(lambda: state, runtime, logs, no_probe, clock.now)  # type: ignore[arg-type]
    return controller, runtime, clock


def test_a_prepared_service_is_prepared_once_not_on_every_pass() -> None:
    controller, runtime, _ = harness(desired(service("api")))

    controller.run_pass()
    controller.run_pass()
    controller.run_pass()

    assert runtime.prepared == 1
    assert runtime.calls == ["start api#0"]


def test_the_spec_hash_covers_what_prepare_pinned() -> None:
    controller, runtime, _ = harness(desired(service("api")))
    controller.run_pass()
    runtime.image_id = "sha256:2"  # a rebuilt image
    controller.invalidate()  # what `up` does

    result = controller.run_pass()

    assert [str(op.cause) for op in result.plan.operations] == ["spec-hash changed: env.IMAGE_ID"]


def test_a_failed_prepare_keeps_the_running_instance_and_reports_why() -> None:
    state = desired(service("api", env={"V": "1"}))
    controller, runtime, _ = harness(state)
    controller.run_pass()
    runtime.prepare_fails.add("api")
    controller.invalidate()

    # The manifest changes, but the new image cannot be built: what runs stays.
    new_state = desired(service("api", env={"V": "2"}))
    controller._desired = lambda: new_state  # type: ignore[method-assign]
    result = controller.run_pass()

    assert result.plan.operations == ()
    assert runtime.calls == ["start api#0"]
    assert controller.errors()["api"].startswith("cannot prepare: cannot build api")


def test_a_failed_prepare_is_retried_after_a_while_not_on_every_pass() -> None:
    controller, runtime, clock = harness(desired(service("api")))
    runtime.prepare_fails.add("api")
    controller.run_pass()
    runtime.prepare_fails.clear()

    controller.run_pass()
    assert runtime.prepared == 0  # too soon: a broken build is not rebuilt on each pass

    clock.advance(PREPARE_RETRY)
    controller.run_pass()
    assert runtime.prepared == 1
    assert "api" not in controller.errors()
