"""When is a stack up? The one judgement behind `up --wait`, `swap --wait` and a booting daemon.

Works on status as the API returns it (plain JSON), so the CLI loads no pydantic for it
and the daemon applies the very same rule to its own status before its API exists.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: a no-op `up --wait` judges before click (cli/fast_up.py)
if TYPE_CHECKING:
    from typing import Any, Literal

    Verdict = Literal["ready", "failed", "pending"]

FAILED_STATES = frozenset({"failed", "exited", "restarting", "unhealthy"})


def wanted(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services `--wait` waits for: those meant to run and still declared."""
    return [s for s in services if s["replicas"] > 0 and s["state"] not in ("orphan", "retiring")]


def judge(services: list[dict[str, Any]]) -> tuple[Verdict, list[dict[str, Any]]]:
    """("failed", the broken ones), ("ready", all wanted) or ("pending", those not yet up)."""
    waiting_for = wanted(services)
    broken = [s for s in waiting_for if s["state"] in FAILED_STATES]
    if broken:
        return "failed", broken
    pending = [s for s in waiting_for if s["state"] not in ("running", "completed")]
    if pending:
        return "pending", pending
    return "ready", waiting_for
