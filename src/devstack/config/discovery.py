"""Finding the manifest: `-f FILE`, else `devstack.yaml` in the current directory.

Kept apart from the loader so that commands which only need the path stay light.
"""

# ruff: noqa: PTH109, PTH118, PTH120 (os.path on purpose in stack_root: see its docstring)
from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's, and pathlib only when called: see stack_root
if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_MANIFEST = "devstack.yaml"


def find_manifest(file: str | None, cwd: Path | None = None) -> Path:
    """The manifest path: `-f FILE`, else `devstack.yaml` in the current directory."""
    from pathlib import Path

    base = cwd or Path.cwd()
    path = Path(file) if file else base / DEFAULT_MANIFEST
    if not path.is_absolute():
        path = base / path
    return path


def stack_root(file: str | None) -> str:
    """The folder of the manifest `find_manifest` names, resolved, as a plain string:
    for `cli/fast.py`, which answers before pathlib is imported."""
    manifest = os.path.join(os.getcwd(), file or DEFAULT_MANIFEST)  # an absolute `file` wins
    return os.path.dirname(os.path.realpath(manifest))
