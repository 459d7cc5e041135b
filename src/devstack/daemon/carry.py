"""`swap --carry`: the moved backing services' data copied from the old provider to the
new one, after the new one is provisioned and before the consumers restart.

The copy is a snapshot kept in a private temporary directory under
`.devstack/snapshots/` (secrets and queued messages included: the data stays on this
machine), restored onto the new provider and checked, then removed. Its progress goes to
each backing service's log. Consumers still running on the old provider while the data is
copied may write after the copy: those writes stay behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devstack.api.models import CarryOutcome
from devstack.daemon.snapshots import LogLines
from devstack.data.adapter import DataError, DataTarget
from devstack.data.progress import Meter
from devstack.data.run import carry
from devstack.data.snapshot import SnapshotStore
from devstack.data.survey import count
from devstack.data.targets import data_targets
from devstack.engine.events import LogStore
from devstack.model.desired import DesiredState
from devstack.state.paths import StackPaths


def carried_targets(
    before: DesiredState,
    after: DesiredState,
    moves: Mapping[str, tuple[str, str]],
    declared: Mapping[str, Any],
) -> tuple[dict[str, DataTarget], dict[str, DataTarget]]:
    """Sources and destinations of the moved backing services that hold data.

    `declared` is the manifest's backing services (name -> model): a redis backing service
    has no node in the desired state, its model says what to look for."""
    moved = {b: declared[b] for b in moves if b in declared}
    sources = data_targets(before, [], moved)
    destinations = data_targets(after, [], moved)
    both = sources.keys() & destinations.keys()
    return (
        {b: t for b, t in sources.items() if b in both},
        {b: t for b, t in destinations.items() if b in both},
    )


def preview(
    sources: Mapping[str, DataTarget], destinations: Mapping[str, DataTarget]
) -> list[CarryOutcome]:
    out = []
    for name, source in sources.items():
        items, size = count(source)
        out.append(
            CarryOutcome(
                backing=name, kind=source.kind, source=source.provider,
                destination=destinations[name].provider, items=items, bytes=size,
            )
        )  # fmt: skip
    return out


def carry_data(
    paths: StackPaths,
    logs: LogStore,
    sources: Mapping[str, DataTarget],
    destinations: Mapping[str, DataTarget],
) -> list[CarryOutcome]:
    """Copy each source to its destination; DataError (one line) if one cannot be."""
    out = []
    store = SnapshotStore(paths.state_dir)
    for name, source in sources.items():
        meter = Meter(LogLines(logs, name), tty=False)  # type: ignore[arg-type]
        logs.emit(
            name, 0, "event", f"carrying data: {source.provider} -> {destinations[name].provider}"
        )
        (outcome,) = carry(store, {name: source}, {name: destinations[name]}, meter)
        out.append(
            CarryOutcome(
                backing=name, kind=source.kind, source=source.provider,
                destination=destinations[name].provider, items=outcome.add + outcome.change,
                bytes=outcome.bytes, seconds=outcome.seconds,
            )
        )  # fmt: skip
    return out


__all__ = ["DataError", "carried_targets", "carry_data", "preview"]
