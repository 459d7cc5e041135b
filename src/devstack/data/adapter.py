"""The adapter interface: what each kind implements to take part in snapshots, restores
and carries, and the values passed across it.

An adapter never decides which backing services take part nor prints anything: the
driver (`run.py`) calls it per backing service and reports progress. Every adapter is
idempotent in `apply`, so an interrupted restore is simply run again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from devstack.providers.aws import AwsTarget

if TYPE_CHECKING:
    from devstack.data.snapshot import BackingReader, BackingWriter


class DataError(Exception):
    """A snapshot, restore or carry that cannot go on: one line for the user, never a
    secret in it."""


@dataclass(frozen=True)
class DataTarget:
    """One backing service as its current provider serves it: what an adapter reads from
    or writes to."""

    backing: str  # the backing service's name in the manifest
    kind: str  # s3, dynamodb, ssm, secretsmanager, sqs, postgres, redis
    provider: str  # the provider's name (`ministack`, `moto`, `db`...)
    provider_type: str  # its type (`ministack`, `moto`, `localstack`, `process`...)
    # the manifest entry as JSON (bucket, table, path...); a postgres entry holds the
    # password, so it is not in the repr either
    resources: Mapping[str, Any] = field(repr=False)
    aws: AwsTarget | None = None  # AWS kinds: where the resources are
    # postgres / redis: the server's URL as this machine reaches it. It may carry the
    # password, so it is never printed (repr=False) nor written to a snapshot.
    url: str | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return f"{self.backing} ({self.kind} on {self.provider})"


class Progress(Protocol):
    """Told of each item moved; the driver turns it into a terminal line or plain lines."""

    def advance(self, items: int = 1, size: int = 0) -> None: ...


class NoProgress:
    def advance(self, items: int = 1, size: int = 0) -> None:
        return None


@dataclass(frozen=True)
class DataOptions:
    include_secrets: bool = False  # SecureString, Secrets Manager values, the DB password
    include_messages: bool = False  # sqs: read queued messages (see sqs.py for the cost)
    workers: int = 16  # concurrent requests per backing service
    # `data pull`: only keys starting with `prefix`, at most `limit` items (s3, dynamodb),
    # and what the target holds beyond the snapshot stays (a seed adds, never deletes)
    prefix: str | None = None
    limit: int | None = None
    keep_extra: bool = False
    progress: Progress = field(default_factory=NoProgress)


@dataclass
class RestorePlan:
    """What a restore would do on one backing service: counts for the preview, and the
    adapter's own work list for `apply` (opaque to everyone else)."""

    backing: str
    kind: str
    add: int = 0
    change: int = 0
    delete: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. "2 SecureString values left out"
    work: Any = None

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.delete)

    def counts(self) -> dict[str, int]:
        return {"add": self.add, "change": self.change, "delete": self.delete}


class Adapter(Protocol):
    """One kind's data. `kind` is the manifest's kind; the module `devstack.data.<kind>`
    exposes an instance as `ADAPTER` (see registry.py)."""

    kind: str

    def snapshot(self, target: DataTarget, out: BackingWriter, options: DataOptions) -> None:
        """Write every item of `target` to `out` (items, plus `out.info` for the shape the
        restore needs: a table's key schema...). Secret values only with
        `options.include_secrets`; otherwise `out.omit(key, reason)`."""

    def plan(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> RestorePlan:
        """Compare `target` with the snapshot: what to add, change and delete so that they
        become equal. Read-only."""

    def apply(
        self, target: DataTarget, snap: BackingReader, plan: RestorePlan, options: DataOptions
    ) -> None:
        """Carry out `plan` (idempotent: running it again after an interruption converges)."""

    def check(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> list[str]:
        """After `apply`: the differences left between `target` and the snapshot, one line
        each ([] when equal). Restore fails if any is left."""


@runtime_checkable
class DirectCarry(Protocol):
    """An adapter that can write a carry's destination while the source is being read,
    when the destination holds nothing a plan would compare with. The snapshot is still
    taken whole (every item with its sha256) and the destination checked against it."""

    def carry_plan(
        self, source: DataTarget, target: DataTarget, options: DataOptions
    ) -> RestorePlan | None:
        """A plan that only adds, when `target` holds nothing of the backing service yet
        (None otherwise: the ordinary snapshot, plan and restore). Read-only."""

    def carry_direct(
        self,
        source: DataTarget,
        target: DataTarget,
        out: BackingWriter,
        plan: RestorePlan,
        options: DataOptions,
    ) -> None:
        """Snapshot `source` into `out` (as `snapshot`) and write each item to `target`
        as it is read; `plan.add` ends as the items written. Running it again after an
        interruption is the ordinary restore's business: the target is no longer empty."""
