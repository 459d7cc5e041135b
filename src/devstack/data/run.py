"""The driver of snapshots, restores and carries: calls each backing service's adapter,
reports progress, turns provider errors into one line, and never half-writes a snapshot.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from devstack.data.adapter import DataError, DataOptions, DataTarget, RestorePlan
from devstack.data.progress import Meter
from devstack.data.registry import adapter_for
from devstack.data.snapshot import SnapshotReader, SnapshotStore

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
def _provider_errors(target: DataTarget, doing: str) -> Iterator[None]:
    """boto3's errors as one line naming the backing service and provider (the code and
    the operation only: an error message may quote a value)."""
    try:
        yield
    except EndpointConnectionError:
        where = target.aws.where if target.aws else target.provider
        raise DataError(
            f"{target.where}: cannot reach {where} while {doing}; is the stack up? (`devstack up`)"
        ) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise DataError(
            f"{target.where}: {exc.operation_name} failed ({code}) while {doing}"
        ) from None
    except BotoCoreError as exc:
        raise DataError(f"{target.where}: {type(exc).__name__} while {doing}") from None


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
            meter.start(f"snapshot {target.backing} ({target.kind} on {target.provider})")
            started = time.monotonic()
            with _provider_errors(target, "taking the snapshot"):
                adapter_for(target.kind).snapshot(target, out, opts)
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
    for target in targets.values():
        # A restore deletes what the snapshot lacks: never on a real account or server.
        if target.provider_type in REAL and not dry_run:
            raise DataError(
                f"{target.where}: {target.provider} is a real endpoint ({target.provider_type}); "
                "devstack restores only onto providers it runs (--dry-run still previews)"
            )
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
            more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
            raise DataError(
                f"{target.where}: restored, but differs from snapshot {snapshot.name}: "
                f"{left[0]}{more}; run the restore again"
            )
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
    Secrets and queued messages are carried: the data stays on this machine."""
    options = options or DataOptions(include_secrets=True, include_messages=True)
    name = f"carry-{int(time.time() * 1000)}"
    path, _ = take_snapshot(store, name, sources, options, meter, {"carry": True}, keep=False)
    try:
        return restore(SnapshotReader(path), destinations, options, meter)
    finally:
        import shutil

        shutil.rmtree(path, ignore_errors=True)
