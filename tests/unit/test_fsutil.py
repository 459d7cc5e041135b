"""Atomic state writes: a reader never sees half a file, and an unchanged file is left be."""

from __future__ import annotations

from pathlib import Path

from devstack.fsutil import read_json, write_atomic, write_json_atomic


def test_an_unchanged_file_is_not_written_again(tmp_path: Path) -> None:
    path = tmp_path / "state" / "overrides.json"
    write_json_atomic(path, {"environment": "dev"})
    before = path.stat()
    write_json_atomic(path, {"environment": "dev"})
    after = path.stat()
    # Same inode and change time: no temporary file was renamed over it.
    assert (after.st_ino, after.st_ctime_ns) == (before.st_ino, before.st_ctime_ns)
    write_json_atomic(path, {"environment": "moto"})
    assert read_json(path) == {"environment": "moto"}
    assert path.stat().st_ino != before.st_ino


def test_same_bytes_with_another_mode_are_written(tmp_path: Path) -> None:
    path = tmp_path / "secret.json"
    path.write_bytes(b"{}")
    path.chmod(0o644)
    write_atomic(path, b"{}", mode=0o600)
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
