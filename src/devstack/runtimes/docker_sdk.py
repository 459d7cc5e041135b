"""The Docker SDK loads its SSH transport only when an ssh:// engine needs it.

`docker.transport` imports `sshconn`, and with it paramiko, at its own import, for
ssh:// engines alone. With the `remote` extra installed (CI's `dev` extra has it) that
was 130 ms of every container stack's cold `up` on a local engine: paramiko imports
`invoke`, which imports `unittest.mock`. The SDK already treats a failed import of
`sshconn` as "no SSH support" (`try: from .sshconn import ... except ImportError`); the
finder below makes that import fail until `enable_ssh()` is called, which then imports
the transport and hands it to the two SDK modules that look it up.

Installed from `runtimes/__init__.py`, so before any module of this package imports the
SDK; code that imported the SDK earlier (a test) simply has its SSH transport already.
"""

from __future__ import annotations

import sys

# Imported by every `devstack.runtimes` module, the fast CLI's included (cli/fast.py):
# nothing here may cost an import (importlib.abc alone was 19 ms of a no-op `up`).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

SSH_MODULE = "docker.transport.sshconn"


class _DeferSSH:
    """Refuses `docker.transport.sshconn` until SSH is enabled (the SDK then has none).

    A meta path finder by its `find_spec` alone (the import system asks no more)."""

    enabled = False  # set once by enable_ssh(), never cleared

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname == SSH_MODULE and not self.enabled:
            raise ImportError(f"{SSH_MODULE} is loaded when an ssh:// engine is used")
        return None  # everything else: the ordinary finders


_FINDER = _DeferSSH()


def install() -> None:
    """Defer the SDK's SSH transport (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def enable_ssh() -> None:
    """Give the SDK its ssh:// transport; ImportError without paramiko (the caller has
    checked with `engine_target.require_ssh_support`, which names the install)."""
    _FINDER.enabled = True
    import importlib

    import docker.api.client as client_module
    from docker import transport

    if getattr(client_module, "SSHHTTPAdapter", None) is not None:
        return  # imported before the finder was installed, or enabled already
    sshconn = importlib.import_module(SSH_MODULE)
    # setattr: types-docker declares the names, as a class mypy will not let us assign.
    setattr(transport, "SSHHTTPAdapter", sshconn.SSHHTTPAdapter)  # noqa: B010
    setattr(client_module, "SSHHTTPAdapter", sshconn.SSHHTTPAdapter)  # noqa: B010
