"""One provisioning call's bookkeeping, and its failures as one line each.

Every failure becomes one ProvisionError line naming the backing service, the resource and
the cause: an unreachable endpoint must read as such, not as a botocore traceback, and no
secret value may reach the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from devstack.providers.aws import CONNECT_TIMEOUT, READ_TIMEOUT, AwsTarget

# Values this short would blank out unrelated words of an error message, and are no secret.
_MIN_REDACTED = 4


@dataclass(frozen=True)
class ProvisionResult:
    """What one provisioning call did.

    `created` is True when the main resource (the bucket, the queue, the table, the topic)
    was created by this call; for ssm and secretsmanager, which have no main resource, when
    at least one parameter or secret was.
    """

    actions: tuple[str, ...]
    created: bool


class ProvisionError(Exception):
    """One line: the backing service, the resource and the cause. Never a secret value."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def _reason(error: object) -> str:
    text = str(error)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if any(
        s in lowered for s in ("name or service not known", "nodename nor servname", "resolution")
    ):
        return "host name not found"
    if "no route to host" in lowered:
        return "no route to host"
    if "timed out" in lowered:
        return "timed out"
    tail = text.rsplit(": ", 1)[-1].strip().rstrip(">").strip()
    return tail or "connection failed"


def _cause(exc: Exception, target: AwsTarget) -> str:
    kwargs: dict[str, Any] = getattr(exc, "kwargs", {}) or {}
    where = target.endpoint_url or _origin(kwargs.get("endpoint_url")) or target.where
    if isinstance(exc, ConnectTimeoutError):
        return f"cannot reach {where}: no answer within {CONNECT_TIMEOUT:g}s"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach {where}: {_reason(kwargs.get('error', exc))}"
    if isinstance(exc, ReadTimeoutError):
        return f"{where} did not answer within {READ_TIMEOUT:g}s"
    if isinstance(exc, ConnectionClosedError):
        return f"{where} closed the connection before answering"
    if isinstance(exc, ProfileNotFound):
        return f"AWS profile {target.profile!r} not found (~/.aws/config, ~/.aws/credentials)"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        if target.profile:
            return f"no AWS credentials in profile {target.profile!r}"
        return (
            "no AWS credentials: give the provider a profile, or set AWS_ACCESS_KEY_ID "
            "and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        message = str(error.get("Message") or "").strip()
        name = error_code(exc) or "error"
        return f"{exc.operation_name} failed: {name}" + (f": {message}" if message else "")
    return str(exc).strip() or type(exc).__name__


def _one_line(text: str, hide: tuple[str, ...]) -> str:
    for secret in hide:
        if len(secret) >= _MIN_REDACTED:
            text = text.replace(secret, "***")
    return " ".join(text.split())


@dataclass
class Run:
    """One provisioning (or checking) call: where, for whom, and what it did."""

    target: AwsTarget
    label: str
    actions: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.actions.append(line)

    def error(self, resource: str, cause: str, hide: tuple[str, ...] = ()) -> ProvisionError:
        return ProvisionError(_one_line(f"{self.label}: {resource}: {cause}", hide))

    @contextmanager
    def guard(self, resource: str, hide: tuple[str, ...] = ()) -> Iterator[None]:
        """Turns any botocore failure inside the block into one ProvisionError line."""
        try:
            yield
        except ProvisionError:
            raise
        except (BotoCoreError, ClientError) as exc:
            # `from None`: the line says everything; a chained botocore error could carry
            # request parameters (secret values) into a log.
            raise self.error(resource, _cause(exc, self.target), hide) from None
        except OSError as exc:  # a seed file that exists but cannot be read
            cause = f"cannot read {exc.filename}: {exc.strerror or exc}"
            raise self.error(resource, cause, hide) from None


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
