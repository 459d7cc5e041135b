"""Declared AWS resources, created on a provider before the services that use them start.

Whichever AWS-compatible provider serves a backing service (MiniStack, moto, LocalStack,
a real account), its consumers must find the same buckets, queues, tables, parameters,
secrets and topics there, including right after a hot swap to a fresh provider. So
provisioning runs on every `up` and every swap, and is idempotent and additive: it creates
what is missing, brings settings that hold no data in line with the manifest, and never
deletes or overwrites data (a queue's messages, a table's rows, a parameter a developer
edited). Seed data goes in only when this call created the resource, so a restart never
brings back something a developer deleted on purpose.

Everything goes through boto3, so the same code talks to every emulator and to AWS (on a
LocalStack-compatible provider, boto3 clients made by localstack-client's Session, the
library the stacks' own code is meant to use there), and every failure becomes one ProvisionError line naming the backing service, the resource
and the cause: an unreachable endpoint must read as such, not as a botocore traceback.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import boto3
from boto3.dynamodb.types import TypeSerializer
from botocore.config import Config
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

from devstack.model.backing import (
    DynamoDbBacking,
    S3Backing,
    SecretsManagerBacking,
    SnsBacking,
    SqsBacking,
    SsmBacking,
    Subscription,
)

AwsBacking = (
    S3Backing | SqsBacking | DynamoDbBacking | SsmBacking | SecretsManagerBacking | SnsBacking
)

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# A table is ACTIVE at once on emulators and within seconds on AWS; GSIs can take longer.
TABLE_ACTIVE_TIMEOUT = 120.0
# Emulators accept any key pair. A fixed dummy one keeps real credentials found in the
# developer's environment from being sent to a local endpoint.
EMULATOR_KEY = "test"

_NO_OTHERS: Mapping[str, Any] = MappingProxyType({})
_DEFAULT_SESSION_LOCK = threading.Lock()
_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
# SQS queue attributes AWS refuses to change after creation.
_IMMUTABLE_QUEUE_ATTRIBUTES = frozenset({"FifoQueue"})
# Values this short would blank out unrelated words of an error message, and are no secret.
_MIN_REDACTED = 4


# --- target -----------------------------------------------------------------------------


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


# --- results and errors -----------------------------------------------------------------


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


def _code(exc: ClientError) -> str:
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
        code = _code(exc) or "error"
        return f"{exc.operation_name} failed: {code}" + (f": {message}" if message else "")
    return str(exc).strip() or type(exc).__name__


def _one_line(text: str, hide: tuple[str, ...]) -> str:
    for secret in hide:
        if len(secret) >= _MIN_REDACTED:
            text = text.replace(secret, "***")
    return " ".join(text.split())


@dataclass
class _Run:
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


# --- entry points -----------------------------------------------------------------------


def provision(
    target: AwsTarget,
    name: str,
    backing: AwsBacking,
    root: Path,
    *,
    others: Mapping[str, Any] = _NO_OTHERS,
) -> ProvisionResult:
    """Create what `backing` declares on `target` if missing; seed only what it created.

    `name` is the backing service's name (for messages), `root` the folder seed files are
    relative to, `others` the stack's other backing services by name (an SNS subscription
    names an sqs backing service, whose queue must be on the same target).
    """
    run = _Run(target, name)
    if isinstance(backing, S3Backing):
        created = _s3(run, backing, root)
    elif isinstance(backing, SqsBacking):
        created = _sqs(run, backing)
    elif isinstance(backing, DynamoDbBacking):
        created = _dynamodb(run, backing)
    elif isinstance(backing, SsmBacking):
        created = _ssm(run, backing)
    elif isinstance(backing, SecretsManagerBacking):
        created = _secretsmanager(run, backing)
    elif isinstance(backing, SnsBacking):
        created = _sns(run, backing, others)
    else:
        kind = getattr(backing, "kind", type(backing).__name__)
        raise TypeError(f"{name}: {kind} is not an AWS kind; nothing to provision")
    return ProvisionResult(tuple(run.actions), created)


def missing(target: AwsTarget, backing: AwsBacking) -> list[str]:
    """Resources `backing` declares that `target` lacks, by cheap read-only calls; [] if none."""
    run = _Run(target, backing.kind)
    if isinstance(backing, S3Backing):
        resource = f"bucket {backing.bucket}"
        with run.guard(resource):
            exists = _bucket_exists(run, target.client("s3"), backing.bucket)
        return [] if exists else [resource]
    if isinstance(backing, SqsBacking):
        queues = [("dead-letter queue", backing.dead_letter_queue), ("queue", backing.queue)]
        absent = []
        for what, queue in queues:
            if queue is None:
                continue
            with run.guard(f"{what} {queue}"):
                if _queue_url(target.client("sqs"), queue) is None:
                    absent.append(f"{what} {queue}")
        return absent
    if isinstance(backing, DynamoDbBacking):
        resource = f"table {backing.table}"
        with run.guard(resource):
            found = _describe_table(target.client("dynamodb"), backing.table)
        return [] if found else [resource]
    if isinstance(backing, SsmBacking):
        names = [backing.full_name(n) for n in backing.parameters]
        absent_names: set[str] = set()
        # GetParameters takes at most 10 names per call.
        for start in range(0, len(names), 10):
            batch = names[start : start + 10]
            with run.guard(f"parameters {', '.join(batch)}"):
                reply = target.client("ssm").get_parameters(Names=batch, WithDecryption=False)
            absent_names.update(reply.get("InvalidParameters", []))
        return [f"parameter {n}" for n in names if n in absent_names]
    if isinstance(backing, SecretsManagerBacking):
        return [f"secret {secret}" for secret in backing.secrets if not _secret_exists(run, secret)]
    if isinstance(backing, SnsBacking):
        resource = f"topic {backing.topic}"
        with run.guard(resource):
            arn = _find_topic(target.client("sns"), backing.topic)
        return [] if arn else [resource]
    kind = getattr(backing, "kind", type(backing).__name__)
    raise TypeError(f"{kind} is not an AWS kind; nothing to check")


# --- s3 ---------------------------------------------------------------------------------


def _s3(run: _Run, b: S3Backing, root: Path) -> bool:
    resource = f"bucket {b.bucket}"
    # Checked before anything is created: a bucket created without its seed would never be
    # seeded, since seeding happens only on creation.
    files = _seed_files(run, b, root)
    with run.guard(resource):
        s3 = run.target.client("s3")
        created = not _bucket_exists(run, s3, b.bucket) and _create_bucket(run, s3, b.bucket)
        run.say(f"created bucket {b.bucket}" if created else f"bucket {b.bucket} exists")
        if b.versioning:
            status = s3.get_bucket_versioning(Bucket=b.bucket).get("Status")
            if status != "Enabled":
                s3.put_bucket_versioning(
                    Bucket=b.bucket, VersioningConfiguration={"Status": "Enabled"}
                )
                run.say(f"enabled versioning on bucket {b.bucket}")
        # Versioning: false never suspends versioning someone turned on; an empty `cors`
        # never deletes rules: provisioning only adds.
        if b.cors and _current_cors(s3, b.bucket) != _cors(b):
            s3.put_bucket_cors(Bucket=b.bucket, CORSConfiguration={"CORSRules": _cors(b)})
            run.say(f"applied {_count(len(b.cors), 'CORS rule')} to bucket {b.bucket}")
    if files and created:
        for key, path in files.items():
            with run.guard(f"object {key} in bucket {b.bucket}"), path.open("rb") as body:
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                s3.put_object(Bucket=b.bucket, Key=key, Body=body, ContentType=kind)
        run.say(f"seeded {_count(len(files), 'object')} into bucket {b.bucket}")
    elif files:
        run.say(f"seed of bucket {b.bucket} skipped: applied only when the bucket is created")
    return created


def _seed_files(run: _Run, b: S3Backing, root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for key, relative in (b.seed.files if b.seed else {}).items():
        path = root / relative
        if not path.is_file():
            raise run.error(f"bucket {b.bucket}", f"seed file {relative} (object {key}) not found")
        files[key] = path
    return files


def _bucket_exists(run: _Run, s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = _code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        if code in ("403", "AccessDenied", "Forbidden"):
            raise run.error(
                f"bucket {bucket}",
                "access denied (on AWS, the name may belong to another account)",
            ) from None
        raise
    return True


def _create_bucket(run: _Run, s3: Any, bucket: str) -> bool:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    # us-east-1 is the one region AWS refuses as an explicit LocationConstraint.
    if run.target.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": run.target.region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if _code(exc) == "BucketAlreadyOwnedByYou":  # a concurrent provisioning was first
            return False
        if _code(exc) == "BucketAlreadyExists":
            raise run.error(
                f"bucket {bucket}", "the name is taken (bucket names are global on AWS)"
            ) from None
        raise
    return True


def _current_cors(s3: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        rules = s3.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except ClientError as exc:
        if _code(exc) == "NoSuchCORSConfiguration":
            return []
        raise
    # Compared in the shape _cors() builds: AWS adds IDs, emulators add empty lists.
    return [{k: v for k, v in rule.items() if v not in (None, []) and k != "ID"} for rule in rules]


def _cors(b: S3Backing) -> list[dict[str, Any]]:
    rules = []
    for rule in b.cors:
        entry: dict[str, Any] = {
            "AllowedOrigins": list(rule.allowed_origins),
            "AllowedMethods": list(rule.allowed_methods),
        }
        if rule.allowed_headers:
            entry["AllowedHeaders"] = list(rule.allowed_headers)
        if rule.expose_headers:
            entry["ExposeHeaders"] = list(rule.expose_headers)
        if rule.max_age is not None:
            entry["MaxAgeSeconds"] = rule.max_age
        rules.append(entry)
    return rules


# --- sqs --------------------------------------------------------------------------------


def _sqs(run: _Run, b: SqsBacking) -> bool:
    attributes: dict[str, str] = {}
    if b.fifo:
        # Content-based deduplication lets producers send without a deduplication id.
        attributes |= {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    if b.dead_letter_queue and b.dead_letter:
        resource = f"dead-letter queue {b.dead_letter_queue}"
        with run.guard(resource):
            sqs = run.target.client("sqs")
            url, _ = _ensure_queue(run, sqs, b.dead_letter_queue, dict(attributes), resource)
            target_arn = _queue_arn(sqs, url)
        policy = {"deadLetterTargetArn": target_arn, "maxReceiveCount": b.dead_letter.max_receives}
        attributes["RedrivePolicy"] = json.dumps(policy)
    if b.visibility_timeout is not None:
        attributes["VisibilityTimeout"] = str(b.visibility_timeout)
    resource = f"queue {b.queue}"
    with run.guard(resource):
        sqs = run.target.client("sqs")
        url, created = _ensure_queue(run, sqs, b.queue, attributes, resource)
    messages = b.seed.messages if b.seed else []
    if messages and created:
        for index, body in enumerate(messages):
            extra = (
                {"MessageGroupId": "devstack-seed", "MessageDeduplicationId": f"seed-{index}"}
                if b.fifo
                else {}
            )
            with run.guard(f"seed message {index + 1} of queue {b.queue}"):
                sqs.send_message(QueueUrl=url, MessageBody=body, **extra)
        run.say(f"seeded {_count(len(messages), 'message')} into queue {b.queue}")
    elif messages:
        run.say(f"seed of queue {b.queue} skipped: applied only when the queue is created")
    return created


def _ensure_queue(
    run: _Run, sqs: Any, name: str, attributes: dict[str, str], what: str
) -> tuple[str, bool]:
    """The queue's URL, and whether this call created it.

    An existing queue whose settings differ from the manifest gets the mutable ones set:
    they hold no data, and a consumer behind a swap must see the declared visibility
    timeout and redrive policy. Its messages are never touched.
    """
    url = _queue_url(sqs, name)
    if url is None:
        try:
            url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        except ClientError as exc:
            if _code(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            url = _queue_url(sqs, name)  # created meanwhile, with other settings
        else:
            run.say(f"created {what}")
            return url, True
    if url is None:
        raise run.error(what, "created and then gone")
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    changed = {
        key: value
        for key, value in attributes.items()
        if key not in _IMMUTABLE_QUEUE_ATTRIBUTES and not _same(key, current.get(key), value)
    }
    if changed:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
        run.say(f"{what} exists; set {', '.join(sorted(changed))} as declared")
    else:
        run.say(f"{what} exists")
    return url, False


def _same(key: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if key == "RedrivePolicy":
        try:
            have, want = json.loads(current), json.loads(wanted)
        except ValueError:
            return False
        return bool(
            have.get("deadLetterTargetArn") == want.get("deadLetterTargetArn")
            and str(have.get("maxReceiveCount")) == str(want.get("maxReceiveCount"))
        )
    return str(current).lower() == wanted.lower()


def _queue_url(sqs: Any, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if _code(exc) in _NO_QUEUE:
            return None
        raise


def _queue_arn(sqs: Any, url: str) -> str:
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(reply["Attributes"]["QueueArn"])


# --- dynamodb ---------------------------------------------------------------------------


def _dynamodb(run: _Run, b: DynamoDbBacking) -> bool:
    resource = f"table {b.table}"
    definitions = _attribute_definitions(run, b)
    items = _serialize_items(run, b)  # before creating, for the same reason as seed files
    with run.guard(resource):
        ddb = run.target.client("dynamodb")
        table = _describe_table(ddb, b.table)
        created = table is None
        if table is None:
            request: dict[str, Any] = {
                "TableName": b.table,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": n, "AttributeType": t} for n, t in definitions.items()
                ],
                "KeySchema": _key_schema(b.key),
            }
            if b.indexes:
                request["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": index.name,
                        "KeySchema": _key_schema(index.key),
                        "Projection": {"ProjectionType": index.projection},
                    }
                    for index in b.indexes
                ]
            try:
                ddb.create_table(**request)
            except ClientError as exc:
                if _code(exc) != "ResourceInUseException":
                    raise
                created = False  # created meanwhile
            run.say(f"created table {b.table}" if created else f"table {b.table} exists")
        else:
            run.say(f"table {b.table} exists")
            # Missing indexes are reported, not added: backfilling a GSI on a table with
            # data is slow on AWS and changes the table under running consumers.
            present = {i.get("IndexName") for i in table.get("GlobalSecondaryIndexes", [])}
            lacking = [index.name for index in b.indexes if index.name not in present]
            if lacking:
                run.say(
                    f"table {b.table} lacks index {', '.join(lacking)}: not added to an existing "
                    "table (delete the table to recreate it)"
                )
        _wait_active(run, ddb, b.table)
    if items and created:
        for number, item in enumerate(items, start=1):
            with run.guard(f"seed item {number} of table {b.table}"):
                ddb.put_item(TableName=b.table, Item=item)
        run.say(f"seeded {_count(len(items), 'item')} into table {b.table}")
    elif items:
        run.say(f"seed of table {b.table} skipped: applied only when the table is created")
    return created


def _key_schema(key: Mapping[str, str]) -> list[dict[str, str]]:
    # The manifest's order is the key's order: partition key first, then sort key.
    return [
        {"AttributeName": name, "KeyType": key_type}
        for name, key_type in zip(key, ("HASH", "RANGE"), strict=False)
    ]


def _attribute_definitions(run: _Run, b: DynamoDbBacking) -> dict[str, str]:
    definitions: dict[str, str] = {}
    for key in [b.key, *(index.key for index in b.indexes)]:
        for name, kind in key.items():
            if definitions.setdefault(name, kind) != kind:
                raise run.error(
                    f"table {b.table}",
                    f"attribute {name} is declared as both {definitions[name]} and {kind}",
                )
    return definitions


def _serialize_items(run: _Run, b: DynamoDbBacking) -> list[dict[str, Any]]:
    serializer = TypeSerializer()
    items = []
    for number, item in enumerate(b.seed.items if b.seed else [], start=1):
        lacking = [name for name in b.key if name not in item]
        if lacking:
            raise run.error(
                f"seed item {number} of table {b.table}", f"no value for key {', '.join(lacking)}"
            )
        try:
            items.append({k: serializer.serialize(_dynamo_value(v)) for k, v in item.items()})
        except (TypeError, ValueError) as exc:
            raise run.error(f"seed item {number} of table {b.table}", str(exc)) from None
    return items


def _dynamo_value(value: Any) -> Any:
    # DynamoDB numbers are decimals; boto3 refuses floats so no precision is lost silently.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_value(v) for v in value]
    return value


def _describe_table(ddb: Any, table: str) -> dict[str, Any] | None:
    try:
        return dict(ddb.describe_table(TableName=table)["Table"])
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return None
        raise


def _wait_active(run: _Run, ddb: Any, table: str) -> None:
    deadline = time.monotonic() + TABLE_ACTIVE_TIMEOUT
    interval = 0.05
    while True:
        found = _describe_table(ddb, table)
        if found is None or found.get("TableStatus") == "DELETING":
            raise run.error(f"table {table}", "being deleted meanwhile; provision again later")
        status = found.get("TableStatus")
        indexes = found.get("GlobalSecondaryIndexes", [])
        if status in ("ACTIVE", "UPDATING") and all(
            i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes
        ):
            return
        if time.monotonic() >= deadline:
            raise run.error(
                f"table {table}", f"not ACTIVE after {TABLE_ACTIVE_TIMEOUT:g}s (status {status})"
            )
        time.sleep(interval)
        interval = min(interval * 2, 1.0)


# --- ssm and secretsmanager -------------------------------------------------------------


def _ssm(run: _Run, b: SsmBacking) -> bool:
    created = False
    for relative, spec in b.parameters.items():
        name = b.full_name(relative)
        value, secure = (spec, False) if isinstance(spec, str) else (spec.value, spec.secure)
        kind = "SecureString" if secure else "String"
        with run.guard(f"parameter {name}", hide=(value,)):
            try:
                # Overwrite=False: a value a developer changed by hand survives every `up`.
                run.target.client("ssm").put_parameter(
                    Name=name, Value=value, Type=kind, Overwrite=False
                )
            except ClientError as exc:
                if _code(exc) != "ParameterAlreadyExists":
                    raise
                run.say(f"parameter {name} exists (value kept)")
            else:
                created = True
                run.say(f"created parameter {name} ({kind})")
    if not b.parameters:
        run.say("no parameters declared")
    return created


def _secretsmanager(run: _Run, b: SecretsManagerBacking) -> bool:
    created = False
    for name, spec in b.secrets.items():
        value, description = (spec, "") if isinstance(spec, str) else (spec.value, spec.description)
        resource = f"secret {name}"
        with run.guard(resource, hide=(value,)):
            client = run.target.client("secretsmanager")
            extra = {"Description": description} if description else {}
            try:
                client.create_secret(Name=name, SecretString=value, **extra)
            except ClientError as exc:
                # AWS answers InvalidRequestException for a name scheduled for deletion;
                # MiniStack and moto answer ResourceExistsException.
                if _code(exc) not in ("ResourceExistsException", "InvalidRequestException"):
                    raise
                found = _describe_secret(client, name)
                if found is not None and "DeletedDate" in found:
                    # Neither way out is provisioning's to take: restoring brings back a
                    # value someone deleted, deleting for good destroys it.
                    raise run.error(
                        resource,
                        "scheduled for deletion: restore it (aws secretsmanager restore-secret) "
                        "or delete it for good (--force-delete-without-recovery)",
                    ) from None
                if _code(exc) != "ResourceExistsException":
                    raise
                run.say(f"secret {name} exists (value kept)")
            else:
                created = True
                run.say(f"created secret {name}")
    return created


def _describe_secret(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(client.describe_secret(SecretId=name))
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return None
        raise


def _secret_exists(run: _Run, name: str) -> bool:
    with run.guard(f"secret {name}"):
        found = _describe_secret(run.target.client("secretsmanager"), name)
    # A secret scheduled for deletion still answers, but nothing can read it.
    return found is not None and "DeletedDate" not in found


# --- sns --------------------------------------------------------------------------------


def _sns(run: _Run, b: SnsBacking, others: Mapping[str, Any]) -> bool:
    resource = f"topic {b.topic}"
    with run.guard(resource):
        sns = run.target.client("sns")
        arn = _find_topic(sns, b.topic)
        created = arn is None
        if arn is None:
            attributes = (
                {"FifoTopic": "true", "ContentBasedDeduplication": "true"}
                if b.topic.endswith(".fifo")
                else {}
            )
            arn = str(sns.create_topic(Name=b.topic, Attributes=attributes)["TopicArn"])
        run.say(f"created topic {b.topic}" if created else f"topic {b.topic} exists")
    for subscription in b.subscriptions:
        _subscribe(run, sns, b.topic, arn, subscription, others)
    return created


def _find_topic(sns: Any, topic: str) -> str | None:
    for page in sns.get_paginator("list_topics").paginate():
        for entry in page.get("Topics", []):
            arn = str(entry.get("TopicArn", ""))
            if arn.rsplit(":", 1)[-1] == topic:
                return arn
    return None


def _subscribe(
    run: _Run,
    sns: Any,
    topic: str,
    topic_arn: str,
    subscription: Subscription,
    others: Mapping[str, Any],
) -> None:
    resource = f"subscription of topic {topic} to {subscription.queue}"
    backing = others.get(subscription.queue)
    if not isinstance(backing, SqsBacking):
        raise run.error(resource, f"{subscription.queue!r} is not an sqs backing service")
    queue = backing.queue
    with run.guard(resource):
        sqs = run.target.client("sqs")
        url = _queue_url(sqs, queue)
        if url is None:
            raise run.error(
                resource,
                f"queue {queue} not found on {run.target.where}: provision "
                f"{subscription.queue} first, on the same provider",
            )
        queue_arn = _queue_arn(sqs, url)
        if _allow_topic(sqs, url, queue_arn, topic_arn):
            run.say(f"allowed topic {topic} to send to queue {queue}")
        pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
        if any(
            s.get("Protocol") == "sqs" and s.get("Endpoint") == queue_arn
            for page in pages
            for s in page.get("Subscriptions", [])
        ):
            run.say(f"topic {topic} already delivers to queue {queue}")
            return
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true" if subscription.raw else "false"},
            ReturnSubscriptionArn=True,
        )
        run.say(
            f"subscribed queue {queue} to topic {topic}" + (" (raw)" if subscription.raw else "")
        )


def _allow_topic(sqs: Any, url: str, queue_arn: str, topic_arn: str) -> bool:
    """Adds the queue-policy statement AWS needs to deliver from the topic; True if added.

    Emulators deliver without it, AWS does not; the statement is added next to whatever
    policy the queue has, never replacing it (a policy that is not readable JSON is left
    alone).
    """
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    current = reply.get("Attributes", {}).get("Policy")
    try:
        policy = json.loads(current) if current else {}
    except ValueError:
        return False
    if not isinstance(policy, dict):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        condition = statement.get("Condition", {}).get("ArnEquals", {})
        if statement.get("Effect") == "Allow" and condition.get("aws:SourceArn") == topic_arn:
            return False
    statements.append(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
        }
    )
    policy = {"Version": policy.get("Version", "2012-10-17"), **policy, "Statement": statements}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return True


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
