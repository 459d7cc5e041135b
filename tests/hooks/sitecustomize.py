"""Test hooks for CLI and daemon subprocesses; put this folder first on PYTHONPATH.

Python imports `sitecustomize` at start-up, before any devstack code, so these hooks act
on the real CLI and on the real daemon it spawns (which inherits the environment):

- DEVSTACK_TEST_HIDE=moto,other: these top-level packages cannot be imported, exactly as
  if they were not installed (find_spec returns None; importing them or a submodule
  raises ModuleNotFoundError). No network, no second virtualenv.
- DEVSTACK_TEST_FAULT=status,backing: in the daemon process only, these Daemon methods
  raise RuntimeError("injected fault in Daemon.<name>"): an unexpected error, as a bug
  or a failing runtime would raise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

HIDDEN = {name for name in os.environ.get("DEVSTACK_TEST_HIDE", "").split(",") if name}
FAULTS = [name for name in os.environ.get("DEVSTACK_TEST_FAULT", "").split(",") if name]


class _Hiding:
    """Wraps a finder of sys.meta_path; answers "not found" for the hidden packages."""

    def __init__(self, finder: Any) -> None:
        self._finder = finder

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.split(".", 1)[0] in HIDDEN:
            return None
        spec: ModuleSpec | None = self._finder.find_spec(name, path, target)
        return spec

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._finder, attribute)


def _inject_faults() -> None:
    from devstack.daemon.service import Daemon

    def failing(name: str) -> Any:
        def method(*_: object, **__: object) -> Any:
            raise RuntimeError(f"injected fault in Daemon.{name}")

        return method

    for name in FAULTS:
        setattr(Daemon, name, failing(name))


if HIDDEN:
    sys.meta_path[:] = [_Hiding(f) if hasattr(f, "find_spec") else f for f in sys.meta_path]
if FAULTS and "devstack.daemon" in sys.orig_argv:
    _inject_faults()
