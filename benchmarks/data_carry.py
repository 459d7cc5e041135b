"""Carrying backing data between MiniStack and moto (issue 13), beside the tools one would
use instead, in the same run:

- S3: N objects of 1 KiB (10,000; --quick 1,000) carried MiniStack -> moto by devstack's
  carry (what `swap --carry` runs), vs `rclone sync` between the same two endpoints
  (Debian's rclone, default settings). Target: at most 1.2x.
- DynamoDB: N items carried, vs a plain boto3 scan + batch-write loop. Target: at most 1.0x.
- Memory: the peak RSS (VmHWM) of the process carrying 1 GiB of 1 MiB objects (--quick:
  64 MiB). Target: at most 150 MB.

Each devstack carry runs in a child process, so its peak RSS is its own. Before every
repetition the destination is emptied, so each copies everything. The carry's figure
includes what rclone does not do: writing the snapshot to disk, and checking the
destination against it afterwards.

Usage: python benchmarks/data_carry.py [--quick] [--reps N] [--only s3,dynamodb,memory]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import free_ports  # noqa: E402
from figures import Figure, Series, Target  # noqa: E402
from plan import Plan, Skipped  # noqa: E402

REGION = "us-east-1"
BUCKET, TABLE = "carry-bench", "carry-bench"


def _client(url: str, service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, endpoint_url=url, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(max_pool_connections=32, s3={"addressing_style": "path"}),
    )  # fmt: skip


def _start(argv: list[str], health: str, port: int, log: Path, env: dict[str, str]) -> Any:
    out = log.open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise Skipped(f"{argv[2]} did not start: {log.read_text(errors='replace')[-300:]}")


def emulators(work: Path) -> tuple[list[Any], str, str]:
    for module in ("ministack", "moto"):
        try:
            __import__(module)
        except ImportError:
            raise Skipped(f"{module} is not installed (pip install -e '.[emulators]')") from None
    ms_port, moto_port = free_ports(2)
    env = {**os.environ, "GATEWAY_PORT": str(ms_port), "BIND_HOST": "127.0.0.1",
           "LOG_LEVEL": "WARNING", "TMPDIR": str(work)}  # fmt: skip
    ms = _start([sys.executable, "-m", "ministack"], "/_ministack/health", ms_port,
                work / "ministack.log", env)  # fmt: skip
    moto = _start([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                  "/moto-api/", moto_port, work / "moto.log", dict(os.environ))  # fmt: skip
    return [ms, moto], f"http://127.0.0.1:{ms_port}", f"http://127.0.0.1:{moto_port}"


def fill_bucket(url: str, bucket: str, count: int, size: int) -> None:
    s3 = _client(url, "s3")
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(size)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: s3.put_object(Bucket=bucket, Key=f"obj/{n:06d}", Body=body),
                      range(count)))  # fmt: skip


def empty_bucket(url: str, bucket: str) -> None:
    s3 = _client(url, "s3")
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    except s3.exceptions.NoSuchBucket:
        s3.create_bucket(Bucket=bucket)


def count_objects(url: str, bucket: str) -> int:
    pages = _client(url, "s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(len(p.get("Contents", [])) for p in pages)


def fill_table(url: str, count: int) -> None:
    db = _client(url, "dynamodb")
    db.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )  # fmt: skip
    items = [{"PutRequest": {"Item": {"id": {"S": f"item-{n:06d}"}, "n": {"N": str(n)},
                                      "text": {"S": "x" * 200}}}} for n in range(count)]  # fmt: skip
    for start in range(0, count, 25):
        db.batch_write_item(RequestItems={TABLE: items[start : start + 25]})


def drop_table(url: str) -> None:
    db = _client(url, "dynamodb")
    try:
        db.delete_table(TableName=TABLE)
    except db.exceptions.ResourceNotFoundException:
        return


def count_items(url: str) -> int:
    pages = _client(url, "dynamodb").get_paginator("scan").paginate(TableName=TABLE, Select="COUNT")
    return sum(int(p["Count"]) for p in pages)


def create_like(url: str) -> None:
    _client(url, "dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )  # fmt: skip


def plain_scan_write(src: str, dst: str) -> None:
    """The baseline: scan the source page by page, batch-write each page's items."""
    source, dest = _client(src, "dynamodb"), _client(dst, "dynamodb")
    for page in source.get_paginator("scan").paginate(TableName=TABLE):
        items = page.get("Items", [])
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]
            pending: dict[str, Any] = {TABLE: batch}
            while pending:
                pending = dest.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def carry_child(kind: str, src: str, dst: str, name: str) -> tuple[float, float]:
    """devstack's carry in a child process: (seconds, peak RSS in MB)."""
    code = (
        f"import sys, json; sys.path.insert(0, {str(HERE)!r})\n"
        "import data_carry; print(json.dumps(data_carry.carry_here(*sys.argv[1:])))"
    )
    out = subprocess.run([sys.executable, "-c", code, kind, src, dst, name],
                         capture_output=True, text=True, check=True)  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["rss_mb"])


def carry_here(kind: str, src: str, dst: str, name: str) -> dict[str, float]:
    from devstack.data.adapter import DataTarget
    from devstack.data.progress import Meter
    from devstack.data.run import carry
    from devstack.data.snapshot import SnapshotStore
    from devstack.providers.aws import AwsTarget

    resources = {"bucket": name} if kind == "s3" else {"table": name}

    def target(url: str, provider: str) -> DataTarget:
        aws = AwsTarget(endpoint_url=url, region=REGION, localstack=provider == "ministack")
        return DataTarget(name, kind, provider, provider, resources, aws=aws)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        carry(SnapshotStore(Path(tmp)), {name: target(src, "ministack")},
              {name: target(dst, "moto")}, Meter(quiet=True))  # fmt: skip
        seconds = time.perf_counter() - start
    peak = next(line for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmHWM:"))  # fmt: skip
    return {"seconds": seconds, "rss_mb": int(peak.split()[1]) / 1024}


def rclone_sync(src: str, dst: str) -> Callable[[], None] | None:
    rclone = shutil.which("rclone")
    if rclone is None:
        return None
    # The endpoints are plain HTTP on this machine; an AWS_CA_BUNDLE from the environment
    # only makes rclone 1.60 refuse to start (LoadCustomCABundleError).
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    for remote, url in (("MS", src), ("MOTO", dst)):
        env.update({f"RCLONE_CONFIG_{remote}_TYPE": "s3", f"RCLONE_CONFIG_{remote}_PROVIDER": "Other",
                    f"RCLONE_CONFIG_{remote}_ENDPOINT": url, f"RCLONE_CONFIG_{remote}_ACCESS_KEY_ID": "test",
                    f"RCLONE_CONFIG_{remote}_SECRET_ACCESS_KEY": "test",
                    f"RCLONE_CONFIG_{remote}_REGION": REGION})  # fmt: skip

    def run() -> None:
        done = subprocess.run([rclone, "sync", f"ms:{BUCKET}", f"moto:{BUCKET}"], env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"rclone sync failed: {done.stderr.strip()[-500:]}")

    return run


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


PARTS = ("s3", "dynamodb", "memory")


def run(plan: Plan, only: tuple[str, ...] = PARTS) -> list[Figure]:
    """The figures of the parts in `only` (the harness runs them all; one part alone is
    for working on it: the S3 part at full size takes minutes)."""
    objects = 1_000 if plan.quick else 10_000
    items = 1_000 if plan.quick else 10_000
    big_mib = 64 if plan.quick else 1024
    reps = plan.reps
    work = plan.folder("emulators")
    procs, ms, moto = emulators(work)
    figures = []
    try:
        if "s3" in only:
            figures.append(_s3(ms, moto, objects, reps))
        if "dynamodb" in only:
            figures.append(_dynamodb(ms, moto, items, reps))
        if "memory" in only:
            figures.append(_memory(ms, moto, big_mib))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # moto holding a GiB can take longer to go
                proc.kill()
                proc.wait()
    return figures


def _s3(ms: str, moto: str, objects: int, reps: int) -> Figure:
    fill_bucket(ms, BUCKET, objects, 1024)
    ours, theirs, rss = [], [], []
    sync = rclone_sync(ms, moto)
    for _ in range(reps):
        empty_bucket(moto, BUCKET)
        seconds, peak = carry_child("s3", ms, moto, BUCKET)
        assert count_objects(moto, BUCKET) == objects
        ours.append(seconds)
        rss.append(peak)
        if sync is not None:
            empty_bucket(moto, BUCKET)
            theirs.append(timed(sync))
            assert count_objects(moto, BUCKET) == objects
    notes = [f"carry peak RSS {max(rss):.0f} MB"]
    if sync is None:
        notes.append("rclone is not installed (apt-get install rclone): no baseline")
    return Figure(
        "data_carry", f"S3 carry, {objects:,} objects of 1 KiB, MiniStack -> moto", "s", None,
        Series("devstack carry", ours), [Series("rclone sync", theirs)],
        Target(1.2, "p50", "issue 13", against="rclone sync"), notes,
    )  # fmt: skip


def _dynamodb(ms: str, moto: str, items: int, reps: int) -> Figure:
    fill_table(ms, items)
    ours, theirs = [], []
    for _ in range(reps):
        drop_table(moto)
        ours.append(carry_child("dynamodb", ms, moto, TABLE)[0])
        assert count_items(moto) == items
        drop_table(moto)
        create_like(moto)
        theirs.append(timed(lambda: plain_scan_write(ms, moto)))
        assert count_items(moto) == items
    return Figure(
        "data_carry", f"DynamoDB carry, {items:,} items, MiniStack -> moto", "s", None,
        Series("devstack carry", ours), [Series("boto3 scan + batch-write", theirs)],
        Target(1.0, "p50", "issue 13", against="boto3 scan + batch-write"),
        ["the carry creates the table from the snapshot's key schema; the baseline's "
         "table is created before its timer starts"],
    )  # fmt: skip


def _memory(ms: str, moto: str, big_mib: int) -> Figure:
    fill_bucket(ms, "carry-big", big_mib, 1 << 20)
    seconds, peak = carry_child("s3", ms, moto, "carry-big")
    return Figure(
        "data_carry", f"peak RSS carrying {big_mib} MiB of 1 MiB objects", "MB", None,
        Series("devstack carry", [peak]), [], Target(150.0, "p95", "issue 13"),
        [f"took {seconds:.1f} s"],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument(
        "--only", metavar="PART[,PART]", default=",".join(PARTS),
        help=f"run only these parts ({', '.join(PARTS)}; default all)",
    )  # fmt: skip
    args = parser.parse_args()
    only = tuple(args.only.split(","))
    if unknown := set(only) - set(PARTS):
        parser.error(
            f"unknown part(s) {', '.join(sorted(unknown))}: choose from {', '.join(PARTS)}"
        )
    with tempfile.TemporaryDirectory(prefix="devstack-bench-") as tmp:
        plan = Plan((1,), args.reps or (1 if args.quick else 3), args.quick, Path(tmp))
        for figure in run(plan, only):
            print(json.dumps(figure.to_json()))


if __name__ == "__main__":
    main()
