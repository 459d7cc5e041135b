"""The seams between the engine and the outside world. Each has a fake in devstack.testing."""

from __future__ import annotations

from typing import Protocol

from devstack.model.desired import DesiredService
from devstack.model.observed import Workload


class RuntimeError_(Exception):
    """A runtime call that failed for a reason the user can act on; the message says which."""


class Runtime(Protocol):
    """Runs instances of services; finds its own by labels, never by names."""

    name: str

    def observe(self) -> list[Workload]:
        """Every instance this stack owns, running or exited-and-not-yet-removed."""
        ...

    def prepare(self, service: DesiredService) -> DesiredService:
        """Make a service startable (build or find its image) and pin what it runs.

        Returns the service with its spec and digests completed (an image id, say), so
        the spec hash covers it. Raises RuntimeError_ when that is impossible.
        """
        ...

    def start(self, service: DesiredService, replica: int) -> Workload:
        """Start one instance, replacing an exited one with the same key.

        A start that fails (command not found, ...) is recorded as an exited instance and
        raises RuntimeError_, so the restart policy applies to it like to a crash.
        """
        ...

    def stop(self, service: str, replica: int, grace: float) -> None:
        """Graceful stop: SIGTERM (or the runtime's equivalent), `grace`, then kill; forgets it."""
        ...

    def remove(self, service: str, replica: int) -> None:
        """Forget an exited instance."""
        ...


class Probe(Protocol):
    """One health check attempt."""

    def check(self, timeout: float) -> bool: ...


class Clock(Protocol):
    def now(self) -> float: ...
