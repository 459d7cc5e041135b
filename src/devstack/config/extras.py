"""Optional extras (`devstack[moto]`...): is one installed, and the error when it is not.

A missing extra is not a mistake in the manifest (the same manifest works where the extra
is installed), so it is its own exception: commands report it as one line naming the
install command, and the daemon answers it with 400 and the same line.
"""

from __future__ import annotations

import importlib.util

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
    """Whether `module` can be imported. find_spec("moto.server") imports the parent
    package `moto` and raises ModuleNotFoundError when that is missing (it only returns
    None for a missing leaf), hence the except."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def require_emulator(provider_type: str, needed_by: str) -> None:
    """Raise MissingExtra unless the emulator of this provider type is importable."""
    info = PROVIDER.get(provider_type)
    module = info.module if info is not None else None
    if module is not None and not installed(module):
        raise MissingExtra(provider_type, needed_by)
