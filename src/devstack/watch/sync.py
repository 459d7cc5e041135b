"""What a `sync` watch rule sends into a running container: a tar of what changed, and
the paths that are gone.

The watcher hands over the changed paths of one burst: files or folders, created,
modified, moved (both ends) or deleted. A path still there goes into the archive, a
folder with everything under it: files written into a new folder before its watch
existed raise no event of their own. A path no longer there is to be removed in the
container. Ignored paths (the defaults and the rule's `ignore`) never go in, even inside
a new folder. Pure: no Docker here; the runtime unpacks the archive at the target and
removes the gone paths.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.watch.filters import IgnoreRules


@dataclass(frozen=True)
class SyncBatch:
    archive: bytes  # a tar to unpack at the target (empty when nothing is to be copied)
    files: int  # files in the archive
    removed: tuple[str, ...]  # absolute container paths to delete (rm -rf), in path order

    @property
    def empty(self) -> bool:
        return not self.archive and not self.removed

    def describe(self) -> str:
        """`3 file(s)`, `1 file(s), 2 removed`: what a sync did, for the event log."""
        text = f"{self.files} file(s)"
        return f"{text}, {len(self.removed)} removed" if self.removed else text


def sync_batch(
    root: Path, changed: Iterable[Path], target: str, ignore: Sequence[str] = ()
) -> SyncBatch:
    """The batch for `changed` (paths under `root`, the watched folder) into `target`.

    A watched file (not a folder) is copied into `target` under its own name.
    """
    rules = IgnoreRules(ignore)
    base = root.parent if root.is_file() else root
    buffer = io.BytesIO()
    files = 0
    entries = 0
    removed: list[str] = []
    added: set[str] = set()  # a folder and a file in it may both have changed
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(set(changed)):
            try:
                parts = path.relative_to(base).parts
            except ValueError:
                continue  # outside the watched folder: not this rule's
            is_dir = path.is_dir() and not path.is_symlink()
            if parts and rules.ignored_parts(parts, is_dir=is_dir if path.exists() else None):
                continue
            if not path.exists() and not path.is_symlink():
                if parts:
                    removed.append(posixpath.join(target, *parts))
                continue
            for item, arcname in _walk(path, parts, rules):
                if arcname in added:
                    continue
                added.add(arcname)
                try:
                    tar.add(item, arcname=arcname, recursive=False)
                except FileNotFoundError:
                    continue  # gone since: its deletion comes in the next burst
                entries += 1
                files += int(item.is_file() and not item.is_symlink())
    archive = buffer.getvalue() if entries else b""
    return SyncBatch(archive, files, tuple(removed))


def _walk(path: Path, parts: tuple[str, ...], rules: IgnoreRules) -> Iterable[tuple[Path, str]]:
    """`path` and, for a folder, everything under it that is not ignored (folders first)."""
    if parts:
        yield path, posixpath.join(*parts)
    if not path.is_dir() or path.is_symlink():
        return
    for folder, dirs, names in os.walk(path):
        here = Path(folder)
        rel = here.relative_to(path).parts
        dirs[:] = sorted(d for d in dirs if not rules.ignored_parts((*parts, *rel, d), is_dir=True))
        for name in [*dirs, *sorted(names)]:
            item_parts = (*parts, *rel, name)
            item = here / name
            if name in names and rules.ignored_parts(item_parts, is_dir=False):
                continue
            yield item, posixpath.join(*item_parts)
