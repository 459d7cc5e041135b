"""Snapshot and restore against real emulators: every kind round-trips item by item
between MiniStack and moto, both ways; a restore adds, changes and deletes; an
interrupted restore converges when run again; secrets stay out unless asked for.

One MiniStack and one moto serve the whole module (session fixtures of conftest.py);
each test works on resources of its own names.
"""

from __future__ import annotations

import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from devstack.data.adapter import DataError, DataOptions, DataTarget
from devstack.data.progress import Meter
from devstack.data.run import carry, restore, take_snapshot
from devstack.data.snapshot import SnapshotStore
from devstack.providers.aws import AwsTarget

REGION = "us-east-1"
CANARY = "canary-Data-7Qx-s3cr3t"
PAIRS = [("ministack", "moto"), ("moto", "ministack")]


class Interrupt(Exception):
    """Stands for a Ctrl-C in the middle of a run."""


def aws(request: pytest.FixtureRequest, emulator: str) -> AwsTarget:
    endpoint: str = request.getfixturevalue(emulator)
    return AwsTarget(endpoint_url=endpoint, region=REGION, localstack=emulator == "ministack")


def target(
    request: pytest.FixtureRequest, emulator: str, kind: str, backing: str, **resources: Any
) -> DataTarget:
    return DataTarget(
        backing=backing, kind=kind, provider=emulator, provider_type=emulator,
        resources=resources, aws=aws(request, emulator),
    )  # fmt: skip


def quiet() -> Meter:
    return Meter(quiet=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- what each kind holds, read back item by item --------------------------------------


def s3_objects(t: DataTarget) -> dict[str, tuple[bytes, str, dict[str, str]]]:
    assert t.aws is not None
    s3, bucket = t.aws.client("s3"), t.resources["bucket"]
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=obj["Key"])
            out[obj["Key"]] = (got["Body"].read(), got["ContentType"], got.get("Metadata", {}))
    return out


def dynamo_items(t: DataTarget) -> dict[str, Any]:
    assert t.aws is not None
    db = t.aws.client("dynamodb")
    items = db.scan(TableName=t.resources["table"])["Items"]
    # Decoded: 12.345 and 12.3450 are one number, a set has no order.
    plain = TypeDeserializer()
    return {(i["pk"]["S"], i["sk"]["N"]): plain.deserialize({"M": i}) for i in items}


def ssm_values(t: DataTarget) -> dict[str, tuple[str, str]]:
    assert t.aws is not None
    ssm = t.aws.client("ssm")
    out = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=t.resources["path"].rstrip("/"), Recursive=True, WithDecryption=True
    ):
        for p in page["Parameters"]:
            out[p["Name"]] = (p["Type"], p["Value"])
    return out


# --- fixtures of data ------------------------------------------------------------------


def fill_s3(t: DataTarget) -> None:
    assert t.aws is not None
    s3, bucket = t.aws.client("s3"), t.resources["bucket"]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello", ContentType="text/plain")
    s3.put_object(
        Bucket=bucket, Key="dir/photo.bin", Body=bytes(range(256)) * 40,
        ContentType="image/png", Metadata={"owner": "ann", "x-size": "big"},
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key="empty", Body=b"", ContentType="application/json")


def fill_dynamo(t: DataTarget) -> None:
    assert t.aws is not None
    db, table = t.aws.client("dynamodb"), t.resources["table"]
    db.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    for n in range(30):
        item = {
            "pk": {"S": f"user#{n % 3}"},
            "sk": {"N": str(n)},
            "price": {"N": "12.3450"},
            "blob": {"B": bytes([n, 0, 255])},
            "tags": {"SS": ["a", f"t{n}"]},
            "nested": {"M": {"ok": {"BOOL": True}, "none": {"NULL": True}}},
        }
        db.put_item(TableName=table, Item=item)


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "dest"), PAIRS)
def test_s3_round_trip_keeps_bodies_content_types_and_metadata(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, dest: str
) -> None:
    bucket = unique("data")
    src = target(request, source, "s3", "uploads", bucket=bucket)
    dst = target(request, dest, "s3", "uploads", bucket=bucket)
    fill_s3(src)
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "one", {"uploads": src}, DataOptions(), quiet(), {})
    assert store.open("one").verify() == []
    outcomes = restore(store.open("one"), {"uploads": dst}, DataOptions(), quiet())
    assert (outcomes[0].add, outcomes[0].change, outcomes[0].delete) == (3, 0, 0)
    assert s3_objects(dst) == s3_objects(src)


@pytest.mark.parametrize(("source", "dest"), PAIRS)
def test_dynamodb_round_trip_creates_the_table_and_keeps_every_type(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, dest: str
) -> None:
    table = unique("orders")
    src = target(request, source, "dynamodb", "orders", table=table)
    dst = target(request, dest, "dynamodb", "orders", table=table)
    fill_dynamo(src)
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "one", {"orders": src}, DataOptions(), quiet(), {})
    restore(store.open("one"), {"orders": dst}, DataOptions(), quiet())
    assert dynamo_items(dst) == dynamo_items(src)
    assert len(dynamo_items(dst)) == 30


@pytest.mark.parametrize(("source", "dest"), PAIRS)
def test_ssm_round_trip_with_secrets_and_without(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, dest: str
) -> None:
    path = f"/{unique('app')}/"
    src = target(request, source, "ssm", "config", path=path)
    dst = target(request, dest, "ssm", "config", path=path)
    assert src.aws is not None and dst.aws is not None
    ssm = src.aws.client("ssm")
    ssm.put_parameter(Name=path + "greeting", Value="hello", Type="String")
    ssm.put_parameter(Name=path + "list", Value="a,b", Type="StringList")
    ssm.put_parameter(Name=path + "db/password", Value=CANARY, Type="SecureString")
    dst.aws.client("ssm").put_parameter(
        Name=path + "db/password", Value="kept", Type="SecureString"
    )
    store = SnapshotStore(tmp_path)

    take_snapshot(store, "plain", {"config": src}, DataOptions(), quiet(), {})
    files = [p for p in (tmp_path / "snapshots").rglob("*") if p.is_file()]
    assert all(CANARY not in p.read_text(errors="replace") for p in files)
    outcomes = restore(store.open("plain"), {"config": dst}, DataOptions(), quiet())
    assert outcomes[0].omitted == 1
    # The SecureString left out is neither written nor deleted.
    assert ssm_values(dst) == {
        path + "greeting": ("String", "hello"),
        path + "list": ("StringList", "a,b"),
        path + "db/password": ("SecureString", "kept"),
    }

    take_snapshot(store, "secret", {"config": src}, DataOptions(include_secrets=True), quiet(), {})
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "snapshots" / "secret").rglob("*")}
    assert modes <= {0o600, 0o700}
    restore(store.open("secret"), {"config": dst}, DataOptions(), quiet())
    assert ssm_values(dst) == ssm_values(src)


@pytest.mark.parametrize(("source", "dest"), PAIRS)
def test_secretsmanager_values_only_with_include_secrets(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, dest: str
) -> None:
    name = unique("api-key")
    src = target(request, source, "secretsmanager", "keys", secrets={name: "x"})
    dst = target(request, dest, "secretsmanager", "keys", secrets={name: "x"})
    assert src.aws is not None and dst.aws is not None
    src.aws.client("secretsmanager").create_secret(Name=name, SecretString=CANARY)
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "plain", {"keys": src}, DataOptions(), quiet(), {})
    plan = restore(store.open("plain"), {"keys": dst}, DataOptions(), quiet(), dry_run=True)
    assert (plan[0].add, plan[0].omitted) == (0, 1)
    take_snapshot(store, "secret", {"keys": src}, DataOptions(include_secrets=True), quiet(), {})
    restore(store.open("secret"), {"keys": dst}, DataOptions(), quiet())
    got = dst.aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    assert got == CANARY


@pytest.mark.parametrize(("source", "dest"), PAIRS)
def test_sqs_messages_are_read_without_being_lost(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, dest: str
) -> None:
    queue = unique("jobs")
    src = target(request, source, "sqs", "jobs", queue=queue)
    dst = target(request, dest, "sqs", "jobs", queue=queue)
    assert src.aws is not None and dst.aws is not None
    sqs = src.aws.client("sqs")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    dst.aws.client("sqs").create_queue(QueueName=queue)
    bodies = {f"job {n}" for n in range(13)}
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    store = SnapshotStore(tmp_path)

    take_snapshot(store, "none", {"jobs": src}, DataOptions(), quiet(), {})
    assert store.open("none").backings()["jobs"].items == []
    take_snapshot(store, "msgs", {"jobs": src}, DataOptions(include_messages=True), quiet(), {})
    assert len(store.open("msgs").backings()["jobs"].items) == 13
    # Still there, visible at once: a consumer loses nothing.
    assert receive_all(sqs, url) == bodies
    restore(store.open("msgs"), {"jobs": dst}, DataOptions(), quiet())
    dst_sqs = dst.aws.client("sqs")
    assert receive_all(dst_sqs, dst_sqs.get_queue_url(QueueName=queue)["QueueUrl"]) == bodies


def receive_all(sqs: Any, url: str) -> set[str]:
    seen: set[str] = set()
    for _ in range(20):
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        messages = reply.get("Messages", [])
        if not messages and seen:
            break
        seen.update(m["Body"] for m in messages)
    return seen


# --- restore makes equal; interruptions ------------------------------------------------


def test_restore_adds_changes_deletes_and_an_interrupted_one_converges(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    bucket = unique("conv")
    src = target(request, "ministack", "s3", "uploads", bucket=bucket)
    dst = target(request, "moto", "s3", "uploads", bucket=bucket)
    assert dst.aws is not None
    fill_s3(src)
    s3 = src.aws.client("s3") if src.aws else None
    assert s3 is not None
    for n in range(40):
        s3.put_object(Bucket=bucket, Key=f"many/{n:03d}", Body=f"body {n}".encode())
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "one", {"uploads": src}, DataOptions(), quiet(), {})

    fill_s3(dst)  # the same objects...
    d3 = dst.aws.client("s3")
    d3.put_object(Bucket=bucket, Key="a.txt", Body=b"changed", ContentType="text/plain")
    d3.put_object(Bucket=bucket, Key="empty", Body=b"", ContentType="text/csv")  # headers only
    d3.put_object(Bucket=bucket, Key="stale/1", Body=b"x")
    d3.put_object(Bucket=bucket, Key="stale/2", Body=b"y")
    plan = restore(store.open("one"), {"uploads": dst}, DataOptions(), quiet(), dry_run=True)
    assert (plan[0].add, plan[0].change, plan[0].delete) == (40, 2, 2)
    assert "stale/1" in s3_objects(dst)  # a dry run changes nothing

    with pytest.raises(Interrupt):
        restore(store.open("one"), {"uploads": dst}, DataOptions(workers=2), StopAfterMeter(10))
    assert s3_objects(dst) != s3_objects(src)
    restore(store.open("one"), {"uploads": dst}, DataOptions(), quiet())
    assert s3_objects(dst) == s3_objects(src)
    again = restore(store.open("one"), {"uploads": dst}, DataOptions(), quiet(), dry_run=True)
    assert (again[0].add, again[0].change, again[0].delete) == (0, 0, 0)


class StopAfterMeter(Meter):
    def __init__(self, n: int) -> None:
        super().__init__(quiet=True)
        self.n = n

    def advance(self, items: int = 1, size: int = 0) -> None:
        super().advance(items, size)
        self.n -= items
        if self.n <= 0:
            raise Interrupt


def test_an_interrupted_snapshot_leaves_nothing(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    table = unique("cut")
    src = target(request, "moto", "dynamodb", "orders", table=table)
    fill_dynamo(src)
    store = SnapshotStore(tmp_path)
    with pytest.raises(Interrupt):
        take_snapshot(store, "cut", {"orders": src}, DataOptions(), StopAfterMeter(5), {})
    assert store.list() == []
    assert list((tmp_path / "snapshots").iterdir()) == []
    take_snapshot(store, "cut", {"orders": src}, DataOptions(), quiet(), {})
    assert [s.name for s in store.list()] == ["cut"]


def test_a_swap_carry_copies_every_kind(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    bucket, table = unique("carry"), unique("carry")
    sources = {
        "uploads": target(request, "ministack", "s3", "uploads", bucket=bucket),
        "orders": target(request, "ministack", "dynamodb", "orders", table=table),
    }
    dests = {
        "uploads": target(request, "moto", "s3", "uploads", bucket=bucket),
        "orders": target(request, "moto", "dynamodb", "orders", table=table),
    }
    fill_s3(sources["uploads"])
    fill_dynamo(sources["orders"])
    outcomes = carry(SnapshotStore(tmp_path), sources, dests, quiet())
    assert {o.backing: o.add for o in outcomes} == {"uploads": 3, "orders": 30}
    assert s3_objects(dests["uploads"]) == s3_objects(sources["uploads"])
    assert dynamo_items(dests["orders"]) == dynamo_items(sources["orders"])
    assert not any((tmp_path / "snapshots").iterdir())  # the carry's snapshot is gone


# --- DynamoDB carry: written as the source is read when the destination is empty ----------


class LabelMeter(Meter):
    """The phases a carry reports (what `devstack logs <backing>` shows)."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.labels: list[str] = []

    def start(self, label: str) -> None:
        super().start(label)
        self.labels.append(label)


def create_orders_table(t: DataTarget, key: str = "pk") -> None:
    assert t.aws is not None
    schema = [{"AttributeName": key, "KeyType": "HASH"}]
    definitions = [{"AttributeName": key, "AttributeType": "S"}]
    if key == "pk":
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "sk", "AttributeType": "N"})
    t.aws.client("dynamodb").create_table(
        TableName=t.resources["table"], KeySchema=schema, AttributeDefinitions=definitions,
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip


@pytest.mark.parametrize(("source", "dest"), PAIRS)
@pytest.mark.parametrize("before", ["no table", "an empty table"])
def test_a_dynamodb_carry_onto_an_empty_destination_copies_while_reading(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, dest: str, before: str
) -> None:
    table = unique("direct")
    src = target(request, source, "dynamodb", "orders", table=table)
    dst = target(request, dest, "dynamodb", "orders", table=table)
    fill_dynamo(src)
    if before == "an empty table":
        create_orders_table(dst)
    meter = LabelMeter()
    (outcome,) = carry(SnapshotStore(tmp_path), {"orders": src}, {"orders": dst}, meter)
    assert (outcome.add, outcome.change, outcome.delete) == (30, 0, 0)
    assert (outcome.provider, outcome.items) == (dest, 30)
    assert dynamo_items(dst) == dynamo_items(src)
    # One phase, reading and writing together: no separate snapshot, then restore.
    assert meter.labels == [f"carry orders (dynamodb, {source} -> {dest})"]
    assert not any((tmp_path / "snapshots").iterdir())


def test_a_dynamodb_carry_onto_a_table_with_items_compares_then_makes_it_equal(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    table = unique("equal")
    src = target(request, "ministack", "dynamodb", "orders", table=table)
    dst = target(request, "moto", "dynamodb", "orders", table=table)
    fill_dynamo(src)
    fill_dynamo(dst)
    assert dst.aws is not None
    db = dst.aws.client("dynamodb")
    db.put_item(TableName=table, Item={"pk": {"S": "stale"}, "sk": {"N": "1"}})
    db.put_item(TableName=table, Item={"pk": {"S": "user#0"}, "sk": {"N": "0"}, "x": {"S": "y"}})
    meter = LabelMeter()
    (outcome,) = carry(SnapshotStore(tmp_path), {"orders": src}, {"orders": dst}, meter)
    assert (outcome.add, outcome.change, outcome.delete) == (0, 1, 1)
    assert dynamo_items(dst) == dynamo_items(src)
    assert [label.split()[0] for label in meter.labels] == ["snapshot", "restore"]


def test_an_interrupted_dynamodb_carry_converges_when_run_again(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    table = unique("again")
    src = target(request, "ministack", "dynamodb", "orders", table=table)
    dst = target(request, "moto", "dynamodb", "orders", table=table)
    fill_dynamo(src)
    assert src.aws is not None
    for n in range(100):  # 130 items: several batches of 25
        item = {"pk": {"S": "more"}, "sk": {"N": str(n)}, "v": {"S": f"v{n}"}}
        src.aws.client("dynamodb").put_item(TableName=table, Item=item)
    store = SnapshotStore(tmp_path)
    options = DataOptions(include_secrets=True, include_messages=True, workers=1)
    with pytest.raises(Interrupt):  # once the first batch is written
        carry(store, {"orders": src}, {"orders": dst}, StopAfterMeter(10), options)
    written = len(dynamo_items(dst))
    assert 0 < written < 130
    assert list((tmp_path / "snapshots").iterdir()) == []  # no half snapshot left behind
    (outcome,) = carry(store, {"orders": src}, {"orders": dst}, quiet())
    assert dynamo_items(dst) == dynamo_items(src)
    assert (outcome.add, outcome.change, outcome.delete) == (130 - written, 0, 0)


def test_a_dynamodb_carry_refuses_an_empty_table_keyed_otherwise(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    table = unique("key")
    src = target(request, "ministack", "dynamodb", "orders", table=table)
    dst = target(request, "moto", "dynamodb", "orders", table=table)
    fill_dynamo(src)
    create_orders_table(dst, key="id")
    with pytest.raises(DataError, match=r"has key \['id'\], the snapshot's has \['pk', 'sk'\]"):
        carry(SnapshotStore(tmp_path), {"orders": src}, {"orders": dst}, quiet())
    assert dst.aws is not None
    assert dst.aws.client("dynamodb").scan(TableName=table)["Items"] == []


@pytest.mark.parametrize(("source", "dest"), PAIRS)
def test_items_whose_attributes_are_named_like_types_are_carried(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, dest: str
) -> None:
    """An item whose only attribute is `N` (a key-only table) is an item, not a number;
    a map whose only key is `SS` is a map, not a string set."""
    table = unique("named")
    src = target(request, source, "dynamodb", "orders", table=table)
    dst = target(request, dest, "dynamodb", "orders", table=table)
    create_orders_table(src, key="N")
    assert src.aws is not None and dst.aws is not None
    items = [
        {"N": {"S": "only-key"}},
        {"N": {"S": "map"}, "m": {"M": {"SS": {"S": "x"}, "N": {"N": "1.50"}}}},
        {"N": {"S": "list"}, "l": {"L": [{"M": {"BS": {"B": b"\x00\x01"}}}]}},
    ]
    for item in items:
        src.aws.client("dynamodb").put_item(TableName=table, Item=item)
    carry(SnapshotStore(tmp_path), {"orders": src}, {"orders": dst}, quiet())

    def read(t: AwsTarget) -> dict[str, Any]:
        got = t.client("dynamodb").scan(TableName=table)["Items"]
        return {i["N"]["S"]: TypeDeserializer().deserialize({"M": i}) for i in got}

    assert read(dst.aws) == read(src.aws)
    assert read(dst.aws)["map"]["m"] == {"SS": "x", "N": 1.5}


@pytest.mark.parametrize(("source", "dest"), PAIRS)
def test_a_table_of_several_scan_pages_is_carried_whole(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, dest: str
) -> None:
    """Scan pages stop at 1 MB: 40 items of 100 KB take several, read ahead of the writes."""
    table = unique("pages")
    src = target(request, source, "dynamodb", "orders", table=table)
    dst = target(request, dest, "dynamodb", "orders", table=table)
    create_orders_table(src)
    assert src.aws is not None
    db = src.aws.client("dynamodb")
    for n in range(40):
        body = f"{n:03d}".encode() * 34_000
        item = {"pk": {"S": "big"}, "sk": {"N": str(n)}, "body": {"B": body}}
        db.put_item(TableName=table, Item=item)
    assert "LastEvaluatedKey" in db.scan(TableName=table)  # more than one page indeed
    (outcome,) = carry(SnapshotStore(tmp_path), {"orders": src}, {"orders": dst}, quiet())
    assert outcome.add == 40
    assert bodies(dst, table) == bodies(src, table)


def bodies(t: DataTarget, table: str) -> dict[str, bytes]:
    assert t.aws is not None
    pages = t.aws.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return {i["sk"]["N"]: bytes(i["body"]["B"]) for p in pages for i in p["Items"]}
