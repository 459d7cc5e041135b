"""Snapshot and restore with the real LocalStack container: S3 objects and SSM parameters
round-trip between MiniStack and LocalStack, both ways, item by item.

One LocalStack container serves the module (started with `docker run`, removed at the
end); MiniStack is the session's (conftest.py).
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components import unavailable
from devstack.data.adapter import DataOptions, DataTarget
from devstack.data.progress import Meter
from devstack.data.run import restore, take_snapshot
from devstack.data.snapshot import SnapshotStore
from devstack.providers.aws import AwsTarget
from docker_images import LOCALSTACK_IMAGE, ensure_engine, localstack_image_missing

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(240)]
READY_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def localstack() -> Iterator[str]:
    reason = ensure_engine() or localstack_image_missing()
    if reason:
        unavailable(reason)
    name = f"devstack-test-data-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::4566",
         "-e", "SERVICES=s3,ssm", LOCALSTACK_IMAGE],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        port = (
            subprocess.run(
                ["docker", "port", name, "4566/tcp"], check=True, capture_output=True, text=True
            )
            .stdout.split(":")[-1]
            .strip()
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_TIMEOUT
        while not _ready(url):
            if time.monotonic() > deadline:
                logs = subprocess.run(
                    ["docker", "logs", name], capture_output=True, text=True, check=False
                )
                pytest.fail(
                    f"LocalStack was not ready in {READY_TIMEOUT:g}s: {logs.stdout[-1000:]}"
                )
            time.sleep(0.5)
        yield url
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_localstack/init/ready", timeout=2) as reply:
            return b'"completed": true' in reply.read()
    except OSError:
        return False


def target(url: str, provider: str, backing: str, kind: str, **resources: Any) -> DataTarget:
    aws = AwsTarget(endpoint_url=url, region="us-east-1", localstack=True)
    return DataTarget(backing, kind, provider, provider, resources, aws=aws)


def objects(t: DataTarget) -> dict[str, tuple[bytes, str, dict[str, str]]]:
    assert t.aws is not None
    s3, bucket = t.aws.client("s3"), t.resources["bucket"]
    out = {}
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        got = s3.get_object(Bucket=bucket, Key=obj["Key"])
        out[obj["Key"]] = (got["Body"].read(), got["ContentType"], got.get("Metadata", {}))
    return out


@pytest.mark.parametrize("direction", ["to-localstack", "from-localstack"])
def test_s3_and_ssm_round_trip_with_localstack(
    localstack: str, ministack: str, tmp_path: Path, direction: str
) -> None:
    bucket, path = f"ls-{uuid.uuid4().hex[:10]}", f"/ls{uuid.uuid4().hex[:8]}/"
    ends = [("ministack", ministack), ("localstack", localstack)]
    (src_name, src_url), (dst_name, dst_url) = ends if direction == "to-localstack" else ends[::-1]
    src = {"files": target(src_url, src_name, "files", "s3", bucket=bucket),
           "conf": target(src_url, src_name, "conf", "ssm", path=path)}  # fmt: skip
    dst = {"files": target(dst_url, dst_name, "files", "s3", bucket=bucket),
           "conf": target(dst_url, dst_name, "conf", "ssm", path=path)}  # fmt: skip
    aws = src["files"].aws
    assert aws is not None
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/b.json", Body=b"{}", ContentType="application/json",
                  Metadata={"who": "ann"})  # fmt: skip
    s3.put_object(Bucket=bucket, Key="raw", Body=bytes(range(256)))
    aws.client("ssm").put_parameter(Name=path + "x", Value="1", Type="String")
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "s", src, DataOptions(), Meter(quiet=True), {})
    outcomes = restore(store.open("s"), dst, DataOptions(), Meter(quiet=True))
    assert {o.backing: o.add for o in outcomes} == {"files": 2, "conf": 1}
    assert objects(dst["files"]) == objects(src["files"])
    got = dst["conf"].aws.client("ssm").get_parameter(Name=path + "x")  # type: ignore[union-attr]
    assert got["Parameter"]["Value"] == "1"
