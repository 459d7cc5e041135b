"""Releases on disk: `.devstack/releases/<id>.json`, written once, read-only afterwards."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from devstack.release.record import ReleaseError

RELEASE_ID = re.compile(r"^r(\d+)$")


def releases_dir(state_dir: Path) -> Path:
    return state_dir / "releases"


def next_id(state_dir: Path) -> str:
    numbers = [int(m.group(1)) for m in map(RELEASE_ID.match, _ids(state_dir)) if m]
    return f"r{max(numbers, default=0) + 1}"


def save(state_dir: Path, record: dict[str, Any]) -> Path:
    """Write a new release; never replaces one (O_EXCL), and leaves it read-only."""
    folder = releases_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{record['id']}.json"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ReleaseError(
            f"release {record['id']} exists already; releases are immutable"
        ) from None
    with os.fdopen(fd, "w") as out:
        json.dump(record, out, indent=2, sort_keys=True)
        out.write("\n")
    path.chmod(0o400)
    return path


def load(state_dir: Path, release: str) -> dict[str, Any]:
    path = releases_dir(state_dir) / f"{release}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        known = ", ".join(sorted(_ids(state_dir), key=_order)) or "none yet"
        raise ReleaseError(f"unknown release {release!r} (known: {known})") from None
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"cannot read release {release}: {exc}") from None
    return data


def all_releases(state_dir: Path) -> list[dict[str, Any]]:
    found = []
    for release in sorted(_ids(state_dir), key=_order):
        try:
            found.append(load(state_dir, release))
        except ReleaseError:
            continue
    return found


def _ids(state_dir: Path) -> list[str]:
    folder = releases_dir(state_dir)
    return [p.stem for p in folder.glob("*.json")] if folder.is_dir() else []


def _order(release: str) -> tuple[int, str]:
    match = RELEASE_ID.match(release)
    return (int(match.group(1)) if match else 0, release)
