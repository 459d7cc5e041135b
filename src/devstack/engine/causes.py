"""Why the reconciler asks for an operation, and why it holds a service back: typed, so the
engine and the daemon decide on the kind of cause, never on its wording. Each renders to
the text plans, logs and `status` have always shown (tests and the README compare them).
"""

from __future__ import annotations

from dataclasses import dataclass

# -- causes of operations ---------------------------------------------------------------------


@dataclass(frozen=True)
class NotRunning:
    def __str__(self) -> str:
        return "not running"


@dataclass(frozen=True)
class SpecChanged:
    """The instance runs (or ran) another spec: the fields whose digests differ."""

    fields: tuple[str, ...]

    def __str__(self) -> str:
        return f"spec-hash changed: {', '.join(self.fields)}"


@dataclass(frozen=True)
class Crashed:
    """Exited, and the restart policy starts it again: a counted restart."""

    exit_code: int | None
    restart: int  # which restart this is, from 1
    delay: float  # the backoff waited

    def __str__(self) -> str:
        return (
            f"exited with code {self.exit_code}; restart {self.restart} "
            f"after {self.delay:g}s backoff"
        )


@dataclass(frozen=True)
class ScaledDown:
    """More instances run than are wanted; 0 wanted is a stop."""

    replicas: int

    def __str__(self) -> str:
        return "stopped" if self.replicas == 0 else f"scaled down to {self.replicas}"


@dataclass(frozen=True)
class ExitedUnwanted:
    def __str__(self) -> str:
        return "exited and no longer wanted"


@dataclass(frozen=True)
class Retired:
    """A provider nothing uses any more (after a swap)."""

    def __str__(self) -> str:
        return "no longer used (data kept)"


@dataclass(frozen=True)
class Orphan:
    def __str__(self) -> str:
        return "orphan: not in the manifest"


@dataclass(frozen=True)
class Requested:
    """Asked for from outside the reconciler: the user, or a watch rule; `what` says which."""

    what: str = "restart requested"

    def __str__(self) -> str:
        return self.what


Cause = (
    NotRunning | SpecChanged | Crashed | ScaledDown | ExitedUnwanted | Retired | Orphan | Requested
)

# -- reasons a service waits ------------------------------------------------------------------


@dataclass(frozen=True)
class Unsettled:
    """A dependency not yet as its dependent needs it: `stopped`, `starting`, `unhealthy`."""

    name: str
    state: str

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"


@dataclass(frozen=True)
class Blocked:
    """Held back until its dependencies settle."""

    dependencies: tuple[Unsettled, ...]

    @property
    def on_a_stopped_dependency(self) -> bool:
        """No pass will unblock it: a dependency is not going to start."""
        return any(d.state == "stopped" for d in self.dependencies)

    def __str__(self) -> str:
        return f"waiting for {', '.join(map(str, self.dependencies))}"


@dataclass(frozen=True)
class Backoff:
    until: float  # when the restart is due (the controller's clock)

    def __str__(self) -> str:
        return f"restart backoff until {self.until:.1f}"


@dataclass(frozen=True)
class StopsAfter:
    """Stopping, but dependents that stop too still run: it outlives them."""

    holders: tuple[str, ...]

    def __str__(self) -> str:
        return f"stops after {', '.join(self.holders)}"


@dataclass(frozen=True)
class HeldForConsumers:
    """A retired provider kept while a consumer may still use it."""

    def __str__(self) -> str:
        return "stops once its consumers moved off it"


Reason = Blocked | Backoff | StopsAfter | HeldForConsumers
