"""Declared AWS resources, created on a provider before the services that use them start.

Whichever AWS-compatible provider serves a backing service (MiniStack, moto, LocalStack,
a real account), its consumers must find the same buckets, queues, tables, parameters,
secrets and topics there, including right after a hot swap to a fresh provider. So
provisioning runs on every `up` and every swap, and is idempotent and additive: it creates
what is missing, brings settings that hold no data in line with the manifest, and never
deletes or overwrites data (a queue's messages, a table's rows, a parameter a developer
edited). Seed data goes in only when this call created the resource, so a restart never
brings back something a developer deleted on purpose.

One module per kind (`kinds/s3.py`, `kinds/sqs.py`...) says how to provision it and how to
tell what is missing; this registry maps a backing service's `kind` to its module, so
adding a kind is one module and one line here, with no isinstance ladder to extend.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from devstack.api.kinds import AWS_KINDS
from devstack.kinds import dynamodb, s3, secretsmanager, sns, sqs, ssm
from devstack.kinds.run import ProvisionError, ProvisionResult, Run
from devstack.providers.aws import AwsTarget

__all__ = ["HANDLERS", "KindModule", "ProvisionError", "ProvisionResult", "missing", "provision"]


class KindModule(Protocol):
    """What each kind's module offers (mypy checks the modules against it)."""

    def provision(self, run: Run, b: Any, root: Path, others: Mapping[str, Any]) -> bool:
        """Create what is missing; True when the main resource was created by this call."""

    def missing(self, run: Run, b: Any) -> list[str]:
        """The declared resources the target lacks."""


HANDLERS: Mapping[str, KindModule] = MappingProxyType(
    {
        "s3": s3,
        "sqs": sqs,
        "dynamodb": dynamodb,
        "ssm": ssm,
        "secretsmanager": secretsmanager,
        "sns": sns,
    }
)
assert set(HANDLERS) == set(AWS_KINDS), "every AWS kind has a module, and only those"

_NO_OTHERS: Mapping[str, Any] = MappingProxyType({})


def _handler(backing: Any, what: str) -> KindModule:
    kind = getattr(backing, "kind", type(backing).__name__)
    handler = HANDLERS.get(kind)
    if handler is None:
        raise TypeError(f"{kind} is not an AWS kind; {what}")
    return handler


def provision(
    target: AwsTarget,
    name: str,
    backing: Any,
    root: Path,
    *,
    others: Mapping[str, Any] = _NO_OTHERS,
) -> ProvisionResult:
    """Create what `backing` declares on `target` if missing; seed only what it created.

    `name` is the backing service's name (for messages), `root` the folder seed files are
    relative to, `others` the stack's other backing services by name (an SNS subscription
    names an sqs backing service, whose queue must be on the same target).
    """
    try:
        handler = _handler(backing, "nothing to provision")
    except TypeError as exc:
        raise TypeError(f"{name}: {exc}") from None
    run = Run(target, name)
    created = handler.provision(run, backing, root, others)
    return ProvisionResult(tuple(run.actions), created)


def missing(target: AwsTarget, backing: Any) -> list[str]:
    """Resources `backing` declares that `target` lacks, by cheap read-only calls; [] if none."""
    handler = _handler(backing, "nothing to check")
    return handler.missing(Run(target, backing.kind), backing)
