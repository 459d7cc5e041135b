"""The Backing view's data keys on a real daemon running MiniStack, driven with Pilot:
`s` takes a snapshot, `r` previews a restore's counts and makes it. What changed is
checked where a user would look: `devstack data list`, and the bucket through boto3.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.widgets import Button, Input
from tui_pilot import SIZE, run, until

from devstack.api.client import Client
from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp
from devstack.tui.screens.data import RestoreDialog, SnapshotDialog
from helpers import Stack, service

pytest.importorskip("ministack", reason="MiniStack is not installed")
boto3 = pytest.importorskip("boto3")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # boto3/moto

BUCKET = "t-data"


def bucket(stack: Stack) -> Any:
    rows = json.loads(stack.ok("backing", "--json").stdout)
    endpoint = next(r["endpoint"] for r in rows if r["name"] == "uploads")
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip


def keys(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def text(widget: Any) -> str:
    return str(widget.render())


def test_s_snapshots_and_r_restores_with_the_counts_first(stack: Stack) -> None:
    stack.write(
        {"api": service("api", uses=["uploads"])},
        backing={"uploads": {"kind": "s3", "bucket": BUCKET}},
    )
    stack.up()
    s3 = bucket(stack)
    for n in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"k/{n}", Body=f"body {n}".encode())

    async def scenario() -> None:
        app = DevstackApp(Client(stack.socket, timeout=30), StackInfo())
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            table = app.backing_view.table
            await until(pilot, lambda: "uploads" in table.shown_keys, "the backing row")
            assert table.select_key("uploads")

            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SnapshotDialog), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, SnapshotDialog)
            name = dialog.query_one("#snapshot-name", Input)
            assert name.value.startswith("uploads-")  # a default name, ready to take
            name.value = "tui1"
            await pilot.press("enter")
            await until(pilot, lambda: dialog.result is not None, "the snapshot taken", 60)
            shown = text(dialog.query_one("#run-status"))
            assert shown.startswith("snapshot tui1: 3 item(s) of 1 backing service(s)"), shown
            assert "uploads (s3 on ministack): 3 item(s)" in shown
            assert "tui1" in stack.ok("data", "list").stdout

            assert dialog.query_one("#apply", Button).disabled  # taken: Close is left
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, SnapshotDialog), "closed")

            # The same name again: the error on one line, and Take offered again.
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SnapshotDialog), "the dialog")
            again = app.screen
            assert isinstance(again, SnapshotDialog)
            again.query_one("#snapshot-name", Input).value = "tui1"
            await pilot.click("#apply")
            await until(pilot, lambda: again.error is not None, "the refusal")
            assert again.error == "snapshot tui1 exists: `devstack data rm tui1` first"
            assert text(again.query_one("#run-status")) == f"error: {again.error}"
            await until(pilot, lambda: not again.query_one("#apply", Button).disabled, "Take")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, SnapshotDialog), "closed")

            s3.delete_object(Bucket=BUCKET, Key="k/0")
            s3.put_object(Bucket=BUCKET, Key="extra", Body=b"x")
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, RestoreDialog), "the restore dialog")
            restore = app.screen
            assert isinstance(restore, RestoreDialog)
            await until(pilot, lambda: restore.preview is not None, "the preview", 30)
            assert restore.choice == "tui1"
            preview = text(restore.query_one("#preview-text"))
            assert "uploads (s3 on ministack): 1 to add, 0 to change, 1 to delete" in preview
            assert keys(s3) == {"k/1", "k/2", "extra"}  # a preview writes nothing

            await pilot.press("enter", "enter")  # to Apply, apply
            await until(pilot, lambda: restore.result or restore.error, "the restore", 60)
            assert restore.error is None, restore.error
            assert isinstance(app.screen, RestoreDialog)  # open, with the outcome
            status = text(restore.query_one("#run-status"))
            assert status.startswith("restored tui1: uploads +1 ~0 -1 (checked)"), status
            await pilot.press("escape")

    run(scenario)
    assert keys(s3) == {"k/0", "k/1", "k/2"}
    assert s3.get_object(Bucket=BUCKET, Key="k/0")["Body"].read() == b"body 0"
