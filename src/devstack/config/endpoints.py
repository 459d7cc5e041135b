"""What resolving backing services produces, shared by its modules: where a provider
answers (`Endpoint`), a provider in use (`ProviderUse`), and the one error (`BackingProblem`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from devstack.model.desired import DesiredService

LOCAL_HOST = "127.0.0.1"
HOST_FROM_CONTAINER = "host.docker.internal"  # mapped to the host gateway in every container
EMULATOR_CREDENTIALS = ("test", "test")  # what LocalStack and friends expect
EMULATOR_PORT = 4566
PER_BACKING = ("container", "process")  # provider types that run one server per backing


class BackingProblem(Exception):
    """A backing-service configuration that cannot work; `path` locates it in the manifest."""

    def __init__(self, message: str, *path: str | int) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Endpoint:
    """Where a provider answers, seen from a host process and from a container."""

    host_url: str | None  # None: the real AWS endpoints (boto3 finds them)
    container_url: str | None
    region: str
    access_key_id: str | None = None
    secret_access_key: str | None = None
    profile: str | None = None
    account: str | None = None

    def url(self, consumer: str) -> str | None:
        return self.container_url if consumer == "docker" else self.host_url


@dataclass
class ProviderUse:
    """A provider that serves at least one backing service in this environment."""

    name: str
    type: str
    endpoint: Endpoint
    workload: DesiredService | None = None  # None: nothing to run (external, aws, a URL)
    relay: DesiredService | None = None
    kinds: set[str] = field(default_factory=set)
    provider: str = ""  # the declared provider; differs from `name` for a database server

    def __post_init__(self) -> None:
        self.provider = self.provider or self.name
