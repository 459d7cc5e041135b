"""Backing services and providers as the manifest declares them (twelve-factor IV).

A backing service is an attached resource of a *kind* (a bucket, a queue, a table, a
database...) with the resources it must hold declared next to it. A provider is what
realises it: an emulator (LocalStack, MiniStack, moto), a container or host binary, or an
existing endpoint. Services bind to backing services with `uses:`; which provider serves
a backing service is configuration only, so it can be swapped without touching code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from devstack.model.durations import parse_duration
from devstack.model.manifest_base import Model

# The tag `latest` needs an auth token since March 2026; 4.14 is the last community tag.
LOCALSTACK_IMAGE = "localstack/localstack:4.14"
DEFAULT_REGION = "us-east-1"

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_QUEUE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_PG_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_bucket_name(name: str) -> str:
    """AWS's general-purpose bucket naming rules, so a name LocalStack accepts works on AWS."""
    if not _BUCKET.match(name):
        raise ValueError(
            f"invalid bucket name {name!r}: 3-63 characters of lowercase letters, digits, "
            "'.' and '-', starting and ending with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        raise ValueError(f"invalid bucket name {name!r}: no '..', '.-' or '-.'")
    if _IP_LIKE.match(name):
        raise ValueError(f"invalid bucket name {name!r}: must not look like an IP address")
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(
        ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
    ):
        raise ValueError(f"invalid bucket name {name!r}: uses a prefix or suffix AWS reserves")
    return name


def _check(pattern: re.Pattern[str], name: str, what: str, rule: str) -> str:
    if not pattern.match(name):
        raise ValueError(f"invalid {what} {name!r}: {rule}")
    return name


def _duration_seconds(value: Any) -> int:
    return round(parse_duration(value))


class _Backing(Model):
    provider: str | None = Field(
        default=None, description="Provider name; default: ministack for AWS kinds"
    )


# --- AWS kinds ------------------------------------------------------------------------


class CorsRule(Model):
    allowed_origins: list[str] = Field(min_length=1)
    allowed_methods: list[Literal["GET", "PUT", "POST", "DELETE", "HEAD"]] = Field(min_length=1)
    allowed_headers: list[str] = Field(default_factory=list)
    expose_headers: list[str] = Field(default_factory=list)
    max_age: int | None = Field(default=None, ge=0)


class S3Seed(Model):
    files: dict[str, str] = Field(
        default_factory=dict, description="Object key -> file (relative to the manifest)"
    )


class S3Backing(_Backing):
    kind: Literal["s3"]
    bucket: str
    versioning: bool = False
    cors: list[CorsRule] = Field(default_factory=list)
    seed: S3Seed | None = None

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return check_bucket_name(value)


class DeadLetter(Model):
    queue: str | None = Field(default=None, description="Default: the queue's name + -dlq")
    max_receives: int = Field(default=3, ge=1, le=1000)


class SqsSeed(Model):
    messages: list[str] = Field(default_factory=list)


class SqsBacking(_Backing):
    kind: Literal["sqs"]
    queue: str
    fifo: bool = Field(default=False, description="FIFO queue; the name must end in .fifo")
    dead_letter: DeadLetter | None = None
    visibility_timeout: Annotated[int, Field(ge=0, le=43200)] | None = None
    seed: SqsSeed | None = None

    @field_validator("visibility_timeout", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        return None if value is None else _duration_seconds(value)

    @model_validator(mode="after")
    def _names(self) -> SqsBacking:
        for name in [self.queue, self.dead_letter_queue or self.queue]:
            base = name.removesuffix(".fifo")
            if not _QUEUE.match(base):
                raise ValueError(
                    f"invalid queue name {name!r}: up to 80 letters, digits, '-' and '_'"
                    + (" (plus .fifo)" if self.fifo else "")
                )
            if name.endswith(".fifo") != self.fifo:
                raise ValueError(
                    f"queue {name!r}: a FIFO queue's name ends in .fifo and needs fifo: true"
                )
        return self

    @property
    def dead_letter_queue(self) -> str | None:
        if self.dead_letter is None:
            return None
        if self.dead_letter.queue:
            return self.dead_letter.queue
        base = self.queue.removesuffix(".fifo")
        return f"{base}-dlq.fifo" if self.fifo else f"{base}-dlq"


KeyType = Literal["S", "N", "B"]
KeySchema = Annotated[dict[str, KeyType], Field(min_length=1, max_length=2)]


class GlobalIndex(Model):
    name: Annotated[str, Field(min_length=3, max_length=255)]
    key: KeySchema = Field(description="Partition key, then optional sort key: {name: S|N|B}")
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


class DynamoSeed(Model):
    items: list[dict[str, Any]] = Field(
        default_factory=list, description="Plain JSON items, put once on first provisioning"
    )


class DynamoDbBacking(_Backing):
    kind: Literal["dynamodb"]
    table: str
    key: KeySchema = Field(description="Partition key, then optional sort key: {name: S|N|B}")
    indexes: list[GlobalIndex] = Field(default_factory=list)
    seed: DynamoSeed | None = None

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _check(_TABLE, value, "table name", "3-255 letters, digits, '_', '-' and '.'")


class SsmParameter(Model):
    value: str
    secure: bool = Field(default=False, description="Store as a SecureString")


class SsmBacking(_Backing):
    kind: Literal["ssm"]
    path: str = Field(default="/", description="Prefix for relative parameter names")
    parameters: dict[str, str | SsmParameter] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"invalid path {value!r}: it starts with '/'")
        return value if value.endswith("/") else value + "/"

    def full_name(self, name: str) -> str:
        return name if name.startswith("/") else self.path + name


class SecretSpec(Model):
    value: str
    description: str = ""


class SecretsManagerBacking(_Backing):
    kind: Literal["secretsmanager"]
    secrets: dict[str, str | SecretSpec] = Field(min_length=1)


class Subscription(Model):
    queue: str = Field(description="An sqs backing service of this stack")
    raw: bool = Field(default=True, description="Raw message delivery")


class SnsBacking(_Backing):
    kind: Literal["sns"]
    topic: str
    subscriptions: list[Subscription] = Field(default_factory=list)

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        _check(_TOPIC, value.removesuffix(".fifo"), "topic name", "letters, digits, '-', '_'")
        return value


# --- other kinds ----------------------------------------------------------------------


class PostgresSeed(Model):
    sql: str = Field(description="SQL file (relative to the manifest) run once after creation")


class PostgresBacking(_Backing):
    kind: Literal["postgres"]
    database: str = "app"
    user: str = "app"
    password: str = "devstack"
    seed: PostgresSeed | None = None

    @field_validator("database", "user")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check(_PG_NAME, value, "name", "lowercase letters, digits and '_'")


# Where and how devstack runs the server: an argument that moved them would cut it off.
REDIS_OWN_ARGS = ("--port", "--bind", "--dir", "--protected-mode", "--daemonize")


class RedisBacking(_Backing):
    kind: Literal["redis"]
    database: int = Field(default=0, ge=0, le=15)
    args: list[str] = Field(
        default_factory=list,
        description="More redis-server arguments, as a compose command gives them "
        "(--appendonly yes); for the container and the process provider alike",
    )

    @field_validator("args")
    @classmethod
    def _server_options(cls, value: list[str]) -> list[str]:
        if value and not value[0].startswith("--"):
            raise ValueError(f"args are redis-server options (--name value), not {value[0]!r}")
        for arg in value:
            if arg.lower() in REDIS_OWN_ARGS:
                raise ValueError(f"{arg} is devstack's to set (it runs the server)")
        return value


class UrlBacking(_Backing):
    kind: Literal["url"]
    url: str = Field(description="Any external endpoint")


Backing = Annotated[
    S3Backing
    | SqsBacking
    | DynamoDbBacking
    | SsmBacking
    | SecretsManagerBacking
    | SnsBacking
    | PostgresBacking
    | RedisBacking
    | UrlBacking,
    Field(discriminator="kind"),
]


# --- providers ------------------------------------------------------------------------


class _Provider(Model):
    region: str = Field(default=DEFAULT_REGION, description="AWS region for AWS kinds")


class LocalstackProvider(_Provider):
    type: Literal["localstack"]
    image: str = Field(default=LOCALSTACK_IMAGE, description="Pinned: latest needs a token")
    url: str | None = Field(default=None, description="Use a LocalStack already running here")
    env: dict[str, str] = Field(default_factory=dict)
    persistence: bool = Field(default=False, description="PERSISTENCE=1 (a Pro feature)")


class EmulatorProvider(_Provider):
    """A pip-installable AWS emulator run as a host process on 127.0.0.1."""

    type: Literal["ministack", "moto"]
    port: int | None = Field(default=None, ge=1, le=65535, description="Default: a free port")


class ContainerProvider(_Provider):
    type: Literal["container"]
    image: str | None = Field(default=None, description="Default: postgres:16 / redis:7")
    env: dict[str, str] = Field(default_factory=dict)


class ProcessProvider(_Provider):
    type: Literal["process"]
    bin_dir: str | None = Field(
        default=None, description="Where postgres/initdb or redis-server live; default: PATH"
    )


class ExternalProvider(_Provider):
    type: Literal["external"]
    url: str = Field(description="The endpoint (an AWS-compatible API, or the service URL)")
    access_key_id: str | None = None
    secret_access_key: str | None = None
    provision: bool = Field(default=False, description="Create declared resources there")
    account: str | None = Field(
        default=None,
        pattern=r"^[0-9]{12}$",
        description="The 12-digit account id; with it, queue URLs and queue/topic ARNs are injected",
    )


class AwsProvider(_Provider):
    type: Literal["aws"]
    profile: str | None = None
    provision: bool = Field(default=False, description="Create declared resources there")
    account: str | None = Field(
        default=None,
        pattern=r"^[0-9]{12}$",
        description="The 12-digit account id; with it, queue URLs and queue/topic ARNs are injected",
    )


Provider = Annotated[
    LocalstackProvider
    | EmulatorProvider
    | ContainerProvider
    | ProcessProvider
    | ExternalProvider
    | AwsProvider,
    Field(discriminator="type"),
]
