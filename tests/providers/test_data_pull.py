"""`data pull` against real emulators: moto stands for staging (an `external` provider of
the `staging` environment), MiniStack for the laptop. The pull seeds MiniStack within
--prefix and --limit, keeps what MiniStack already held, and leaves staging's state digest
unchanged.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.config.loader import load_stack
from devstack.data.adapter import DataError, DataTarget
from devstack.data.progress import Meter
from devstack.data.pull import pull, source_target
from devstack.data.snapshot import SnapshotStore
from devstack.providers.aws import AwsTarget

REGION = "us-east-1"
CANARY = "canary-Pull-3Vd-s3cr3t"


def staging_state(endpoint: str) -> str:
    """A digest of everything staging holds: every bucket's objects (key, body, type,
    metadata) and every table's items."""
    aws = AwsTarget(endpoint_url=endpoint, region=REGION)
    s3, db, ssm = aws.client("s3"), aws.client("dynamodb"), aws.client("ssm")
    state: dict[str, Any] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/", Recursive=True, WithDecryption=True
    ):
        for p in page["Parameters"]:
            state[f"ssm/{p['Name']}"] = [p["Type"], p["Value"], p["Version"]]
    for bucket in sorted(b["Name"] for b in s3.list_buckets()["Buckets"]):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket, Key=obj["Key"])
                body = hashlib.sha256(got["Body"].read()).hexdigest()
                state[f"s3/{bucket}/{obj['Key']}"] = [body, got["ContentType"], got["Metadata"]]
    for table in sorted(db.list_tables()["TableNames"]):
        for page in db.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                state[f"dynamodb/{table}/{json.dumps(item, sort_keys=True, default=repr)}"] = 1
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


@pytest.fixture
def names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"bucket": f"uploads-{tag}", "table": f"orders-{tag}", "path": f"/p-{tag}/"}


@pytest.fixture
def stack(tmp_path: Path, moto: str, names: dict[str, str]) -> Any:
    manifest = {
        "name": "shop",
        "providers": {"staging": {"type": "external", "url": moto}},
        "backing": {
            "uploads": {"kind": "s3", "bucket": names["bucket"]},
            "orders": {"kind": "dynamodb", "table": names["table"], "key": {"id": "S"}},
            "flags": {"kind": "ssm", "path": "/shop/"},
            "settings": {"kind": "ssm", "path": names["path"]},
            "jobs": {"kind": "sqs", "queue": "jobs"},
        },
        "environments": {
            "staging": {
                "providers": {"uploads": "staging", "orders": "staging", "settings": "staging"}
            },
        },
        "services": {"api": {"command": "true", "uses": ["uploads", "orders"]}},
    }
    (tmp_path / "devstack.yaml").write_text(yaml.safe_dump(manifest))
    return load_stack(tmp_path / "devstack.yaml")


def seed_staging(moto: str, names: dict[str, str]) -> None:
    aws = AwsTarget(endpoint_url=moto, region=REGION)
    s3, db = aws.client("s3"), aws.client("dynamodb")
    s3.create_bucket(Bucket=names["bucket"])
    for folder, count in (("a/", 5), ("b/", 3)):
        for n in range(count):
            s3.put_object(
                Bucket=names["bucket"], Key=f"{folder}{n}.txt", Body=f"{folder}{n}".encode(),
                ContentType="text/plain", Metadata={"origin": "staging"},
            )  # fmt: skip
    db.create_table(
        TableName=names["table"],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(6):
        prefix = "eu-" if n % 2 else "us-"
        db.put_item(
            TableName=names["table"], Item={"id": {"S": f"{prefix}{n}"}, "n": {"N": str(n)}}
        )
    ssm = aws.client("ssm")
    ssm.put_parameter(Name=f"{names['path']}greeting", Value="hello", Type="String")
    ssm.put_parameter(Name=f"{names['path']}token", Value=CANARY, Type="SecureString")


def local(ministack: str, kind: str, **resources: Any) -> DataTarget:
    backing = {"s3": "uploads", "dynamodb": "orders", "ssm": "settings"}[kind]
    return DataTarget(
        backing=backing, kind=kind, provider="ministack",
        provider_type="ministack", resources={"kind": kind, **resources},
        aws=AwsTarget(endpoint_url=ministack, region=REGION, localstack=True),
    )  # fmt: skip


def test_pull_seeds_within_prefix_and_limit_and_leaves_staging_as_it_was(
    moto: str, ministack: str, stack: Any, names: dict[str, str], tmp_path: Path
) -> None:
    seed_staging(moto, names)
    before = staging_state(moto)
    dest = local(ministack, "s3", bucket=names["bucket"])
    s3 = dest.aws.client("s3") if dest.aws else None
    s3.create_bucket(Bucket=names["bucket"])
    s3.put_object(Bucket=names["bucket"], Key="mine.txt", Body=b"made on the laptop")
    store = SnapshotStore(tmp_path / ".devstack")

    source = source_target(stack.stack, stack.root, "staging", "uploads", {})
    [outcome] = pull(store, source, dest, Meter(quiet=True), prefix="a/", limit=3)

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=names["bucket"])["Contents"]]
    assert keys == ["a/0.txt", "a/1.txt", "a/2.txt", "mine.txt"]
    got = s3.get_object(Bucket=names["bucket"], Key="a/1.txt")
    assert (got["Body"].read(), got["Metadata"]) == (b"a/1", {"origin": "staging"})
    assert (outcome.add, outcome.delete) == (3, 0)

    table = source_target(stack.stack, stack.root, "staging", "orders", {})
    rows = local(ministack, "dynamodb", table=names["table"], key={"id": "S"})
    pull(store, table, rows, Meter(quiet=True), prefix="eu-", limit=2)
    db = rows.aws.client("dynamodb") if rows.aws else None
    ids = sorted(i["id"]["S"] for i in db.scan(TableName=names["table"])["Items"])
    assert len(ids) == 2 and all(i.startswith("eu-") for i in ids)
    db.put_item(TableName=names["table"], Item={"id": {"S": "local-1"}})
    pull(store, table, rows, Meter(quiet=True), prefix="us-")  # again: adds, keeps local-1
    ids = sorted(i["id"]["S"] for i in db.scan(TableName=names["table"])["Items"])
    assert [i[:3] for i in ids] == ["eu-", "eu-", "loc", "us-", "us-", "us-"]

    settings = source_target(stack.stack, stack.root, "staging", "settings", {})
    params = local(ministack, "ssm", path=names["path"])
    local_ssm = params.aws.client("ssm") if params.aws else None
    local_ssm.put_parameter(Name=f"{names['path']}mine", Value="laptop", Type="String")
    pull(store, settings, params, Meter(quiet=True))
    found = local_ssm.get_parameters_by_path(Path=names["path"], WithDecryption=True)
    assert {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in found["Parameters"]} == {
        "greeting": "hello",  # pulled
        "mine": "laptop",  # kept: a pull deletes nothing here
    }  # the SecureString stayed on staging

    assert staging_state(moto) == before
    assert not list((tmp_path / ".devstack" / "snapshots").iterdir())  # nothing left behind


def test_pull_reads_only_from_a_staging_provider(
    moto: str, ministack: str, stack: Any, names: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(
        DataError, match=r"^--from nowhere: no such environment \(declared: staging\)$"
    ):
        source_target(stack.stack, stack.root, "nowhere", "uploads", {})
    with pytest.raises(DataError, match=r"flags is served by ministack \(ministack\) there"):
        source_target(stack.stack, stack.root, "staging", "flags", {})
    with pytest.raises(
        DataError, match=r"^jobs: pull copies s3, dynamodb, ssm, postgres, not sqs "
    ):
        source_target(stack.stack, stack.root, "staging", "jobs", {})
    source = source_target(stack.stack, stack.root, "staging", "orders", {})
    assert source.aws is not None
    with pytest.raises(
        DataError, match=r"^refused dynamodb DeleteTable on http://127\.0\.0\.1:\d+: "
    ):
        source.aws.client("dynamodb").delete_table(TableName=names["table"])
