"""The data routes leave the daemon's event loop free: a snapshot that takes long does
not hold up other requests (the real routes on MiniStack: tests/integration/test_data_api.py)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.api.models import DataResponse, SnapshotRequest
from devstack.daemon import server


class SlowJobs:
    """A snapshot that lasts until another request has been answered (or 10 s)."""

    answered = threading.Event()

    def __init__(self, _daemon: object) -> None:
        pass

    def snapshot(self, request: SnapshotRequest) -> DataResponse:
        waited = self.answered.wait(10)
        return DataResponse(snapshot=str(request.name), message=f"waited: {waited}", backings=[])


def test_a_long_snapshot_does_not_block_other_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "DataJobs", SlowJobs)
    app = server.create_app(object(), threading.Event(), log=Path("/dev/null"))  # type: ignore[arg-type]

    async def scenario() -> tuple[Any, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://d") as client:
            slow = asyncio.create_task(client.post("/v1/data/snapshots", json={"name": "big"}))
            health = await asyncio.wait_for(client.get("/v1/health"), 5)
            SlowJobs.answered.set()
            return health, await slow

    health, slow = asyncio.run(scenario())
    assert health.status_code == 200
    assert slow.json()["message"] == "waited: True"  # health was answered while it ran


def test_a_second_snapshot_meanwhile_is_refused_on_one_line() -> None:
    from devstack.daemon.failures import DataConflict
    from devstack.daemon.snapshots import DataJobs

    jobs = DataJobs(None)  # type: ignore[arg-type]  # refused before the daemon is asked
    with jobs._one_at_a_time(), pytest.raises(DataConflict) as refused:
        jobs.snapshot(SnapshotRequest(name="second"))
    assert str(refused.value) == "a snapshot or restore is running: wait for it to finish"


def test_the_api_outcome_carries_every_field_of_the_data_outcome() -> None:
    # DataOutcome mirrors data.run.Outcome field for field (api/ imports nothing of data/):
    # a field added to one and not the other would be dropped from `/v1/data` answers.
    from dataclasses import fields

    from devstack.api.models import DataOutcome
    from devstack.data.run import Outcome

    assert list(DataOutcome.model_fields) == [f.name for f in fields(Outcome)]
