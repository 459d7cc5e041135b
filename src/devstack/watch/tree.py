"""Which folders of a watched tree to schedule, so ignored folders are not watched at all.

watchdog's recursive watch puts an inotify watch on every folder below its root, ignored
or not: `.git`, `node_modules` or a `.venv` can hold most of a project's folders, fill
`fs.inotify.max_user_watches`, and flood the observer with events that are then thrown
away (`npm install` alone can overflow the kernel queue, which makes watchdog rewalk the
whole tree). A recursive watch cannot skip a subfolder, so a tree with ignored folders is
covered instead by:

- `flat` schedules (non-recursive) on the folders that hold an ignored folder, and
- `recursive` schedules on their other subfolders, which hold none.

Each schedule costs watchdog one emitter thread, and `__pycache__` folders sit in every
Python package, so pruning everything could mean hundreds of threads. The plan therefore
prunes the shallowest ignored folders first (that is where `.git`, `node_modules`,
`.venv` and `.devstack` live) and goes deeper only while the cover stays within
`max_schedules`; deeper ignored folders are watched and their events filtered out.

`unwatched` checks the result against the kernel: watchdog swallows a failure to watch a
subfolder (ENOSPC when the inotify watch limit is reached), and a live reload that
silently misses part of the tree is worse than an error message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.watch.filters import IgnoreRules

MAX_SCHEDULES = 32


@dataclass(frozen=True)
class Cover:
    """The schedules for one watched folder, and the folders they must reach."""

    recursive: frozenset[Path] = frozenset()
    flat: frozenset[Path] = frozenset()
    # inode -> folder, for every folder that is not ignored (the check against the kernel).
    folders: dict[int, Path] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.recursive) + len(self.flat)


@dataclass
class _Folder:
    path: str  # strings, not Paths, while walking: a big tree has thousands of folders
    depth: int
    children: list[_Folder] = field(default_factory=list)
    # Depth of the shallowest ignored folder at or below this folder's children; a large
    # number when there is none.
    ignored_at: int = 1 << 30


def _walk(root: Path, rules: IgnoreRules) -> tuple[_Folder, dict[int, Path]]:
    """The folders of the tree that are not ignored, without descending ignored ones or symlinks."""
    top = _Folder(str(root), 0)
    folders: dict[int, str] = {}
    try:
        folders[root.stat().st_ino] = top.path
    except OSError:
        return top, {}
    order = [top]
    stack: list[tuple[_Folder, tuple[str, ...]]] = [(top, ())]
    while stack:
        node, parts = stack.pop()
        try:
            with os.scandir(node.path) as entries:
                subdirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError:  # gone or unreadable: watchdog skips it too
            continue
        for entry in subdirs:
            child_parts = (*parts, entry.name)
            if rules.matches(child_parts, is_dir=True):
                node.ignored_at = min(node.ignored_at, node.depth + 1)
                continue
            child = _Folder(entry.path, node.depth + 1)
            node.children.append(child)
            folders[entry.inode()] = child.path
            order.append(child)
            stack.append((child, child_parts))
    for node in reversed(order):  # children before parents
        for child in node.children:
            node.ignored_at = min(node.ignored_at, child.ignored_at)
    return top, {inode: Path(path) for inode, path in folders.items()}


def _cover(top: _Folder, prune_depth: int) -> tuple[set[Path], set[Path]]:
    """Schedules when ignored folders down to `prune_depth` are pruned (0: none are)."""
    recursive: set[Path] = set()
    flat: set[Path] = set()
    stack = [top]
    while stack:
        node = stack.pop()
        if node.ignored_at > prune_depth:
            recursive.add(Path(node.path))
        else:
            flat.add(Path(node.path))
            stack.extend(node.children)
    return recursive, flat


def plan_cover(root: Path, rules: IgnoreRules, max_schedules: int = MAX_SCHEDULES) -> Cover:
    """The cover of the folder `root`: as much pruning as `max_schedules` allows.

    An empty cover when `root` is not a folder.
    """
    if not root.is_dir():
        return Cover()
    top, folders = _walk(root, rules)
    depths = sorted({d for d in _ignored_depths(top) if d > 0}, reverse=True)
    for depth in depths:
        recursive, flat = _cover(top, depth)
        if len(recursive) + len(flat) <= max_schedules:
            return Cover(frozenset(recursive), frozenset(flat), folders)
    return Cover(frozenset({root}), frozenset(), folders)


def _ignored_depths(top: _Folder) -> set[int]:
    """The depths at which some ignored folder sits (each a candidate prune depth)."""
    depths: set[int] = set()
    stack = [top]
    while stack:
        node = stack.pop()
        if node.ignored_at < 1 << 30:
            depths.add(node.ignored_at)
            stack.extend(node.children)
    return depths


def inotify_inodes() -> set[int] | None:
    """Inodes this process holds inotify watches on, from /proc; None where there is no /proc."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return None
    inodes: set[int] = set()
    for fd in fd_dir.iterdir():
        try:
            if str(fd.readlink()) != "anon_inode:inotify":
                continue
            info = Path(f"/proc/self/fdinfo/{fd.name}").read_text()
        except OSError:  # closed meanwhile
            continue
        for line in info.splitlines():
            if line.startswith("inotify wd:"):
                for token in line.split():
                    if token.startswith("ino:"):
                        inodes.add(int(token[4:], 16))
    return inodes


def unwatched(folders: dict[int, Path], watched: Iterable[int] | None = None) -> list[Path]:
    """Folders (by inode) that no inotify watch of this process covers and that still exist."""
    watched = inotify_inodes() if watched is None else watched
    if watched is None:
        return []
    seen = set(watched)
    return sorted(path for inode, path in folders.items() if inode not in seen and path.is_dir())
