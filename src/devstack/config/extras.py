"""Optional extras (`devstack[moto]`...): is one installed, and the error when it is not.

A missing extra is not a mistake in the manifest (the same manifest works where the extra
is installed), so it is its own exception: commands report it as one line naming the
install command, and the daemon answers it with 400 and the same line.
"""

from __future__ import annotations

import importlib.util
from importlib.machinery import PathFinder

from devstack.api.kinds import PROVIDER


class MissingExtra(Exception):
    """A step needs an optional extra that is not installed here."""

    def __init__(self, extra: str, needed_by: str) -> None:
        self.extra = extra
        super().__init__(
            f"{needed_by} needs {extra}, which is not installed here: "
            f"{PROVIDER[extra].install_hint}"
        )


def installed(module: str) -> bool:
    """Whether `module` can be imported, found without importing anything.

    Not `find_spec("moto.server")`: that imports the parent package first, and importing
    moto costs 0.3-0.5 s (boto3 with it). The daemon asks on the first resolve that
    names a provider, and a swap to moto paid it before anything else. The package is
    found on sys.path, then each submodule in its package's folders."""
    top, _, rest = module.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    path = spec.submodule_search_locations if spec is not None else None
    if spec is None or (rest and not path):
        return False
    name = top
    for part in rest.split(".") if rest else []:
        name = f"{name}.{part}"
        found = PathFinder.find_spec(name, list(path or []))
        if found is None:
            return False
        path = found.submodule_search_locations
    return True


def require_emulator(provider_type: str, needed_by: str) -> None:
    """Raise MissingExtra unless the emulator of this provider type is importable."""
    info = PROVIDER.get(provider_type)
    module = info.module if info is not None else None
    if module is not None and not installed(module):
        raise MissingExtra(provider_type, needed_by)
