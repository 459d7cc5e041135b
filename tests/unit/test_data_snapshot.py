"""The snapshot format and the progress meter, on plain files: verify catches a changed or
missing item, names are checked, leftovers of an interrupted snapshot go away, and
progress is a redrawn line on a terminal but plain lines in a pipe."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from devstack.data.adapter import DataError, DataOptions, DataTarget
from devstack.data.progress import Meter
from devstack.data.run import restore
from devstack.data.snapshot import SnapshotStore
from devstack.providers.aws import AwsTarget


def make(tmp_path: Path, name: str = "one") -> SnapshotStore:
    store = SnapshotStore(tmp_path)
    writer = store.create(name, {"stack": "t"})
    out = writer.backing("uploads", "s3", "ministack", "ministack")
    out.put_bytes("a.txt", b"hello", {"content_type": "text/plain"})
    out.put_stream("big", [b"x" * 10, b"y" * 5])
    rows = writer.backing("orders", "dynamodb", "ministack", "ministack")
    rows.put_record('{"id":"1"}', {"id": {"S": "1"}})
    rows.put_record('{"id":"2"}', {"id": {"S": "2"}})
    rows.omit("secret", "left out")
    writer.commit()
    return store


def test_a_whole_snapshot_verifies_and_is_listed(tmp_path: Path) -> None:
    store = make(tmp_path)
    assert store.open("one").verify() == []
    (summary,) = store.list()
    assert (summary.name, summary.items, summary.size) == (
        "one",
        4,
        5 + 15 + 2 * len(b'{"id":{"S":"1"}}'),
    )
    assert summary.backings == {"orders": "dynamodb", "uploads": "s3"}
    manifest = json.loads((tmp_path / "snapshots" / "one" / "manifest.json").read_text())
    assert manifest["backings"]["orders"]["omitted"] == [{"key": "secret", "reason": "left out"}]


def test_verify_names_a_changed_blob_a_changed_record_and_a_missing_file(tmp_path: Path) -> None:
    store = make(tmp_path)
    root = tmp_path / "snapshots" / "one"
    (root / "uploads" / "blobs" / "000001").write_bytes(b"hellO")
    (root / "uploads" / "blobs" / "000002").unlink()
    records = root / "orders" / "records.jsonl"
    records.write_bytes(records.read_bytes().replace(b'"2"', b'"3"'))
    assert sorted(store.open("one").verify()) == [
        'orders: item {"id":"2"} does not match its sha256',
        "uploads: item a.txt does not match its sha256",
        "uploads: item big is missing",
    ]


def test_names_are_checked_and_unknown_ones_named(tmp_path: Path) -> None:
    store = make(tmp_path)
    for bad in ("../x", ".hidden", "a/b", ""):
        with pytest.raises(DataError, match="invalid snapshot name"):
            store.create(bad, {})
    with pytest.raises(DataError, match=r"^no snapshot named two \(snapshots: one\)$"):
        store.open("two")
    with pytest.raises(DataError, match="snapshot one exists"):
        store.create("one", {})
    store.remove("one")
    assert store.list() == []
    assert list((tmp_path / "snapshots").iterdir()) == []


def test_a_discarded_or_dead_snapshot_leaves_nothing(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    writer = store.create("cut", {})
    writer.backing("uploads", "s3", "m", "m").put_bytes("k", b"v")
    writer.discard()
    assert list((tmp_path / "snapshots").iterdir()) == []
    # A temporary directory whose process died (pid 0 is never a process of ours).
    leftover = tmp_path / "snapshots" / ".tmp-old-999999999"
    leftover.mkdir()
    make(tmp_path, "next")
    assert not leftover.exists()
    assert [s.name for s in store.list()] == ["next"]


def test_progress_is_a_redrawn_line_on_a_terminal_and_plain_lines_when_piped() -> None:
    now = [0.0]
    tty, pipe = io.StringIO(), io.StringIO()
    for stream, is_tty in ((tty, True), (pipe, False)):
        now[0] = 0.0
        meter = Meter(stream, tty=is_tty, clock=lambda: now[0])
        meter.start("snapshot uploads (s3 on ministack)")
        for _ in range(30):
            now[0] += 0.25
            meter.advance(1, 2048)
        meter.finish()
    assert tty.getvalue().count("\r\033[K") > 20
    lines = pipe.getvalue().splitlines()
    assert 3 <= len(lines) <= 5 and "\r" not in pipe.getvalue()
    assert (
        lines[-1]
        == "snapshot uploads (s3 on ministack): 30 items, 60.0 KiB (8.0 KiB/s), 4 items/s, 7.5s"
    )


def test_a_restore_never_writes_to_a_real_endpoint(tmp_path: Path) -> None:
    store = make(tmp_path)
    real = DataTarget(
        "uploads", "s3", "staging", "aws", {"bucket": "b"},
        aws=AwsTarget(endpoint_url=None, region="eu-west-1"),
    )  # fmt: skip
    with pytest.raises(DataError, match=r"staging is a real endpoint \(aws\)"):
        restore(store.open("one"), {"uploads": real}, DataOptions(), Meter(quiet=True))
