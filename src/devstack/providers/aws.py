"""Where declared resources go, and the boto3 clients that reach it.

Every AWS-compatible provider (MiniStack, moto, LocalStack, a real account) is reached the
same way: a boto3 client with short timeouts, shared per target. On a LocalStack-compatible
provider the clients come from localstack-client's Session, the library the stacks' own
code is meant to use there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# Emulators accept any key pair. A fixed dummy one keeps real credentials found in the
# developer's environment from being sent to a local endpoint.
EMULATOR_KEY = "test"

_DEFAULT_SESSION_LOCK = threading.Lock()


@dataclass(frozen=True)
class AwsTarget:
    """Where declared resources go: an AWS-compatible endpoint, or AWS itself."""

    endpoint_url: str | None  # None: real AWS (boto3's default endpoints)
    region: str
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    profile: str | None = None
    # LocalStack or MiniStack: clients come from localstack-client (see _localstack_session).
    localstack: bool = False

    def client(
        self,
        service: str,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        max_attempts: int = 2,
    ) -> Any:
        """A boto3 client with short timeouts, shared per (target, service, timeouts)."""
        return _client(self, service, connect_timeout, read_timeout, max_attempts)

    @property
    def where(self) -> str:
        return self.endpoint_url or f"AWS ({self.region})"


@lru_cache(maxsize=64)
def _client(
    target: AwsTarget, service: str, connect_timeout: float, read_timeout: float, max_attempts: int
) -> Any:
    # Imported here, not at the top: boto3 costs 0.25 s to import, and the daemon loads
    # this module (through swap -> data.adapter) on every cold `up`, AWS or not.
    import boto3
    from botocore.config import Config

    key, secret = target.access_key_id, target.secret_access_key
    if target.endpoint_url and target.profile is None and key is None and secret is None:
        key = secret = EMULATOR_KEY
    session: Any
    if target.localstack and target.endpoint_url:
        session = _localstack_session(target.endpoint_url, key, secret, target.region)
    else:
        # A session of its own: boto3's default session is module-global state other code
        # (and other targets) would share, and sessions are not thread-safe.
        session = boto3.session.Session(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            profile_name=target.profile,
            region_name=target.region,
        )
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        # Virtual-host addressing would send bucket.127.0.0.1 / bucket.localhost to an
        # emulator; path style works on all of them.
        s3={"addressing_style": "path"} if target.endpoint_url else None,
    )
    if target.localstack and target.endpoint_url:
        # localstack-client makes its clients from boto3's module-global default session,
        # which is not safe to use from two threads at once (nodes provision in parallel).
        with _DEFAULT_SESSION_LOCK:
            return session.client(service, config=config)  # the session sets the endpoint
    return session.client(service, endpoint_url=target.endpoint_url, config=config)


def _localstack_session(url: str, key: str | None, secret: str | None, region: str) -> Any:
    """A localstack-client Session whose every service goes to `url`, whatever the
    daemon's own environment says.

    Left to itself the Session prefers AWS_ENDPOINT_URL (then LOCALSTACK_HOST) from the
    process environment over its `localstack_host` argument, and a developer who works
    with LocalStack may well have one exported: provisioning would then create the
    resources on that endpoint instead of on the provider the consumers are bound to.
    So the endpoint mapping the Session built is replaced by the provider's URL.
    """
    from localstack_client.session import Session

    session = Session(
        aws_access_key_id=key or EMULATOR_KEY,
        aws_secret_access_key=secret or EMULATOR_KEY,
        region_name=region,
        localstack_host=urlsplit(url).netloc,
    )
    mapping: dict[str, str] = session._service_endpoint_mapping
    session._service_endpoint_mapping = dict.fromkeys(mapping, url)
    return session
