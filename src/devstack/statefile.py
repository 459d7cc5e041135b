"""Reading `.devstack/*.json` state files: parsed with the model that writes them.

A state file is written atomically, but it can still be wrong: a hand edit, a disk that
filled up, another tool, a version of devstack that wrote another shape. A file that does
not parse, or parses to the wrong shape, must not stop the daemon (which would orphan the
services it should re-adopt): it is moved aside to `<name>.corrupt-<timestamp>` for
inspection, reported once, and the caller rebuilds the state from what it observes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Called with one line naming the file, why it was refused and where it went.
OnCorrupt = Callable[[str], None]


class StateError(ValueError):
    """A state file parsed as JSON but does not have the shape its writer gives it."""


def read_state(
    path: Path, parse: Callable[[Any], T], default: T, on_corrupt: OnCorrupt | None = None
) -> T:
    """The parsed state, or `default` when the file is missing or refused.

    With `on_corrupt`, a refused file is moved aside and reported; without it (readers that
    only look, like `devstack status` with no daemon), it is left where it is.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return default
    except OSError as exc:
        return _refused(path, f"unreadable: {exc.strerror or exc}", default, on_corrupt)
    try:
        return parse(json.loads(raw))
    except StateError as exc:
        reason = str(exc)
    except (ValueError, RecursionError) as exc:  # not JSON (or not UTF-8), or absurdly deep
        reason = f"not JSON: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}"
    except Exception as exc:  # a parser gap must never take the daemon down: refuse the file
        reason = f"wrong shape: {type(exc).__name__}"
    return _refused(path, reason, default, on_corrupt)


def quarantine(path: Path) -> Path:
    """Move `path` aside to `<name>.corrupt-<timestamp>` (never over an earlier one)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.replace(target)
    return target


def _refused(path: Path, reason: str, default: T, on_corrupt: OnCorrupt | None) -> T:
    if on_corrupt is None:
        return default
    try:
        moved = f"moved aside to {quarantine(path).name}"
    except OSError as exc:
        moved = f"could not be moved aside ({exc.strerror or exc})"
    on_corrupt(f"state file {path}: {reason}; {moved}; rebuilt from what runs")
    return default


# -- shape checks shared by the parsers ---------------------------------------------------


def need_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StateError(f"{where} must be an object, not {_kind(value)}")
    return value


def need_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise StateError(f"{where} must be a list, not {_kind(value)}")
    return value


def need_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise StateError(f"{where} must be a string, not {_kind(value)}")
    return value


def need_int(value: Any, where: str, low: int = 0, high: int | None = None) -> int:
    # bool is an int in Python, never in our files.
    if not isinstance(value, int) or isinstance(value, bool):
        raise StateError(f"{where} must be an integer, not {_kind(value)}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise StateError(f"{where} must be {bound}, not {value}")
    return value


def need_number(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        raise StateError(f"{where} must be a number, not {_kind(value)}")
    return float(value)


def optional(value: Any, check: Callable[[Any, str], T], where: str) -> T | None:
    return None if value is None else check(value, where)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
