"""The driver of snapshots, restores and carries: calls each backing service's adapter,
reports progress, turns provider errors into one line, and never half-writes a snapshot.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from devstack.data.adapter import DataError, DataOptions, DataTarget, DirectCarry, RestorePlan
from devstack.data.progress import Meter
from devstack.data.registry import adapter_for
from devstack.data.snapshot import BackingWriter, SnapshotReader, SnapshotStore

REAL = frozenset({"aws", "external"})  # provider types devstack never writes data to


@dataclass
class Outcome:
    """What happened to one backing service: the `--json` summary's rows."""

    backing: str
    kind: str
    provider: str
    items: int = 0
    bytes: int = 0
    seconds: float = 0.0
    add: int = 0
    change: int = 0
    delete: int = 0
    omitted: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@contextlib.contextmanager
def _provider_errors(target: DataTarget, doing: str, *, label: str | None = None) -> Iterator[None]:
    """boto3's errors as one line naming the backing service and provider (the code and
    the operation only: an error message may quote a value). `label`: a carry's direct
    copy, which talks to two providers, names both."""
    what = label or target.where
    try:
        yield
    except EndpointConnectionError as exc:
        where = target.aws.where if target.aws else target.provider
        if label is not None:  # which of the two: the URL's host and port, not its path
            url = urlsplit(str(exc.kwargs.get("endpoint_url", "")))
            where = f"{url.scheme}://{url.netloc}" if url.netloc else where
        raise DataError(
            f"{what}: cannot reach {where} while {doing}; is the stack up? (`devstack up`)"
        ) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise DataError(f"{what}: {exc.operation_name} failed ({code}) while {doing}") from None
    except BotoCoreError as exc:
        raise DataError(f"{what}: {type(exc).__name__} while {doing}") from None


def _reachable(targets: Mapping[str, DataTarget]) -> None:
    """Each local endpoint answers a TCP connect, before anything starts: a provider that
    is not running fails at once, not after the SDK's retries."""
    for target in targets.values():
        url = target.aws.endpoint_url if target.aws else None
        parts = urlsplit(url) if url else None
        if parts is None or parts.hostname is None:
            continue
        try:
            socket.create_connection((parts.hostname, parts.port or 80), timeout=2).close()
        except OSError:
            raise DataError(
                f"{target.where}: cannot reach {url}; is the stack up? (`devstack up`)"
            ) from None


def take_snapshot(
    store: SnapshotStore,
    name: str,
    targets: Mapping[str, DataTarget],
    options: DataOptions,
    meter: Meter,
    header: Mapping[str, Any],
    *,
    keep: bool = True,
) -> tuple[Path, list[Outcome]]:
    """Snapshot `targets` into `name`; with keep=False the snapshot stays in its temporary
    directory (a carry's), which the caller discards."""

    def take(target: DataTarget, out: BackingWriter, opts: DataOptions) -> None:
        meter.start(f"snapshot {target.backing} ({target.kind} on {target.provider})")
        with _provider_errors(target, "taking the snapshot"):
            adapter_for(target.kind).snapshot(target, out, opts)

    return _snapshot(store, name, targets, options, meter, header, keep, take)


Take = Callable[[DataTarget, BackingWriter, DataOptions], None]


def _snapshot(
    store: SnapshotStore,
    name: str,
    targets: Mapping[str, DataTarget],
    options: DataOptions,
    meter: Meter,
    header: Mapping[str, Any],
    keep: bool,
    take: Take,
) -> tuple[Path, list[Outcome]]:
    """The snapshot's frame: `take(target, out, options)` fills each backing service's
    part; the manifest is written once all are, or the whole is discarded."""
    opts = replace(options, progress=meter)
    header = dict(header) | {
        "include_secrets": options.include_secrets,
        "include_messages": options.include_messages,
    }
    _reachable(targets)
    writer = store.create(name, header)
    outcomes = []
    try:
        for target in targets.values():
            out = writer.backing(target.backing, target.kind, target.provider, target.provider_type)
            started = time.monotonic()
            take(target, out, opts)
            meter.finish()
            outcomes.append(
                Outcome(
                    target.backing, target.kind, target.provider,
                    items=meter.items, bytes=meter.size,
                    seconds=round(time.monotonic() - started, 3),
                    omitted=len(out.omitted_keys()), notes=list(out.notes),
                )
            )  # fmt: skip
        path = writer.commit(rename=keep)
    except BaseException:
        writer.discard()
        raise
    return path, outcomes


def _refuse_real(targets: Mapping[str, DataTarget]) -> None:
    for target in targets.values():
        # A restore deletes what the snapshot lacks: never on a real account or server.
        if target.provider_type in REAL:
            raise DataError(
                f"{target.where}: {target.provider} is a real endpoint ({target.provider_type}); "
                "devstack restores only onto providers it runs (--dry-run still previews)"
            )


def _differs(target: DataTarget, snapshot: str, left: list[str]) -> DataError:
    more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
    return DataError(
        f"{target.where}: restored, but differs from snapshot {snapshot}: "
        f"{left[0]}{more}; run the restore again"
    )


def restore(
    snapshot: SnapshotReader,
    targets: Mapping[str, DataTarget],
    options: DataOptions,
    meter: Meter,
    *,
    dry_run: bool = False,
) -> list[Outcome]:
    """Make each target equal to the snapshot's backing service of the same name; with
    dry_run, only the counts. Every plan is made before anything is written."""
    backings = snapshot.backings()
    opts = replace(options, progress=meter)
    if not dry_run:
        _refuse_real(targets)
    _reachable(targets)
    plans: list[tuple[DataTarget, RestorePlan]] = []
    for target in targets.values():
        snap = backings.get(target.backing)
        if snap is None:
            raise DataError(
                f"snapshot {snapshot.name} holds no backing service {target.backing} "
                f"(it holds: {', '.join(backings) or 'none'})"
            )
        if snap.kind != target.kind:
            raise DataError(
                f"snapshot {snapshot.name}: {target.backing} was {snap.kind}, it is now {target.kind}"
            )
        with _provider_errors(target, "comparing with the snapshot"):
            plans.append((target, adapter_for(target.kind).plan(target, snap, opts)))
    outcomes = []
    for target, plan in plans:
        snap = backings[target.backing]
        outcome = Outcome(
            target.backing, target.kind, target.provider,
            add=plan.add, change=plan.change, delete=plan.delete,
            omitted=len(snap.omitted), notes=list(plan.notes),
        )  # fmt: skip
        outcomes.append(outcome)
        if dry_run or plan.empty:
            continue
        adapter = adapter_for(target.kind)
        meter.start(f"restore {target.backing} ({target.kind} on {target.provider})")
        started = time.monotonic()
        with _provider_errors(target, "restoring"):
            adapter.apply(target, snap, plan, opts)
            left = adapter.check(target, snap, opts)
        meter.finish()
        outcome.items, outcome.bytes = meter.items, meter.size
        outcome.seconds = round(time.monotonic() - started, 3)
        if left:
            raise _differs(target, snapshot.name, left)
    return outcomes


def carry(
    store: SnapshotStore,
    sources: Mapping[str, DataTarget],
    destinations: Mapping[str, DataTarget],
    meter: Meter,
    options: DataOptions | None = None,
) -> list[Outcome]:
    """Copy each source backing service's data to its destination (a swap's new
    provider): a snapshot kept in a private temporary directory, restored, removed.
    Secrets and queued messages are carried: the data stays on this machine.

    A destination that holds nothing yet (its adapter says so, cheaply: `DirectCarry`)
    is written while its source is read, so the copy overlaps the reading; the snapshot
    is taken whole all the same and the destination checked against it. Those plans are
    made first; the others' (ordinary restore) after the direct copies, as a restore's."""
    options = options or DataOptions(include_secrets=True, include_messages=True)
    opts = replace(options, progress=meter)
    _refuse_real(destinations)
    _reachable(sources)
    _reachable(destinations)
    direct: dict[str, tuple[DirectCarry, RestorePlan]] = {}
    for backing, source in sources.items():
        adapter, target = adapter_for(source.kind), destinations.get(backing)
        if target is None or not isinstance(adapter, DirectCarry):
            continue
        with _provider_errors(target, "comparing with the source"):
            plan = adapter.carry_plan(source, target, opts)
        if plan is not None:
            direct[backing] = (adapter, plan)

    def take(source: DataTarget, out: BackingWriter, opts: DataOptions) -> None:
        if source.backing not in direct:
            meter.start(f"snapshot {source.backing} ({source.kind} on {source.provider})")
            with _provider_errors(source, "taking the snapshot"):
                adapter_for(source.kind).snapshot(source, out, opts)
            return
        adapter, plan = direct[source.backing]
        target = destinations[source.backing]
        label = f"{source.backing} ({source.kind}, {source.provider} -> {target.provider})"
        meter.start(f"carry {label}")
        with _provider_errors(source, "carrying", label=label):
            adapter.carry_direct(source, target, out, plan, opts)

    name = f"carry-{int(time.time() * 1000)}"
    header = {"carry": True}
    path, taken = _snapshot(store, name, sources, options, meter, header, False, take)
    try:
        snapshot = SnapshotReader(path)
        backings = snapshot.backings()
        outcomes = {o.backing: o for o in taken if o.backing in direct}
        for backing, (_, plan) in direct.items():
            target = destinations[backing]
            started = time.monotonic()
            with _provider_errors(target, "checking the copy"):
                left = adapter_for(target.kind).check(target, backings[backing], opts)
            if left:
                raise _differs(target, snapshot.name, left)
            outcome = outcomes[backing]
            outcome.provider, outcome.add = target.provider, plan.add
            outcome.seconds = round(outcome.seconds + time.monotonic() - started, 3)
        rest = {b: t for b, t in destinations.items() if b not in direct}
        if rest:
            outcomes.update((o.backing, o) for o in restore(snapshot, rest, options, meter))
        return [outcomes[b] for b in sources if b in outcomes]
    finally:
        import shutil

        shutil.rmtree(path, ignore_errors=True)
