"""The slice of the daemon API client the TUI uses, and how its errors read in a toast.

`devstack.api.client.Client` satisfies `ApiClient`; tests give the app a fake with the
same methods (fixed data, for deterministic snapshots). No Textual here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from devstack.api.client import ApiError, DaemonNotRunning

JSON = dict[str, Any]

# What an API call may raise that the UI reports instead of crashing.
CALL_ERRORS: tuple[type[BaseException], ...] = (
    ApiError,
    DaemonNotRunning,
    OSError,  # ProtocolError (an answer cut short) is one
    ValueError,
)


class ApiClient(Protocol):
    def status(self) -> JSON: ...

    def backing(self) -> list[JSON]: ...

    def events(self, logs: bool = True, tail: int = 500) -> Iterator[JSON]: ...

    def config(self, service: str, show_secrets: bool = False) -> JSON: ...

    def action(self, name: str, verb: str) -> JSON: ...

    def swap(self, **request: object) -> JSON: ...

    def scale(self, service: str, replicas: int) -> JSON: ...

    def snapshots(self) -> list[JSON]: ...

    def snapshot(self, **request: object) -> JSON: ...

    def restore(self, name: str, **request: object) -> JSON: ...

    def logs(
        self,
        services: list[str] | None = None,
        since: float | None = None,
        tail: int | None = None,
        follow: bool = False,
    ) -> Iterator[JSON]: ...

    def up(
        self,
        environment: str | None = None,
        remove_orphans: bool = False,
        dry_run: bool = False,
        build: bool = False,
    ) -> JSON: ...


def describe_error(exc: BaseException) -> str:
    """One readable paragraph for a failed call: the error, then the problems it lists."""
    if isinstance(exc, ApiError):
        error = f"{exc.error} (details: {exc.log})" if exc.log else exc.error
        return "\n".join([error, *exc.problems])
    if isinstance(exc, DaemonNotRunning):
        return f"no devstack daemon answers on {exc} (start it with `devstack up`)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class StackInfo:
    """What the app knows from the manifest, not from the daemon: names to offer."""

    environments: tuple[str, ...] = ("dev",)
    providers: dict[str, str] = field(default_factory=dict)  # declared name -> type
