"""Provisioning declared AWS resources, against real MiniStack and moto processes.

Every test runs on both emulators and checks the result with plain boto3 reads. Resource
names carry a uuid, so tests share the session's emulators without depending on order.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from devstack.kinds import ProvisionError, missing, provision
from devstack.model.backing import (
    DynamoDbBacking,
    S3Backing,
    SecretsManagerBacking,
    SnsBacking,
    SqsBacking,
    SsmBacking,
)
from devstack.providers.aws import AwsTarget
from helpers import free_port


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def receive_all(sqs: Any, url: str, expected: int, timeout: float = 10.0) -> list[str]:
    """Bodies received from the queue until `expected` arrived or the deadline passed."""
    bodies: list[str] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < expected and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


# --- s3 ---------------------------------------------------------------------------------


def test_s3_bucket_with_versioning_cors_and_seed(target: AwsTarget, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hello.txt").write_text("hello")
    (tmp_path / "logo.json").write_text('{"a": 1}')
    bucket = unique("up")
    backing = S3Backing.model_validate(
        {
            "kind": "s3",
            "bucket": bucket,
            "versioning": True,
            "cors": [{"allowed_origins": ["*"], "allowed_methods": ["GET", "PUT"], "max_age": 60}],
            "seed": {"files": {"docs/hello.txt": "data/hello.txt", "logo.json": "logo.json"}},
        }
    )

    result = provision(target, "uploads", backing, tmp_path)

    assert result.created
    assert f"created bucket {bucket}" in result.actions
    assert f"seeded 2 objects into bucket {bucket}" in result.actions
    s3 = target.client("s3")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    [rule] = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rule["AllowedOrigins"] == ["*"]
    assert sorted(rule["AllowedMethods"]) == ["GET", "PUT"]
    assert rule["MaxAgeSeconds"] == 60
    body = s3.get_object(Bucket=bucket, Key="docs/hello.txt")["Body"].read()
    assert body == b"hello"
    assert s3.head_object(Bucket=bucket, Key="logo.json")["ContentType"] == "application/json"

    again = provision(target, "uploads", backing, tmp_path)

    # Versioning and CORS are already as declared: nothing is re-applied.
    assert again.actions == (
        f"bucket {bucket} exists",
        f"seed of bucket {bucket} skipped: applied only when the bucket is created",
    )


def test_s3_twice_is_idempotent_and_seeds_once(target: AwsTarget, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    bucket = unique("seeded")
    backing = S3Backing.model_validate(
        {"kind": "s3", "bucket": bucket, "seed": {"files": {"a.txt": "a.txt"}}}
    )
    assert provision(target, "uploads", backing, tmp_path).created
    s3 = target.client("s3")
    s3.delete_object(Bucket=bucket, Key="a.txt")  # a developer deletes a seeded object

    again = provision(target, "uploads", backing, tmp_path)

    assert not again.created
    assert f"bucket {bucket} exists" in again.actions
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert missing(target, backing) == []


def test_missing_lists_a_deleted_bucket(target: AwsTarget, tmp_path: Path) -> None:
    bucket = unique("gone")
    backing = S3Backing.model_validate({"kind": "s3", "bucket": bucket})
    assert missing(target, backing) == [f"bucket {bucket}"]
    provision(target, "uploads", backing, tmp_path)
    assert missing(target, backing) == []

    target.client("s3").delete_bucket(Bucket=bucket)

    assert missing(target, backing) == [f"bucket {bucket}"]


def test_s3_bucket_outside_us_east_1(target: AwsTarget, tmp_path: Path) -> None:
    elsewhere = AwsTarget(endpoint_url=target.endpoint_url, region="eu-west-1")
    bucket = unique("eu")
    backing = S3Backing.model_validate({"kind": "s3", "bucket": bucket})

    assert provision(elsewhere, "uploads", backing, tmp_path).created
    assert not provision(elsewhere, "uploads", backing, tmp_path).created

    location = elsewhere.client("s3").get_bucket_location(Bucket=bucket)
    assert location["LocationConstraint"] == "eu-west-1"


def test_missing_seed_file_is_named_and_nothing_is_created(
    target: AwsTarget, tmp_path: Path
) -> None:
    bucket = unique("noseed")
    backing = S3Backing.model_validate(
        {"kind": "s3", "bucket": bucket, "seed": {"files": {"k.txt": "nope/k.txt"}}}
    )

    with pytest.raises(ProvisionError) as caught:
        provision(target, "uploads", backing, tmp_path)

    assert str(caught.value) == (
        f"uploads: bucket {bucket}: seed file nope/k.txt (object k.txt) not found"
    )
    assert missing(target, backing) == [f"bucket {bucket}"]


# --- sqs --------------------------------------------------------------------------------


def test_sqs_fifo_queue_with_dead_letter_queue_and_seed(target: AwsTarget, tmp_path: Path) -> None:
    queue = unique("orders") + ".fifo"
    backing = SqsBacking.model_validate(
        {
            "kind": "sqs",
            "queue": queue,
            "fifo": True,
            "dead_letter": {"max_receives": 5},
            "visibility_timeout": "45s",
            "seed": {"messages": ["one", "one", "two"]},
        }
    )
    dlq = backing.dead_letter_queue
    assert dlq is not None

    result = provision(target, "orders", backing, tmp_path)

    assert result.created
    assert result.actions[:2] == (f"created dead-letter queue {dlq}", f"created queue {queue}")
    sqs = target.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert attributes["VisibilityTimeout"] == "45"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn["Attributes"]["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 5
    # Identical seed bodies are distinct messages: each carries its own deduplication id.
    assert receive_all(sqs, url, 3) == ["one", "one", "two"]

    again = provision(target, "orders", backing, tmp_path)

    assert not again.created
    assert again.actions[:2] == (f"dead-letter queue {dlq} exists", f"queue {queue} exists")
    counts = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert set(counts.values()) == {"0"}  # the seed went in once
    assert missing(target, backing) == []


def test_sqs_existing_queue_gets_declared_settings_and_keeps_messages(
    target: AwsTarget, tmp_path: Path
) -> None:
    queue = unique("jobs")
    sqs = target.client("sqs")
    url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    backing = SqsBacking.model_validate(
        {"kind": "sqs", "queue": queue, "visibility_timeout": 90, "seed": {"messages": ["new"]}}
    )

    result = provision(target, "jobs", backing, tmp_path)

    assert not result.created
    assert f"queue {queue} exists; set VisibilityTimeout as declared" in result.actions
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "90"
    assert receive_all(sqs, url, 1) == ["kept"]


# --- dynamodb ---------------------------------------------------------------------------


def test_dynamodb_table_with_keys_index_and_seed(target: AwsTarget, tmp_path: Path) -> None:
    table = unique("carts")
    backing = DynamoDbBacking.model_validate(
        {
            "kind": "dynamodb",
            "table": table,
            "key": {"user": "S", "at": "N"},
            "indexes": [{"name": "by-sku", "key": {"sku": "S", "at": "N"}, "projection": "ALL"}],
            "seed": {
                "items": [
                    {"user": "ann", "at": 1, "sku": "x1", "price": 9.5, "tags": ["a"]},
                    {"user": "bob", "at": 2, "sku": "x2", "meta": {"gift": True, "note": None}},
                ]
            },
        }
    )

    result = provision(target, "carts", backing, tmp_path)

    assert result.created
    assert f"seeded 2 items into table {table}" in result.actions
    ddb = target.client("dynamodb")
    described = ddb.describe_table(TableName=table)["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["KeySchema"] == [
        {"AttributeName": "user", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = described["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-sku"
    assert index["KeySchema"] == [
        {"AttributeName": "sku", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert index["Projection"]["ProjectionType"] == "ALL"
    ann = ddb.get_item(TableName=table, Key={"user": {"S": "ann"}, "at": {"N": "1"}})["Item"]
    assert ann["price"] == {"N": "9.5"}
    assert ann["tags"] == {"L": [{"S": "a"}]}
    bob = ddb.get_item(TableName=table, Key={"user": {"S": "bob"}, "at": {"N": "2"}})["Item"]
    assert bob["meta"] == {"M": {"gift": {"BOOL": True}, "note": {"NULL": True}}}

    ddb.delete_item(TableName=table, Key={"user": {"S": "ann"}, "at": {"N": "1"}})
    again = provision(target, "carts", backing, tmp_path)

    assert not again.created
    assert f"table {table} exists" in again.actions
    assert "Item" not in ddb.get_item(TableName=table, Key={"user": {"S": "ann"}, "at": {"N": "1"}})
    assert missing(target, backing) == []


def test_dynamodb_existing_table_is_left_alone(target: AwsTarget, tmp_path: Path) -> None:
    table = unique("legacy")
    ddb = target.client("dynamodb")
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    ddb.put_item(TableName=table, Item={"id": {"S": "kept"}})
    backing = DynamoDbBacking.model_validate(
        {
            "kind": "dynamodb",
            "table": table,
            "key": {"id": "S"},
            "indexes": [{"name": "by-email", "key": {"email": "S"}}],
            "seed": {"items": [{"id": "seeded"}]},
        }
    )

    result = provision(target, "legacy", backing, tmp_path)

    assert not result.created
    assert result.actions[:2] == (
        f"table {table} exists",
        f"table {table} lacks index by-email: not added to an existing table "
        "(delete the table to recreate it)",
    )
    assert not ddb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes")
    ids = sorted(item["id"]["S"] for item in ddb.scan(TableName=table)["Items"])
    assert ids == ["kept"]


# --- ssm and secretsmanager -------------------------------------------------------------


def test_ssm_parameters_secure_and_existing_values_kept(target: AwsTarget, tmp_path: Path) -> None:
    path = "/" + unique("shop")
    ssm = target.client("ssm")
    ssm.put_parameter(Name=f"{path}/mode", Value="edited by hand", Type="String")
    backing = SsmBacking.model_validate(
        {
            "kind": "ssm",
            "path": path,
            "parameters": {
                "mode": "declared",
                "db/password": {"value": "s3cr3t-value", "secure": True},
                "/absolute-" + path.strip("/"): "abs",
            },
        }
    )
    assert missing(target, backing) == [
        f"parameter {path}/db/password",
        f"parameter /absolute-{path.strip('/')}",
    ]

    result = provision(target, "config", backing, tmp_path)

    assert result.created
    assert f"parameter {path}/mode exists (value kept)" in result.actions
    assert f"created parameter {path}/db/password (SecureString)" in result.actions
    assert ssm.get_parameter(Name=f"{path}/mode")["Parameter"]["Value"] == "edited by hand"
    secret = ssm.get_parameter(Name=f"{path}/db/password", WithDecryption=True)["Parameter"]
    assert secret["Type"] == "SecureString"
    assert secret["Value"] == "s3cr3t-value"
    plain = ssm.get_parameter(Name=f"/absolute-{path.strip('/')}")["Parameter"]
    assert (plain["Type"], plain["Value"]) == ("String", "abs")
    assert all("s3cr3t-value" not in line for line in result.actions)

    again = provision(target, "config", backing, tmp_path)

    assert not again.created
    assert missing(target, backing) == []


def test_secretsmanager_secrets_created_once(target: AwsTarget, tmp_path: Path) -> None:
    name, other = unique("api-key"), unique("db")
    backing = SecretsManagerBacking.model_validate(
        {
            "kind": "secretsmanager",
            "secrets": {name: "k-123456", other: {"value": "pw-123456", "description": "db"}},
        }
    )
    assert missing(target, backing) == [f"secret {name}", f"secret {other}"]

    assert provision(target, "secrets", backing, tmp_path).created

    client = target.client("secretsmanager")
    assert client.get_secret_value(SecretId=name)["SecretString"] == "k-123456"
    assert client.describe_secret(SecretId=other)["Description"] == "db"
    client.put_secret_value(SecretId=name, SecretString="rotated")
    again = provision(target, "secrets", backing, tmp_path)
    assert not again.created
    assert f"secret {name} exists (value kept)" in again.actions
    assert client.get_secret_value(SecretId=name)["SecretString"] == "rotated"
    assert missing(target, backing) == []


# --- sns --------------------------------------------------------------------------------


def test_sns_subscription_delivers_to_the_queue(target: AwsTarget, tmp_path: Path) -> None:
    queue, topic = unique("inbox"), unique("events")
    inbox = SqsBacking.model_validate({"kind": "sqs", "queue": queue})
    events = SnsBacking.model_validate(
        {"kind": "sns", "topic": topic, "subscriptions": [{"queue": "inbox", "raw": True}]}
    )
    others = {"inbox": inbox, "events": events}
    provision(target, "inbox", inbox, tmp_path)

    result = provision(target, "events", events, tmp_path, others=others)

    assert result.created
    assert f"subscribed queue {queue} to topic {topic} (raw)" in result.actions
    sns, sqs = target.client("sns"), target.client("sqs")
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]  # idempotent: looks the ARN up
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    # AWS delivers only with a queue policy allowing the topic; emulators do without.
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    [statement] = json.loads(policy["Policy"])["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": topic_arn}}
    sns.publish(TopicArn=topic_arn, Message="order-42")
    assert receive_all(sqs, url, 1) == ["order-42"]

    again = provision(target, "events", events, tmp_path, others=others)

    assert not again.created
    assert again.actions == (
        f"topic {topic} exists",
        f"topic {topic} already delivers to queue {queue}",
    )
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert len(subscriptions) == 1
    assert missing(target, events) == []


def test_sns_fifo_topic(target: AwsTarget, tmp_path: Path) -> None:
    topic = unique("ledger") + ".fifo"
    backing = SnsBacking.model_validate({"kind": "sns", "topic": topic})
    assert missing(target, backing) == [f"topic {topic}"]

    assert provision(target, "ledger", backing, tmp_path).created

    sns = target.client("sns")
    arn = sns.create_topic(Name=topic, Attributes={"FifoTopic": "true"})["TopicArn"]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["FifoTopic"] == "true"
    assert not provision(target, "ledger", backing, tmp_path).created


def test_subscription_to_a_queue_not_provisioned_there(target: AwsTarget, tmp_path: Path) -> None:
    inbox = SqsBacking.model_validate({"kind": "sqs", "queue": unique("absent")})
    events = SnsBacking.model_validate(
        {"kind": "sns", "topic": unique("t"), "subscriptions": [{"queue": "inbox"}]}
    )

    with pytest.raises(ProvisionError, match=r"^events: subscription of topic .* to inbox: "):
        provision(target, "events", events, tmp_path, others={"inbox": inbox})
    with pytest.raises(ProvisionError, match="'inbox' is not an sqs backing service"):
        provision(target, "events", events, tmp_path, others={})


# --- failures without an emulator -------------------------------------------------------


def test_unreachable_endpoint_is_one_clear_line(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    target = AwsTarget(endpoint_url=endpoint, region="us-east-1")
    backing = SqsBacking.model_validate({"kind": "sqs", "queue": unique("q")})

    started = time.monotonic()
    with pytest.raises(ProvisionError) as caught:
        provision(target, "orders", backing, tmp_path)
    elapsed = time.monotonic() - started

    assert str(caught.value) == (
        f"orders: queue {backing.queue}: cannot reach {endpoint}: connection refused"
    )
    assert elapsed < 8
    with pytest.raises(ProvisionError, match=f"^sqs: queue .*: cannot reach {endpoint}"):
        missing(target, backing)


def test_unknown_profile_is_named(tmp_path: Path) -> None:
    target = AwsTarget(endpoint_url=None, region="us-east-1", profile="devstack-no-such-profile")
    backing = SsmBacking.model_validate({"kind": "ssm", "parameters": {"a": "b"}})

    with pytest.raises(ProvisionError, match="profile 'devstack-no-such-profile' not found"):
        provision(target, "config", backing, tmp_path)


def test_no_credentials_for_aws_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No credentials anywhere boto3 looks, so the call fails before anything is sent.
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    target = AwsTarget(endpoint_url=None, region="eu-central-1")
    backing = SecretsManagerBacking.model_validate(
        {"kind": "secretsmanager", "secrets": {"db": "hunter22"}}
    )

    with pytest.raises(ProvisionError) as caught:
        provision(target, "secrets", backing, tmp_path)

    assert str(caught.value) == (
        "secrets: secret db: no AWS credentials: give the provider a profile, "
        "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )


def test_seed_item_without_its_key_is_refused_before_the_table_exists(
    target: AwsTarget, tmp_path: Path
) -> None:
    table = unique("bad-seed")
    backing = DynamoDbBacking.model_validate(
        {
            "kind": "dynamodb",
            "table": table,
            "key": {"id": "S", "at": "N"},
            "seed": {"items": [{"id": "a", "at": 1}, {"id": "no-sort-key"}]},
        }
    )

    with pytest.raises(ProvisionError) as caught:
        provision(target, "carts", backing, tmp_path)

    assert str(caught.value) == f"carts: seed item 2 of table {table}: no value for key at"
    assert missing(target, backing) == [f"table {table}"]


def test_a_secret_scheduled_for_deletion_is_reported_not_resurrected(
    target: AwsTarget, tmp_path: Path
) -> None:
    name = unique("deleted")
    client = target.client("secretsmanager")
    client.create_secret(Name=name, SecretString="old")
    client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    backing = SecretsManagerBacking.model_validate(
        {"kind": "secretsmanager", "secrets": {name: "very-secret-value"}}
    )
    assert missing(target, backing) == [f"secret {name}"]

    with pytest.raises(ProvisionError) as caught:
        provision(target, "secrets", backing, tmp_path)

    assert str(caught.value) == (
        f"secrets: secret {name}: scheduled for deletion: restore it (aws secretsmanager "
        "restore-secret) or delete it for good (--force-delete-without-recovery)"
    )


def test_a_refused_request_names_the_resource_and_the_cause(
    target: AwsTarget, tmp_path: Path
) -> None:
    # Both emulators refuse names under /aws/, as AWS does.
    backing = SsmBacking.model_validate(
        {
            "kind": "ssm",
            "path": "/aws",
            "parameters": {"token": {"value": "tok-9876543210", "secure": True}},
        }
    )

    with pytest.raises(ProvisionError) as caught:
        provision(target, "config", backing, tmp_path)

    message = str(caught.value)
    assert message.startswith(
        "config: parameter /aws/token: PutParameter failed: AccessDeniedException: "
    )
    assert "reserved parameter name" in message
    assert "\n" not in message
    assert "tok-9876543210" not in message
