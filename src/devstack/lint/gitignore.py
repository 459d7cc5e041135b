"""Asks git whether a file would be committed: `git check-ignore` and `git ls-files`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Literal

GIT_TIMEOUT = 10.0
GitState = Literal["ignored", "tracked", "untracked"]


class GitIgnore:
    """`state(path)`: what git does with a file, or None when git cannot tell (no git,
    no repository, a file outside it). Answers are cached: environments share env files."""

    def __init__(self, git: str | None = None) -> None:
        self.git = git if git is not None else shutil.which("git")
        self._cache: dict[Path, GitState | None] = {}

    def state(self, path: Path) -> GitState | None:
        path = path.resolve()
        if path not in self._cache:
            self._cache[path] = self._ask(path)
        return self._cache[path]

    def _ask(self, path: Path) -> GitState | None:
        # check-ignore: 0 ignored, 1 not ignored (a tracked file is never "ignored"),
        # 128 not in a repository.
        ignored = self._git(path, "check-ignore", "-q", "--", path.name)
        if ignored == 0:
            return "ignored"
        if ignored != 1:
            return None
        tracked = self._git(path, "ls-files", "--error-unmatch", "--", path.name)
        return "tracked" if tracked == 0 else "untracked"

    def _git(self, path: Path, *args: str) -> int | None:
        if self.git is None:
            return None
        try:
            done = subprocess.run(
                [self.git, "-C", str(path.parent), *args],
                capture_output=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.returncode
