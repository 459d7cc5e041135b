"""Optional extras (`devstack[moto]`...): is one installed, and the error when it is not.

A missing extra is not a mistake in the manifest (the same manifest works where the extra
is installed), so it is its own exception: commands report it as one line naming the
install command, and the daemon answers it with 400 and the same line.
"""

from __future__ import annotations

import importlib.util

INSTALL_HINT = {
    "ministack": "pip install 'devstack[ministack]' (or: pip install ministack)",
    "moto": "pip install 'devstack[moto]' (or: pip install 'moto[server]')",
}
# The module each emulator runs as (`python -m ...`).
EMULATOR_MODULE = {"ministack": "ministack", "moto": "moto.server"}


class MissingExtra(Exception):
    """A step needs an optional extra that is not installed here."""

    def __init__(self, extra: str, needed_by: str) -> None:
        self.extra = extra
        super().__init__(
            f"{needed_by} needs {extra}, which is not installed here: {INSTALL_HINT[extra]}"
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
    module = EMULATOR_MODULE.get(provider_type)
    if module is not None and not installed(module):
        raise MissingExtra(provider_type, needed_by)
