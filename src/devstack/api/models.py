"""Wire models of the daemon API, shared by the server, the CLI and (later) the TUI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel as _PydanticModel
from pydantic import ConfigDict, Field


class BaseModel(_PydanticModel):
    """A wire model. Its validator is built on first use, not at import: the daemon starts
    services before it serves (or even imports) the API that uses most of these."""

    model_config = ConfigDict(defer_build=True)


class RequestModel(_PydanticModel):
    """A request body, built at import: FastAPI wraps a body parameter in an Annotated
    alias, which a deferred model would only resolve later, with a pydantic warning."""


if TYPE_CHECKING:
    from devstack.model.desired import EnvVar

API_VERSION = "v1"
MASK = "********"  # what a secret value shows as, unless asked for

ServiceState = Literal[
    "running",
    "starting",
    "unhealthy",
    "waiting",
    "stopped",
    "exited",
    "completed",
    "restarting",
    "failed",
    "orphan",
    "retiring",
]


class ServiceStatus(BaseModel):
    name: str
    runtime: str
    state: ServiceState
    health: Literal["none", "starting", "healthy", "unhealthy"]
    restarts: int
    pid: int | None
    ports: list[int]
    spec_hash: str
    url: str | None = None
    replicas: int = Field(default=1, description="Instances wanted (manifest or `scale`)")
    running: int = Field(default=0, description="Instances running now")
    started_at: float | None = None
    exit_code: int | None = None
    reason: str | None = Field(default=None, description="Why the service is waiting or failed")


class EngineInfo(BaseModel):
    """The Docker engine the stack's containers run on."""

    host: str = Field(description="unix:///var/run/docker.sock, ssh://user@host[:port], ...")
    kind: Literal["local", "ssh", "tcp"]
    source: str = Field(description="Where the choice came from: DOCKER_HOST, --context NAME...")
    connected: bool = Field(description="False while the SSH connection is lost or not made")
    forwards: list[str] = Field(
        default_factory=list,
        description="Published ports forwarded here over SSH: `127.0.0.1:8080 -> engine:32768`",
    )


class StackStatus(BaseModel):
    stack: str
    environment: str
    manifest: str
    daemon_pid: int
    services: list[ServiceStatus]
    problems: list[str] = Field(
        default_factory=list,
        description="Why the last edit of the manifest was not applied (live reload), and "
        "disk trouble (`disk full: … logs are being dropped`)",
    )
    release: str | None = Field(default=None, description="The release running, if pinned")
    recovered: list[str] = Field(
        default_factory=list,
        description="State files found corrupt: moved aside and rebuilt from what runs",
    )
    real: list[str] = Field(
        default_factory=list,
        description="Backing services pointing at real endpoints: `NAME -> PROVIDER (WHERE)`",
    )
    engine: EngineInfo | None = Field(
        default=None, description="The Docker engine of the stack's containers, if it has any"
    )


class PlanStep(BaseModel):
    kind: str
    target: str
    cause: str
    after: list[str] = Field(default_factory=list)


class PlanResponse(BaseModel):
    steps: list[PlanStep]
    waiting: list[str] = Field(default_factory=list)
    text: str
    problems: list[str] = Field(
        default_factory=list, description="Trouble the stack has now (a full disk), for `up`"
    )


class UpRequest(RequestModel):
    environment: str | None = None
    remove_orphans: bool = False
    dry_run: bool = False
    build: bool = Field(
        default=False, description="Rebuild images even when the context is unchanged"
    )
    release: str | None = Field(
        default=None, description="Run this recorded release instead of the manifest"
    )
    profiles: list[str] | None = Field(
        default=None,
        description="Compose profiles to enable (exactly these); null: the ones in use",
    )
    engine: dict[str, object] | None = Field(
        default=None,
        description="The Docker engine asked for: {context, env: {DOCKER_HOST, DOCKER_CONTEXT, "
        "DOCKER_CONFIG, HOME}} (the choice is the daemon's: see runtimes/engine_target.py)",
    )


class ScaleRequest(RequestModel):
    replicas: int = Field(ge=0, le=100)


class ErrorResponse(BaseModel):
    error: str = Field(description="One line: what went wrong, naming the culprit")
    problems: list[str] = Field(default_factory=list, description="Located manifest problems")
    log: str | None = Field(
        default=None,
        description="An unexpected error (500): the daemon log holding its traceback",
    )


class ActionResponse(BaseModel):
    ok: bool = True
    message: str = ""


class LogLineModel(BaseModel):
    seq: int
    ts: float
    service: str
    replica: int
    stream: Literal["stdout", "stderr", "event"]
    text: str


class ConfigVar(BaseModel):
    name: str
    value: str
    source: str
    secret: bool
    masked: bool

    @classmethod
    def listing(cls, env: Iterable[EnvVar], show_secrets: bool) -> list[ConfigVar]:
        """A service's variables by name, secrets masked unless asked for (API and CLI)."""
        return [
            cls(
                name=var.name,
                value=MASK if var.secret and not show_secrets else var.value,
                source=str(var.source),
                secret=var.secret,
                masked=var.secret and not show_secrets,
            )
            for var in sorted(env, key=lambda v: v.name)
        ]


class ServiceConfig(BaseModel):
    service: str
    environment: str
    variables: list[ConfigVar]
    notes: list[str] = Field(
        default_factory=list,
        description="One-line remarks, e.g. what localstack-client code cannot reach",
    )


class SwapRequest(RequestModel):
    backing: str | None = None
    provider: str | None = None
    undo: bool = Field(default=False, description="Revert the backing service's last swap")
    reset: bool = Field(default=False, description="Revert every swap")
    dry_run: bool = False
    timeout: float = Field(default=120.0, description="How long the new provider may take")
    confirm_real: bool = Field(
        default=False,
        description="Needed to point at an external endpoint or a real AWS account; "
        "without it such a swap only answers with what it would touch",
    )
    carry: bool = Field(
        default=False,
        description="Copy the moved backing services' data to the new provider before the "
        "consumers restart (docs/backing-data.md)",
    )


class EnvChange(BaseModel):
    service: str
    name: str
    old: str | None
    new: str | None


class CarryOutcome(BaseModel):
    backing: str
    kind: str
    source: str = Field(description="The provider the data comes from")
    destination: str = Field(description="The provider it is copied to")
    items: int | None = Field(
        default=None, description="Items copied (a dry run: found on the source; None: unknown)"
    )
    bytes: int | None = None
    seconds: float | None = None


class SwapResponse(BaseModel):
    applied: bool
    message: str
    swaps: dict[str, str] = Field(description="Backing service -> provider, after this call")
    moves: dict[str, list[str]] = Field(
        default_factory=dict, description="Backing service -> [old provider, new provider]"
    )
    restarts: list[str] = Field(default_factory=list, description="Services that restart")
    env_changes: list[EnvChange] = Field(default_factory=list)
    real: list[str] = Field(
        default_factory=list, description="Real endpoints or accounts this swap points at"
    )
    notes: list[str] = Field(
        default_factory=list,
        description="One line per restarted service whose AWS bindings end up split "
        "across providers: which one localstack-client code reaches",
    )
    plan: str = ""
    carry: list[CarryOutcome] = Field(
        default_factory=list,
        description="With `carry`: each backing service whose data is (or would be) copied",
    )


class BackingStatus(BaseModel):
    name: str
    kind: str
    provider: str
    provider_type: str
    endpoint: str | None
    region: str | None
    health: str
    state: str
    resources: dict[str, object]
    consumers: list[str]
    swapped: bool = False
    real: bool = Field(
        default=False, description="Points at a real endpoint (an AWS account, a remote URL)"
    )
    reason: str | None = None
    runs_on: str | None = Field(
        default=None,
        description="Where its emulator or server runs: `this machine` (a host process), the "
        "Docker engine's host (a container), None for an external endpoint or AWS",
    )


class SnapshotInfo(BaseModel):
    """A snapshot of the stack's backing data, as `devstack data list` shows it."""

    name: str
    created: str
    backings: dict[str, str] = Field(description="Backing service -> kind")
    items: int
    size: int = Field(description="Bytes of item data")
    include_secrets: bool = Field(description="Taken with secret values kept")


class SnapshotRequest(RequestModel):
    name: str | None = Field(default=None, description="Default: the time (UTC, YYYYmmdd-HHMMSS)")
    backings: list[str] = Field(
        default_factory=list, description="Default: every backing service that holds data"
    )
    include_secrets: bool = Field(
        default=False, description="Keep SecureString and Secrets Manager values"
    )
    include_messages: bool = Field(
        default=False, description="Copy queued SQS messages (read, then made visible again)"
    )


class RestoreRequest(RequestModel):
    backings: list[str] = Field(
        default_factory=list, description="Default: every backing service in the snapshot"
    )
    dry_run: bool = Field(default=False, description="Only the counts to add, change, delete")


class DataOutcome(BaseModel):
    """One backing service's part of a snapshot or restore (counts and keys, no value)."""

    backing: str
    kind: str
    provider: str
    items: int = 0
    bytes: int = 0
    seconds: float = 0.0
    add: int = 0
    change: int = 0
    delete: int = 0
    omitted: int = Field(default=0, description="Secret values left out")
    notes: list[str] = Field(default_factory=list)


class DataResponse(BaseModel):
    snapshot: str
    message: str
    dry_run: bool = False
    backings: list[DataOutcome]
