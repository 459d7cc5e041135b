"""Property: any bytes in a `.devstack/*.json` state file give a valid state or are moved aside.

The daemon reads these files at start; a wrong shape used to raise (AttributeError,
TypeError) and stop it, orphaning the services it should re-adopt. Hypothesis writes
random JSON values and raw bytes to each file and reads it back with the daemon's reader:
no exception ever escapes, and a refused file is moved aside and reported once.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.config.ports import PortAllocator
from devstack.daemon.restarts import load_restarts
from devstack.intent.value import Intent
from devstack.runtimes.process import parse_state
from devstack.statefile import read_state

EXAMPLES = 300  # per reader and strategy


def _processes(path: Path, on_corrupt: Callable[[str], None]) -> Any:
    return read_state(path, parse_state, [], on_corrupt)


def _ports(path: Path, on_corrupt: Callable[[str], None]) -> Any:
    return PortAllocator(path, on_corrupt)


READERS: dict[str, Callable[[Path, Callable[[str], None]], Any]] = {
    "overrides.json": Intent.load,
    "processes.json": _processes,
    "ports.json": _ports,
    "restarts.json": load_restarts,
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["environment", "stopped", "swaps", "scale", "release", "instances",
                         "version", "service", "replica", "state", "pid", "web#0", "a:1"])
        | st.text(max_size=6),
        inner,
        max_size=5,
    ),
    max_leaves=12,
)  # fmt: skip


def _check(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        reports: list[str] = []
        READERS[name](path, reports.append)  # the property: this never raises
        moved = [p for p in Path(folder).iterdir() if ".corrupt-" in p.name]
        if reports:
            assert len(reports) == 1 and str(path) in reports[0]
            assert [p.read_bytes() for p in moved] == [data] and not path.exists()
        else:
            assert not moved and path.read_bytes() == data


@pytest.mark.parametrize("name", sorted(READERS))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_any_json_value_is_a_valid_state_or_moved_aside(name: str, value: Any) -> None:
    _check(name, json.dumps(value).encode())


@pytest.mark.parametrize("name", sorted(READERS))
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.binary(max_size=64))
def test_any_bytes_are_a_valid_state_or_moved_aside(name: str, data: bytes) -> None:
    _check(name, data)


def test_what_the_writers_write_reads_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    saved = Intent("staging", {"web"}, {"db": ["moto", "ministack"]}, {"web": 3}, "r2")
    saved.save(path)
    assert Intent.load(path, pytest.fail) == saved
