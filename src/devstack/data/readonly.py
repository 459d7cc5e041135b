"""A source that can only be read: the clients `devstack data pull` uses on staging.

Every boto3 call goes through botocore's `before-call` event; the guard lets through only
operations on an allow-list of reads and raises `WriteRefused` for anything else, before a
request is signed or sent. So a bug in an adapter (or a new one) cannot write to staging:
the refusal is one line naming the service and operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack.data.adapter import DataError
from devstack.providers.aws import AwsTarget

# Operation names that only read. SQS ReceiveMessage is left out on purpose: it hides the
# messages it returns (a write to the queue's state), so a pull never reads queued messages.
READ_PREFIXES = ("List", "Get", "Describe", "Head")
READ_OPERATIONS = frozenset({"Scan", "Query", "BatchGetItem"})


class WriteRefused(DataError):
    """An operation outside the allow-list of reads was attempted on a read-only source."""


def allowed(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or operation in READ_OPERATIONS


def guard(client: Any, where: str) -> Any:
    """Make `client` refuse every operation that is not a read; returns it."""
    service = client.meta.service_model.service_name

    def before_call(model: Any, **_: Any) -> None:
        if not allowed(model.name):
            raise WriteRefused(
                f"refused {service} {model.name} on {where}: the source of a pull is only "
                "read (List*, Get*, Describe*, Head*, Scan, Query, BatchGetItem)"
            )

    client.meta.events.register(
        f"before-call.{service}", before_call, unique_id="devstack-read-only"
    )
    return client


@dataclass(frozen=True)
class ReadOnlyTarget(AwsTarget):
    """An AwsTarget whose clients only read. Clients are cached per target (aws.py); a
    ReadOnlyTarget never equals a plain one, so it never shares a writable client."""

    def client(
        self,
        service: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 2,
        validate: bool = True,
    ) -> Any:
        made = super().client(
            service,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
            validate=validate,
        )
        return guard(made, self.where)  # registering twice is a no-op (unique_id)


def read_only(target: AwsTarget) -> ReadOnlyTarget:
    return ReadOnlyTarget(
        endpoint_url=target.endpoint_url,
        region=target.region,
        access_key_id=target.access_key_id,
        secret_access_key=target.secret_access_key,
        profile=target.profile,
        localstack=target.localstack,
    )
