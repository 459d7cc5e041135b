"""The daemon's behaviour on FakeRuntime + FakeClock, in milliseconds: up, scale, swap,
reload, status. The real-process tests (tests/integration) stay as the proof that the
real runtimes behave the same."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.api.models import ServiceStatus, SwapRequest
from devstack.daemon.linger import DEFAULT_SECONDS
from devstack.daemon.service import Daemon
from devstack.daemon.waiting import wait_until
from devstack.testing import FakeClock, FakeRuntime, FakeStackRuntime

SETTLE = 5.0  # seconds: generous; on fakes every wait below ends in milliseconds

MANIFEST = """\
name: shop
providers:
  outside: {type: external, url: "http://127.0.0.1:9002"}
backing:
  uploads: {kind: s3, bucket: shop-uploads}
services:
  api:
    command: python3 api.py
    uses: [uploads]
    env: {GREETING: hello}
  worker:
    command: python3 worker.py
    depends_on: [api]
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeRuntime:
    return FakeRuntime(clock=clock)


@pytest.fixture
def daemon(tmp_path: Path, fake: FakeRuntime, clock: FakeClock) -> Iterator[Daemon]:
    (tmp_path / "devstack.yaml").write_text(textwrap.dedent(MANIFEST))
    made = Daemon(
        tmp_path / "devstack.yaml",
        None,
        {"DEVSTACK_WATCH": "0"},
        runtime=lambda _: FakeStackRuntime(fake),
        clock=clock.now,
    )
    try:
        yield made
    finally:
        made.close()


def settle(condition: Callable[[], bool]) -> None:
    assert wait_until(condition, SETTLE), "the daemon did not settle"


def statuses(daemon: Daemon) -> dict[str, ServiceStatus]:
    return {s.name: s for s in daemon.status().services}


def running(fake: FakeRuntime) -> set[tuple[str, int]]:
    return {key for key, w in fake.workloads.items() if w.state == "running"}


def test_up_runs_every_service_and_status_says_so(daemon: Daemon, fake: FakeRuntime) -> None:
    plan = daemon.up(None, remove_orphans=False)

    assert "start service:api, not running (after uploads started)" in plan.text
    settle(lambda: running(fake) == {("ministack", 0), ("uploads", 0), ("api", 0), ("worker", 0)})
    settle(lambda: all(s.state == "running" for s in statuses(daemon).values()))
    assert daemon.status().environment == "dev"
    # Nothing left to do: reconcile again and nothing changes.
    assert daemon.plan(None, False).text == "nothing to do: the stack matches the manifest"


def test_scale_runs_and_stops_instances_and_is_remembered(
    daemon: Daemon, fake: FakeRuntime
) -> None:
    daemon.up(None, remove_orphans=False)

    daemon.scale_service("api", 3)
    settle(lambda: {("api", 1), ("api", 2)} <= running(fake))
    settle(lambda: statuses(daemon)["api"].running == 3)
    assert statuses(daemon)["api"].replicas == 3

    daemon.scale_service("api", 1)
    settle(lambda: not {("api", 1), ("api", 2)} & set(fake.workloads))
    saved = json.loads(daemon.paths.overrides.read_text())
    assert saved["scale"] == {"api": 1}


def test_a_swap_moves_the_consumer_and_retires_the_emulator(
    daemon: Daemon, fake: FakeRuntime, clock: FakeClock
) -> None:
    daemon.up(None, remove_orphans=False)
    settle(lambda: ("api", 0) in running(fake) and ("worker", 0) in running(fake))
    before = fake.workloads[("api", 0)].spec_hash

    preview = daemon.swap(SwapRequest(backing="uploads", provider="outside", dry_run=True))
    assert (preview.applied, preview.restarts) == (False, ["api"])
    assert daemon.intent.swaps == {}

    done = daemon.swap(SwapRequest(backing="uploads", provider="outside", confirm_real=True))

    assert done.applied and done.message == "swapped uploads: ministack -> outside"
    settle(lambda: ("api", 0) in running(fake) and fake.workloads[("api", 0)].spec_hash != before)
    # Unused now, MiniStack lingers (a swap back would find it warm), then it is retired.
    assert ("ministack", 0) in running(fake)
    clock.advance(DEFAULT_SECONDS)
    daemon.swapper.linger.check()  # what its timer does, on the real clock
    settle(lambda: ("ministack", 0) not in fake.workloads)
    assert daemon.intent.active_swaps == {"uploads": "outside"}
    [uploads] = [b for b in daemon.backing() if b.name == "uploads"]
    assert (uploads.provider, uploads.swapped) == ("outside", True)


def test_a_crash_restarts_after_the_backoff_on_the_fake_clock(
    daemon: Daemon, fake: FakeRuntime, clock: FakeClock
) -> None:
    daemon.up(None, remove_orphans=False)
    settle(lambda: ("worker", 0) in running(fake))

    fake.crash("worker", code=3)
    daemon.controller.mark_dirty()  # what a real runtime's exit event does
    settle(lambda: statuses(daemon)["worker"].state == "restarting")
    assert statuses(daemon)["worker"].reason == "exited with code 3"
    assert fake.workloads[("worker", 0)].state == "exited"  # the backoff holds it

    clock.advance(1.0)
    daemon.controller.mark_dirty()
    settle(lambda: ("worker", 0) in running(fake))
    settle(lambda: statuses(daemon)["worker"].restarts == 1)


def test_reload_applies_a_good_edit_and_keeps_running_through_a_bad_one(
    daemon: Daemon, fake: FakeRuntime
) -> None:
    daemon.up(None, remove_orphans=False)
    settle(lambda: ("api", 0) in running(fake))
    before = fake.workloads[("api", 0)].spec_hash

    daemon.manifest.write_text(textwrap.dedent(MANIFEST).replace("hello", "bonjour"))
    assert daemon.reload()
    settle(lambda: ("api", 0) in running(fake) and fake.workloads[("api", 0)].spec_hash != before)
    shown = {v.name: v.value for v in daemon.config("api").variables}
    assert shown["GREETING"] == "bonjour"

    daemon.manifest.write_text("name: shop\nservices: {api: {command: 3}}\n")
    assert not daemon.reload()
    assert daemon.status().problems  # shown, and the stack keeps its last good state
    assert {v.name: v.value for v in daemon.config("api").variables}["GREETING"] == "bonjour"


def test_stop_and_start_are_intent_too(daemon: Daemon, fake: FakeRuntime) -> None:
    daemon.up(None, remove_orphans=False)
    settle(lambda: ("worker", 0) in running(fake))

    assert daemon.stop_service("worker", SETTLE)
    assert ("worker", 0) not in fake.workloads
    assert statuses(daemon)["worker"].state == "stopped"
    assert "worker" in daemon.intent.stopped

    daemon.start_service("worker")
    settle(lambda: ("worker", 0) in running(fake))
    assert "worker" not in daemon.intent.stopped
