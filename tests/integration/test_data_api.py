"""The daemon's snapshot and restore routes (what the TUI's `s` and `r` call) on a real
daemon running MiniStack: the data checked through boto3 on the provider, the snapshot
through `devstack data list`, errors as one line, and a SecureString canary nowhere.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.api.client import ApiError, Client
from helpers import Stack, service

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
boto3 = pytest.importorskip("boto3")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CANARY = "canary-Api-4Tq-s3cr3t"
BACKING = {
    "uploads": {"kind": "s3", "bucket": "a-uploads"},
    "settings": {
        "kind": "ssm",
        "path": "/a/",
        "parameters": {"greeting": "hello", "password": {"value": CANARY, "secure": True}},
    },
}


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip


def keys(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket="a-uploads").get("Contents", [])}


def failure(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def test_snapshot_preview_and_restore_through_the_api(stack: Stack) -> None:
    stack.write({"api": service("api", uses=["uploads", "settings"])}, backing=BACKING)
    stack.up()
    api = Client(stack.socket, timeout=60)
    answers: list[str] = []
    rows = json.loads(stack.ok("backing", "--json").stdout)
    s3 = s3_client(next(r["endpoint"] for r in rows if r["name"] == "uploads"))
    for n in range(3):
        s3.put_object(Bucket="a-uploads", Key=f"k/{n}", Body=f"body {n}".encode())

    assert api.snapshots() == []
    taken = api.snapshot(name="s1", backings=["uploads", "settings"])
    answers.append(json.dumps(taken))
    assert taken["snapshot"] == "s1"
    outcomes = {o["backing"]: o for o in taken["backings"]}
    assert outcomes["uploads"]["items"] == 3
    assert outcomes["settings"]["omitted"] == 1  # the SecureString left out by default
    listed = api.snapshots()
    answers.append(json.dumps(listed))
    assert [(s["name"], s["items"], s["include_secrets"]) for s in listed] == [("s1", 4, False)]
    assert "s1" in stack.ok("data", "list").stdout  # the CLI sees what the daemon took
    # Progress went to the backing service's log, counts only.
    assert "snapshot uploads (s3 on ministack): 3 items" in stack.ok("logs", "uploads").stdout

    s3.delete_object(Bucket="a-uploads", Key="k/0")
    s3.put_object(Bucket="a-uploads", Key="extra", Body=b"x")
    preview = api.restore("s1", backings=["uploads"], dry_run=True)
    answers.append(json.dumps(preview))
    assert preview["dry_run"] and preview["message"] == "dry run: nothing changed"
    (row,) = preview["backings"]
    assert (row["backing"], row["add"], row["change"], row["delete"]) == ("uploads", 1, 0, 1)
    assert keys(s3) == {"k/1", "k/2", "extra"}  # a preview writes nothing

    done = api.restore("s1")  # every backing service of the snapshot
    answers.append(json.dumps(done))
    assert not done["dry_run"] and done["message"].startswith("restored s1: ")
    assert keys(s3) == {"k/0", "k/1", "k/2"}
    assert s3.get_object(Bucket="a-uploads", Key="k/0")["Body"].read() == b"body 0"

    # Errors: one line, the status saying whose fault.
    cases = [
        (lambda: api.restore("nope"), 404, "unknown snapshot 'nope'"),
        (lambda: api.snapshot(name="../x"), 400, "invalid snapshot name '../x'"),
        (lambda: api.snapshot(name="s2", backings=["uplods"]), 404, "unknown backing service"),
        (lambda: api.snapshot(name="s1"), 409, "snapshot s1 exists"),
        (lambda: api.restore("s1", backings=["api"]), 404, "unknown backing service 'api'"),
    ]
    for call, status, start in cases:
        error = failure(call)
        assert (error.status, error.error.startswith(start)) == (status, True), error.error
        assert "\n" not in error.error and error.log is None
        answers.append(error.error)

    log = (stack.state_dir / "daemon.log").read_text(errors="replace")
    logs = "".join(
        p.read_text(errors="replace") for p in (stack.state_dir / "logs").rglob("*") if p.is_file()
    )
    assert "Traceback" not in log
    assert CANARY not in "".join(answers) + log + logs


def test_a_snapshot_with_secrets_keeps_them_only_on_disk(stack: Stack) -> None:
    stack.write({"api": service("api", uses=["settings"])}, backing=BACKING)
    stack.up()
    api = Client(stack.socket, timeout=60)

    taken = api.snapshot(name="with", backings=["settings"], include_secrets=True)

    assert taken["backings"][0]["omitted"] == 0
    assert CANARY not in json.dumps(taken) + json.dumps(api.snapshots())
    (listed,) = api.snapshots()
    assert listed["include_secrets"] is True
    held = (stack.state_dir / "snapshots" / "with" / "settings" / "records.jsonl").read_text()
    assert CANARY in held
