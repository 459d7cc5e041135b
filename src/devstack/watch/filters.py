"""Which changed paths a live reload ignores: editor litter, VCS and dependency folders, user globs.

A reload triggered by `.git/index`, a `__pycache__/*.pyc` written by the very process that
was just restarted, or an editor's swap file would loop or restart for nothing, so these
never count. User patterns use the gitignore shapes people already know, relative to the
watched root:

- `*.log`, `tmp`: no slash, so they match a file or folder name at any depth;
- `build/`: a trailing slash matches folders only (a path of unknown kind counts as one);
- `/dist`, `src/gen`, `**/tmp/*`: a slash anywhere else anchors the pattern at the root;
  `**` spans any number of folders (`a/**` matches everything inside `a`, not `a` itself);
- `!pattern` re-includes what an earlier pattern (or a default) excluded, and the last
  matching pattern wins, except that nothing inside an excluded folder comes back: a
  folder that is ignored is not descended at all (as in git, and as the watcher does).

Matching is case-sensitive (`fnmatchcase`), like git on Linux. User patterns come after
`DEFAULT_IGNORES`, so `!node_modules` watches that folder again.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

DEFAULT_IGNORES: tuple[str, ...] = (
    ".git",
    "node_modules",
    "__pycache__",
    ".devstack",  # devstack's own state and logs: a reload must not feed on its own output
    "*.pyc",
    "*.swp",  # vim swap files
    "*.swx",
    "4913",  # vim probes whether a folder is writable by creating and deleting this file
    "*~",  # emacs and others: backup files
    ".#*",  # emacs lock files
)


@dataclass(frozen=True)
class Pattern:
    """One parsed gitignore-style line."""

    text: str
    negate: bool
    dir_only: bool
    anchored: bool
    segments: tuple[str, ...]  # the whole pattern split on "/", or the one name glob

    def matches(self, parts: Sequence[str], *, is_dir: bool | None) -> bool:
        """Does it match the path with these components (relative to the root)?

        `is_dir` is None when the kind is unknown (a deleted path): folder-only patterns
        then match, so a change under a deleted `build/` stays ignored.
        """
        if self.dir_only and is_dir is False:
            return False
        if not self.anchored:
            return fnmatchcase(parts[-1], self.segments[0])
        return _match_segments(self.segments, tuple(parts))


def _match_segments(segments: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    if not segments:
        return not parts
    head, rest = segments[0], segments[1:]
    if head == "**":
        if not rest:
            return len(parts) >= 1  # a trailing ** matches what is inside, not the folder
        return any(_match_segments(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _match_segments(rest, parts[1:])


def parse_pattern(line: str) -> Pattern | None:
    """A gitignore-style line as a Pattern; None for blank lines and `#` comments."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    negate = text.startswith("!")
    body = text[1:] if negate else text
    dir_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = "/" in body
    segments: list[str] = []
    for segment in body.split("/"):
        if not segment or (segment == "**" and segments and segments[-1] == "**"):
            continue  # "a//b" and "**/**" mean the same as "a/b" and "**"
        segments.append(segment)
    if not segments:
        return None
    if segments[0] == "**" and len(segments) == 2 and segments[1] != "**":
        anchored = False  # "**/name" is the same as "name"
        segments = segments[1:]
    return Pattern(text, negate, dir_only, anchored, tuple(segments))


class IgnoreRules:
    """The defaults (unless `defaults=False`) followed by user patterns, compiled once."""

    def __init__(self, patterns: Iterable[str] = (), *, defaults: bool = True) -> None:
        lines = [*(DEFAULT_IGNORES if defaults else ()), *patterns]
        self.patterns: tuple[Pattern, ...] = tuple(
            p for p in (parse_pattern(line) for line in lines) if p is not None
        )

    def matches(self, parts: Sequence[str], *, is_dir: bool | None = None) -> bool:
        """The verdict for the last component alone: its folders are taken as not excluded.

        The watcher's tree walk uses this: it never descends an excluded folder.
        """
        verdict = False
        for pattern in self.patterns:
            if pattern.matches(parts, is_dir=is_dir):
                verdict = not pattern.negate
        return verdict

    def ignored_parts(self, parts: Sequence[str], *, is_dir: bool | None = None) -> bool:
        """Is the path with these components (relative to the root) ignored?"""
        for depth in range(1, len(parts)):
            if self.matches(parts[:depth], is_dir=True):
                return True
        return bool(parts) and self.matches(parts, is_dir=is_dir)

    def ignored(self, path: Path, root: Path, *, is_dir: bool | None = None) -> bool:
        """Is `path` ignored in a watch of `root`? The root itself and paths outside it are not."""
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            return False
        return self.ignored_parts(parts, is_dir=is_dir)


@functools.lru_cache(maxsize=64)
def _rules(patterns: tuple[str, ...]) -> IgnoreRules:
    return IgnoreRules(patterns)


def ignored(
    path: Path, root: Path, patterns: Sequence[str] = (), *, is_dir: bool | None = None
) -> bool:
    """Is `path` ignored in a watch of `root`, under the defaults plus `patterns`?

    Both paths are taken as given (no symlink resolution): pass them in the same form.
    The root itself and paths outside it are never ignored.
    """
    return _rules(tuple(patterns)).ignored(path, root, is_dir=is_dir)
