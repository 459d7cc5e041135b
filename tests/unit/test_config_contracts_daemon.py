"""A contract breach on the fake daemon, in milliseconds: held with its reason while the
rest runs, started by a fixing reload, and never stopping what already runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.api.readiness import judge
from devstack.daemon.service import Daemon
from devstack.daemon.waiting import wait_until
from devstack.testing import FakeClock, FakeRuntime, FakeStackRuntime

MANIFEST = """\
name: shop
environments:
  dev: {vars: {WORKERS: "WORKERS_VALUE"}}
services:
  db:
    command: python3 db.py
  api:
    command: python3 api.py
    env: {API_TOKEN: s3cr3t}
    needs: {WORKERS: {type: int, min: 1}, API_TOKEN: {type: secret, pattern: "tok_.*"}}
  web:
    command: python3 web.py
    depends_on: {api: {condition: service_started}}
"""


def manifest(workers: str, token: str = "tok_1") -> str:
    return MANIFEST.replace("WORKERS_VALUE", workers).replace("s3cr3t", token)


@pytest.fixture
def fake() -> FakeRuntime:
    return FakeRuntime(clock=FakeClock())


@pytest.fixture
def daemon(tmp_path: Path, fake: FakeRuntime) -> Iterator[Daemon]:
    (tmp_path / "devstack.yaml").write_text(manifest("many", "s3cr3t"))
    made = Daemon(
        tmp_path / "devstack.yaml",
        None,
        {"DEVSTACK_WATCH": "0"},
        runtime=lambda _: FakeStackRuntime(fake),
        clock=fake.clock.now,
    )
    try:
        yield made
    finally:
        made.close()


def running(fake: FakeRuntime) -> set[str]:
    return {name for (name, _), w in fake.workloads.items() if w.state == "running"}


def settle(condition: Callable[[], bool]) -> None:
    assert wait_until(condition, 5.0), "the daemon did not settle"


def test_a_breach_is_failed_with_its_reason_and_a_fix_starts_it(
    daemon: Daemon, fake: FakeRuntime
) -> None:
    plan = daemon.up(None, remove_orphans=False)

    assert "api: contract broken: WORKERS: 'many' is not an int" in plan.text
    settle(lambda: running(fake) == {"db"})
    status = {s.name: s for s in daemon.status().services}
    assert status["api"].state == "failed"
    assert status["api"].reason is not None
    assert status["api"].reason.startswith("contract broken: WORKERS: 'many' is not an int")
    assert status["api"].reason.endswith("(and 1 more: devstack config check)")
    assert "s3cr3t" not in status["api"].reason
    assert status["web"].state == "waiting"
    assert status["web"].reason == "waiting for api (contract broken)"
    verdict, broken = judge([s.model_dump() for s in daemon.status().services])
    assert (verdict, [s["name"] for s in broken]) == ("failed", ["api"])  # `up --wait`: 1

    daemon.manifest.write_text(manifest("4"))
    assert daemon.reload()

    settle(lambda: running(fake) == {"db", "api", "web"})
    assert {s.state for s in daemon.status().services} == {"running"}


def test_an_edit_that_breaks_the_contract_keeps_what_runs(
    daemon: Daemon, fake: FakeRuntime
) -> None:
    daemon.manifest.write_text(manifest("2"))
    daemon.up(None, remove_orphans=False)
    settle(lambda: running(fake) == {"db", "api", "web"})
    before = fake.workloads[("api", 0)].pid

    daemon.manifest.write_text(manifest("0"))
    assert daemon.reload()

    status = {s.name: s for s in daemon.status().services}
    assert status["api"].state == "failed"
    assert status["api"].reason is not None and "is below the minimum 1" in status["api"].reason
    assert fake.workloads[("api", 0)].pid == before  # not stopped, not restarted
    assert running(fake) == {"db", "api", "web"}
