"""`devstack data` and `swap --carry` end to end: a real daemon running MiniStack and moto,
the CLI as users run it, the data checked through boto3 on each provider.

One stack does the whole story (a daemon start is the expensive part): snapshot, carry to
moto and back, restore after a loss, and the snapshot still there after `down -v`. A
canary SecureString never appears in any output or log.
"""

from __future__ import annotations

import json
import stat
from typing import Any

import pytest

from helpers import Stack, service

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
pytest.importorskip("moto.server", reason="moto is not installed (pip install 'moto[server]')")
boto3 = pytest.importorskip("boto3")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CANARY = "canary-Carry-9Wp-s3cr3t"
BACKING = {
    "uploads": {"kind": "s3", "bucket": "d-uploads"},
    "orders": {"kind": "dynamodb", "table": "d-orders", "key": {"id": "S"}},
    "settings": {
        "kind": "ssm",
        "path": "/d/",
        "parameters": {"greeting": "hello", "password": {"value": CANARY, "secure": True}},
    },
}


def client(kind: str, endpoint: str) -> Any:
    return boto3.client(
        kind, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip


def endpoint(stack: Stack, backing: str) -> str:
    rows = json.loads(stack.ok("backing", "--json").stdout)
    return str(next(r for r in rows if r["name"] == backing)["endpoint"])


def objects(url: str) -> dict[str, tuple[bytes, str]]:
    s3 = client("s3", url)
    listed = s3.list_objects_v2(Bucket="d-uploads").get("Contents", [])
    out = {}
    for obj in listed:
        got = s3.get_object(Bucket="d-uploads", Key=obj["Key"])
        out[obj["Key"]] = (got["Body"].read(), got["ContentType"])
    return out


def test_snapshot_carry_restore_and_the_snapshot_outlives_down(stack: Stack) -> None:
    stack.write({"api": service("api", uses=["uploads", "orders", "settings"])}, backing=BACKING)
    stack.up()
    outputs: list[str] = []

    def ok(*args: str) -> Any:
        result = stack.ok(*args)
        outputs.extend([result.stdout, result.stderr])
        return result

    ministack = endpoint(stack, "uploads")
    s3 = client("s3", ministack)
    for n in range(5):
        s3.put_object(
            Bucket="d-uploads",
            Key=f"f/{n}.txt",
            Body=f"file {n}".encode(),
            ContentType="text/plain",
        )
    client("dynamodb", ministack).put_item(
        TableName="d-orders", Item={"id": {"S": "o1"}, "n": {"N": "3"}}
    )

    summary = json.loads(ok("data", "snapshot", "snap1", "--json").stdout)
    assert {b["backing"]: b["items"] for b in summary["backings"]} == {
        "orders": 1, "settings": 1, "uploads": 5,
    }  # fmt: skip
    assert {b["backing"]: b["omitted"] for b in summary["backings"]}["settings"] == 1
    assert "snap1" in ok("data", "list").stdout
    assert "snap1: 7 item(s), all match the manifest" in ok("data", "verify", "snap1").stdout
    snapshot_dir = stack.root / ".devstack" / "snapshots" / "snap1"
    assert all(stat.S_IMODE(p.stat().st_mode) in (0o600, 0o700) for p in snapshot_dir.rglob("*"))

    preview = ok("swap", "uploads", "moto", "--carry", "--dry-run").stdout
    assert "carry uploads: would copy 5 item(s)" in preview
    ok("swap", "uploads", "moto", "--carry")
    moto = endpoint(stack, "uploads")
    assert moto != ministack
    assert objects(moto) == objects(ministack)

    # Changes made on moto travel back with --undo --carry.
    m3 = client("s3", moto)
    m3.delete_object(Bucket="d-uploads", Key="f/0.txt")
    m3.put_object(Bucket="d-uploads", Key="new.json", Body=b"{}", ContentType="application/json")
    ok("swap", "uploads", "--undo", "--carry")
    assert endpoint(stack, "uploads") == ministack
    assert set(objects(ministack)) == {"f/1.txt", "f/2.txt", "f/3.txt", "f/4.txt", "new.json"}

    dry = ok("data", "restore", "snap1", "uploads", "--dry-run").stdout
    assert "uploads (s3 on ministack): 1 to add, 0 to change, 1 to delete" in dry
    ok("data", "restore", "snap1")
    assert set(objects(ministack)) == {f"f/{n}.txt" for n in range(5)}

    ok("down", "-v")
    assert "snap1" in ok("data", "list").stdout
    log = (stack.root / ".devstack" / "daemon.log").read_text(errors="replace")
    logs = "".join(
        p.read_text(errors="replace")
        for p in (stack.root / ".devstack" / "logs").rglob("*")
        if p.is_file()
    )
    assert CANARY not in "".join(outputs) + log + logs


def test_bad_arguments_get_one_line(stack: Stack) -> None:
    stack.write({"api": service("api", uses=["uploads"])}, backing=BACKING)
    missing = stack.run("data", "restore", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no snapshot named nope (snapshots: none)"
    bad = stack.run("data", "snapshot", "../x")
    assert bad.returncode == 1 and "invalid snapshot name '../x'" in bad.stderr
    assert "Traceback" not in missing.stderr + bad.stderr
