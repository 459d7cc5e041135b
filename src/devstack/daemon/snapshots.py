"""Snapshots and restores made by the daemon: the API behind the TUI's backing-services
view (`s` snapshot, `r` restore; docs/backing-data.md).

The CLI's `devstack data` moves the data in its own process; a UI has no terminal for
that, so these routes do the same work in the daemon, with the same code (data/run.py),
against the desired state it runs. The routes are plain `def`s: FastAPI runs them in its
thread pool, so a restore that takes minutes never holds up the event loop (status and
the event stream keep answering). One snapshot or restore at a time; a dry run only reads
and may run beside one. Progress goes to each backing service's log, as a carry's does;
counts and keys only, never a value. The heavy imports (boto3) wait for the first call:
the daemon imports its API before serving.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from devstack.api.models import (
    DataOutcome,
    DataResponse,
    RestoreRequest,
    SnapshotInfo,
    SnapshotRequest,
)
from devstack.daemon.failures import BadRequest, DataConflict
from devstack.model.names import UnknownName

if TYPE_CHECKING:
    from devstack.config.loader import LoadedStack
    from devstack.data.adapter import DataTarget
    from devstack.data.progress import Meter
    from devstack.data.snapshot import SnapshotStore
    from devstack.engine.events import LogStore
    from devstack.model.desired import DesiredState
    from devstack.state.paths import StackPaths


class DataHost(Protocol):
    """What snapshots and restores read of the daemon."""

    @property
    def paths(self) -> StackPaths: ...
    @property
    def loaded(self) -> LoadedStack: ...
    @property
    def logs(self) -> LogStore: ...
    def desired(self) -> DesiredState: ...


class DataJobs:
    def __init__(self, host: DataHost) -> None:
        self.host = host
        self._busy = threading.Lock()

    def list(self) -> list[SnapshotInfo]:
        # The same fields as `data list --json`.
        return [SnapshotInfo(**dataclasses.asdict(s)) for s in self._store().list()]

    def snapshot(self, request: SnapshotRequest) -> DataResponse:
        """Snapshot `request.backings` (default: all that hold data) from their providers."""
        from devstack.data.adapter import DataOptions
        from devstack.data.run import take_snapshot

        name = _valid(request.name or time.strftime("%Y%m%d-%H%M%S", time.gmtime()))
        started = time.monotonic()
        with self._one_at_a_time():
            desired = self.host.desired()
            targets = self._targets(desired, request.backings)
            if not targets:
                raise BadRequest("no backing service holds data devstack can copy")
            options = DataOptions(
                include_secrets=request.include_secrets, include_messages=request.include_messages
            )
            header = {"stack": desired.stack, "environment": desired.environment}
            self.host.logs.event(f"snapshot {name} of {', '.join(targets)}: taking it")
            with self._failing(f"snapshot {name}", f"snapshot {name} not written"):
                _, outcomes = take_snapshot(
                    self._store(), name, targets, options, self._meter(targets), header
                )
        items = sum(o.items for o in outcomes)
        message = (
            f"snapshot {name}: {items} item(s) of {len(outcomes)} backing service(s) "
            f"in {time.monotonic() - started:.1f}s"
        )
        self.host.logs.event(message)
        return DataResponse(snapshot=name, message=message, backings=_outcomes(outcomes))

    def restore(self, name: str, request: RestoreRequest) -> DataResponse:
        """Make the backing services equal to snapshot `name` (dry_run: the counts only)."""
        from devstack.data.adapter import DataOptions
        from devstack.data.run import restore

        store = self._store()
        known = [s.name for s in store.list()]
        if _valid(name) not in known:
            raise UnknownName("snapshot", name, known)
        with self._failing(f"restore {name}", f"snapshot {name} unreadable"):
            snap = store.open(name)
            held = list(snap.backings())
        targets = self._targets(self.host.desired(), request.backings or held)
        # A dry run only reads: it may run while a snapshot or restore does.
        guard = contextlib.nullcontext() if request.dry_run else self._one_at_a_time()
        with guard:
            if not request.dry_run:
                self.host.logs.event(f"restore {name} onto {', '.join(targets)}: writing")
            with self._failing(f"restore {name}", f"snapshot {name} unreadable"):
                outcomes = restore(
                    snap, targets, DataOptions(), self._meter(targets), dry_run=request.dry_run
                )
        if request.dry_run:
            message = "dry run: nothing changed"
        else:
            done = ", ".join(f"{o.backing} +{o.add} ~{o.change} -{o.delete}" for o in outcomes)
            message = f"restored {name}: {done} (checked)"
            self.host.logs.event(message)
        return DataResponse(
            snapshot=name, message=message, dry_run=request.dry_run, backings=_outcomes(outcomes)
        )

    # -- helpers --

    def _store(self) -> SnapshotStore:
        from devstack.data.snapshot import SnapshotStore

        return SnapshotStore(self.host.paths.state_dir)

    def _targets(self, desired: DesiredState, backings: Iterable[str]) -> dict[str, DataTarget]:
        from devstack.data.adapter import DataError
        from devstack.data.targets import data_targets

        declared = self.host.loaded.stack.backing
        for backing in backings:
            if backing not in declared:
                raise UnknownName("backing service", backing, declared)
        try:
            return data_targets(desired, backings, declared)
        except DataError as exc:  # a kind that holds no data devstack can copy
            raise BadRequest(str(exc)) from None

    def _meter(self, targets: Mapping[str, Any]) -> Meter:
        from devstack.data.progress import Meter
        from devstack.engine.events import ENGINE

        lines = LogLines(self.host.logs, ENGINE, targets)
        return Meter(lines, tty=False)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def _one_at_a_time(self) -> Iterator[None]:
        # Two writers on one provider would interleave their deletes and puts.
        if not self._busy.acquire(blocking=False):
            raise DataConflict("a snapshot or restore is running: wait for it to finish")
        try:
            yield
        finally:
            self._busy.release()

    @contextlib.contextmanager
    def _failing(self, doing: str, disk: str) -> Iterator[None]:
        """DataError and OSError (the snapshot's disk) as one line, logged and answered."""
        from devstack.data.adapter import DataError

        try:
            yield
        except DataError as exc:
            why = str(exc)
        except OSError as exc:
            why = f"{disk}: {exc.strerror or type(exc).__name__}"
        else:
            return
        self.host.logs.event(f"{doing} failed: {why}")
        raise DataConflict(why) from None


def _valid(name: str) -> str:
    from devstack.data.adapter import DataError
    from devstack.data.snapshot import check_name

    try:
        return check_name(name)
    except DataError as exc:
        raise BadRequest(str(exc)) from None


def _outcomes(outcomes: Iterable[Any]) -> list[DataOutcome]:
    return [DataOutcome(**o.to_json()) for o in outcomes]


class LogLines:
    """A text stream whose lines go to a backing service's log (the meter writes plain
    lines: not a terminal). Given `backings`, each line goes to the log of the one it
    names (`snapshot uploads (s3 on ministack): 3 items, ...`), others to `name`'s."""

    def __init__(self, logs: LogStore, name: str, backings: Iterable[str] = ()) -> None:
        self.logs, self.name, self.backings = logs, name, set(backings)

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                words = line.split(" ", 2)
                named = words[1] if len(words) > 1 and words[1] in self.backings else self.name
                self.logs.emit(named, 0, "stdout", line)
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False
