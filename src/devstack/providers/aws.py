"""Where declared resources go, and the boto3 clients that reach it.

Every AWS-compatible provider (MiniStack, moto, LocalStack, a real account) is reached the
same way: a boto3 client with short timeouts, shared per target. On a LocalStack-compatible
provider the clients come from localstack-client's Session, the library the stacks' own
code is meant to use there.

Making a client is the costly part (botocore loads and parses the service's model, its
endpoint rules and the partitions: 0.1-0.3 s), so every session made here reads its
models through one shared loader, and the emulators' clients, whose credentials are
given explicitly, all come from one session. A botocore session is not thread-safe:
clients are made under one lock (the clients themselves are).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# Emulators accept any key pair. A fixed dummy one keeps real credentials found in the
# developer's environment from being sent to a local endpoint.
EMULATOR_KEY = "test"

if TYPE_CHECKING:
    from botocore.loaders import Loader

# Held while any client or session is made: botocore sessions (boto3's module-global
# default one included, which localstack-client uses) and the loader they share are not
# safe to use from two threads at once (nodes provision in parallel).
_SESSION_LOCK = threading.Lock()
_shared: dict[str, Any] = {}  # "loader", "session": made on first use, under the lock


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
        validate: bool = True,
    ) -> Any:
        """A boto3 client with short timeouts, shared per (target, service, timeouts...).
        validate=False: botocore does not check each request against the service model
        first (a third of its CPU per request), for callers whose requests are built from
        what the service itself returned; the service still refuses a bad one."""
        return _client(self, service, connect_timeout, read_timeout, max_attempts, validate)

    @property
    def where(self) -> str:
        return self.endpoint_url or f"AWS ({self.region})"


@lru_cache(maxsize=64)
def _client(
    target: AwsTarget,
    service: str,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
    validate: bool = True,
) -> Any:
    # Imported here, not at the top: boto3 costs 0.25 s to import, and the daemon loads
    # this module (through swap -> data.adapter) on every cold `up`, AWS or not.
    import boto3
    from botocore.config import Config

    key, secret = target.access_key_id, target.secret_access_key
    if target.endpoint_url and target.profile is None and key is None and secret is None:
        key = secret = EMULATOR_KEY
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        parameter_validation=validate,
        # Virtual-host addressing would send bucket.127.0.0.1 / bucket.localhost to an
        # emulator; path style works on all of them.
        s3={"addressing_style": "path"} if target.endpoint_url else None,
    )
    with _SESSION_LOCK:
        if target.localstack and target.endpoint_url:
            session = _localstack_session(target.endpoint_url, key, secret, target.region)
            if boto3.DEFAULT_SESSION is None:
                # localstack-client makes its clients from boto3's default session: made
                # here on the shared loader, unless other code has set one up already.
                _shared_boto3_session(boto3, default=True)
            return session.client(service, config=config)  # the session sets the endpoint
        if target.profile is None and key is not None and secret is not None:
            # Credentials and region given with each client: one session serves every
            # such target. It is private to this module, not boto3's default session,
            # which is module-global state other code may configure.
            if "session" not in _shared:
                _shared["session"] = _shared_boto3_session(boto3, default=False)
            return _shared["session"].client(
                service,
                endpoint_url=target.endpoint_url,
                region_name=target.region,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                config=config,
            )
        # A profile (or the environment's credentials): a session of its own, which
        # resolves them (real AWS: not on a carry's hot path).
        own = boto3.session.Session(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            profile_name=target.profile,
            region_name=target.region,
        )
        return own.client(service, endpoint_url=target.endpoint_url, config=config)


def _shared_boto3_session(boto3: Any, default: bool) -> Any:
    """The module's own shared session, or (default=True) boto3's default one made on the
    shared loader; called with _SESSION_LOCK held."""
    import botocore.session

    core = botocore.session.Session()
    loader: Loader | None = _shared.get("loader")
    if loader is None:  # the first session's own, made as botocore makes it (AWS_DATA_PATH)
        _shared["loader"] = loader = core.get_component("data_loader")
    else:
        core.register_component("data_loader", loader)
    if default:
        boto3.setup_default_session(botocore_session=core)
        session = boto3.DEFAULT_SESSION
    else:
        session = boto3.session.Session(botocore_session=core)
    # Each boto3 session appends boto3's data directory to its loader's search path.
    paths = loader.search_paths
    paths[:] = list(dict.fromkeys(paths))
    return session


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
