"""Finding the manifest: `-f FILE`, else `devstack.yaml` in the current directory.

Kept apart from the loader so that commands which only need the path stay light.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MANIFEST = "devstack.yaml"


def find_manifest(file: str | None, cwd: Path | None = None) -> Path:
    """The manifest path: `-f FILE`, else `devstack.yaml` in the current directory."""
    base = cwd or Path.cwd()
    path = Path(file) if file else base / DEFAULT_MANIFEST
    if not path.is_absolute():
        path = base / path
    return path
