"""`.devstack/restarts.json`: restart counts, so a daemon that re-adopts keeps counting.

Restarts are counted by the controller, in memory; a daemon restart (a crash, a lost
socket) would reset RESTARTS to 0 for services that kept running all along. Written on
each counted restart (rare), read once at start, removed by `down`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.fsutil import write_json_atomic
from devstack.model.observed import RestartRecord
from devstack.statefile import OnCorrupt, StateError, need_dict, need_int, read_state

Records = dict[tuple[str, int], RestartRecord]


def parse_restarts(data: Any) -> Records:
    """`{"<service>#<replica>": {"restarts": N, "failures": M}, ...}`."""
    records: Records = {}
    for key, value in need_dict(data, "the file").items():
        service, sep, replica = key.rpartition("#")
        if not sep or not service or not replica.isdigit():
            raise StateError(f"key {key!r} is not <service>#<replica>")
        entry = need_dict(value, key)
        records[(service, int(replica))] = RestartRecord(
            restarts=need_int(entry.get("restarts", 0), f"{key}.restarts"),
            failures=need_int(entry.get("failures", 0), f"{key}.failures"),
        )
    return records


def load_restarts(path: Path, on_corrupt: OnCorrupt | None = None) -> Records:
    return read_state(path, parse_restarts, {}, on_corrupt)


def save_restarts(path: Path, records: Records) -> None:
    write_json_atomic(
        path,
        {
            f"{service}#{replica}": {"restarts": r.restarts, "failures": r.failures}
            for (service, replica), r in records.items()
            if r.restarts
        },
    )
