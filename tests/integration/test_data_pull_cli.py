"""`devstack data pull` end to end: a real daemon runs MiniStack (the laptop) and moto; the
`staging` environment declares moto as an `external` provider, standing for staging. The
pull seeds MiniStack within --prefix and --limit, and staging's state is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from helpers import Stack, free_port, service

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
pytest.importorskip("moto.server", reason="moto is not installed (pip install 'moto[server]')")
boto3 = pytest.importorskip("boto3")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BUCKET = "p-uploads"


def s3(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip


def state(endpoint: str) -> str:
    """Every bucket's objects on `endpoint`: keys, bodies, content types, metadata."""
    client, seen = s3(endpoint), {}
    for bucket in sorted(b["Name"] for b in client.list_buckets()["Buckets"]):
        for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            got = client.get_object(Bucket=bucket, Key=obj["Key"])
            body = hashlib.sha256(got["Body"].read()).hexdigest()
            seen[f"{bucket}/{obj['Key']}"] = [body, got["ContentType"], got["Metadata"]]
    return json.dumps(seen, sort_keys=True)


def test_pull_seeds_the_laptop_from_staging_within_limits(stack: Stack) -> None:
    port = free_port()
    staging = f"http://127.0.0.1:{port}"
    stack.write(
        {"app": service("app", uses=["uploads", "keepalive"])},
        providers={"moto": {"type": "moto", "port": port},
                   "staging": {"type": "external", "url": staging}},
        backing={"uploads": {"kind": "s3", "bucket": BUCKET},
                 "keepalive": {"kind": "s3", "bucket": "p-other", "provider": "moto"}},
        environments={"staging": {"providers": {"uploads": "staging"}}},
    )  # fmt: skip
    stack.up()
    remote = s3(staging)
    remote.create_bucket(Bucket=BUCKET)
    for key in ("a/0", "a/1", "a/2", "a/3", "b/0"):
        remote.put_object(Bucket=BUCKET, Key=key, Body=key.encode(), ContentType="text/plain")
    before = state(staging)

    result = stack.ok("data", "pull", "uploads", "--from", "staging", "--prefix", "a/",
                      "--limit", "3", "--json")  # fmt: skip

    [summary] = json.loads(result.stdout)["backings"]
    assert (summary["add"], summary["delete"]) == (3, 0)
    local = json.loads(stack.ok("backing", "--json").stdout)
    endpoint = next(r for r in local if r["name"] == "uploads")["endpoint"]
    got = s3(endpoint).list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in got] == ["a/0", "a/1", "a/2"]
    assert state(staging) == before

    wrong = stack.run("data", "pull", "uploads", "--from", "nowhere")
    assert wrong.returncode == 1
    assert (
        wrong.stderr.strip()
        .splitlines()[-1]
        .endswith("--from nowhere: no such environment (declared: staging)")
    )
    local_only = stack.run("data", "pull", "keepalive", "--from", "staging")
    assert local_only.returncode == 1
    assert "keepalive is served by moto (moto) there" in local_only.stderr
