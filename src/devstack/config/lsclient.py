"""What code written with localstack-client reaches, seen from one consumer's environment.

localstack-client 2.x (`import localstack_client.session as boto3`) sends every AWS service
to one endpoint: `AWS_ENDPOINT_URL` when set, else `LOCALSTACK_HOST` (host:port), else
localhost:4566. devstack sets `LOCALSTACK_HOST` for consumers of a LocalStack-compatible
provider, and `AWS_ENDPOINT_URL` only when all of a consumer's AWS bindings share one
endpoint. After a swap splits a consumer's bindings across providers, such code reaches
only one of them; `note()` says which, for `config show` and the swap preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_HOST = "localhost:4566"  # localstack-client's own default


@dataclass(frozen=True)
class AwsBinding:
    """One AWS backing service a consumer uses, and where that consumer reaches it."""

    backing: str
    provider: str
    url: str | None  # None: the real AWS endpoints


def host_port(url: str) -> str:
    """`LOCALSTACK_HOST` for an endpoint URL: host:port, the port spelled out."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname or 'localhost'}:{port}"


def reached(env: Mapping[str, str]) -> tuple[str, str]:
    """The one endpoint localstack-client uses for every service, and what chose it."""
    url = env.get("AWS_ENDPOINT_URL", "").strip()
    if url:
        return url, "AWS_ENDPOINT_URL"
    given = env.get("LOCALSTACK_HOST", "").strip()
    origin = "LOCALSTACK_HOST" if given else "its default"
    host, _, port = (given or DEFAULT_HOST).partition(":")
    scheme = "https" if env.get("USE_SSL") in ("1", "true") else "http"
    return f"{scheme}://{host or 'localhost'}:{port or 4566}", origin


def _same(a: str | None, b: str) -> bool:
    if a is None:
        return False
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port or 80) == (y.scheme, y.hostname, y.port or 80)


def note(service: str, env: Mapping[str, str], bindings: Sequence[AwsBinding]) -> str | None:
    """One line when `service`'s AWS bindings are on more than one endpoint, else None."""
    if len({b.url for b in bindings}) < 2:
        return None
    url, origin = reached(env)
    hit = [b for b in bindings if _same(b.url, url)]
    missed = ", ".join(f"{b.backing} on {b.provider}" for b in bindings if b not in hit)
    if hit:
        return (
            f"{service}: localstack-client code reaches only {hit[0].provider} "
            f"({url}, from {origin}): {missed} out of its reach"
        )
    return (
        f"{service}: localstack-client code reaches none of its providers "
        f"({url}, from {origin}): {missed} out of its reach"
    )
