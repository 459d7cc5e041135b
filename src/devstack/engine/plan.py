"""Plans: ordered operations, each carrying the cause that made the reconciler ask for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from devstack.engine.causes import Cause, Reason

OpKind = Literal["start", "stop", "restart", "remove"]


@dataclass(frozen=True)
class Operation:
    kind: OpKind
    service: str
    replica: int
    cause: Cause  # renders (str) to the text plans and logs show
    after: tuple[str, ...] = ()  # only in projected plans: what this step waits for

    @property
    def target(self) -> str:
        suffix = f"#{self.replica}" if self.replica else ""
        return f"service:{self.service}{suffix}"


@dataclass(frozen=True)
class Waiting:
    """A service the reconciler holds back this pass, and why."""

    service: str
    reason: Reason


@dataclass(frozen=True)
class Plan:
    operations: tuple[Operation, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    requeue_at: float | None = None  # when a held-back restart (backoff) becomes due

    def __bool__(self) -> bool:
        return bool(self.operations)


@dataclass
class ProjectedPlan:
    """Every step `up` would take, across the passes that health gating implies."""

    operations: list[Operation] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)

    def render(self) -> str:
        if not self.operations:
            lines = ["nothing to do: the stack matches the manifest"]
        else:
            lines = []
            for index, op in enumerate(self.operations, start=1):
                after = f" (after {', '.join(op.after)})" if op.after else ""
                lines.append(f"#{index} {op.kind} {op.target}, {op.cause}{after}")
        lines.extend(f"waiting {w.service}: {w.reason}" for w in self.waiting)
        return "\n".join(lines)
