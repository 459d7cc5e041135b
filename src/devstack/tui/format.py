"""How daemon data reads on screen: state colours, uptimes, resources, log lines.

Pure functions over the API's JSON (and Rich text): no Textual, no I/O.
"""

from __future__ import annotations

import time

from rich.text import Text

from devstack.api.states import STATE_TONES, Tone
from devstack.tui.api import JSON

TONE_STYLES: dict[Tone, str] = {
    "ok": "green",
    "pending": "yellow",
    "bad": "red",
    "failed": "bold red",
    "down": "dim",
    "foreign": "magenta",
    "leaving": "dim magenta",
    "remote": "cyan",
}
STATE_STYLES = {state: TONE_STYLES[tone] for state, tone in STATE_TONES.items()}
HEALTH_STYLES = {"healthy": "green", "starting": "yellow", "unhealthy": "red", "none": "dim"}
UP_STATES = ("running", "starting", "unhealthy")


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def health_text(health: str) -> Text:
    return Text("-" if health == "none" else health, style=HEALTH_STYLES.get(health, ""))


def uptime_seconds(service: JSON, now: float) -> float | None:
    started = service.get("started_at")
    if not started or service.get("state") not in UP_STATES:
        return None
    return max(0.0, now - float(started))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def ports(service: JSON) -> str:
    found = service.get("ports") or []
    return ",".join(str(p) for p in found) if found else "-"


def uses_by_service(backing: list[JSON]) -> dict[str, list[str]]:
    """Service -> the backing services it uses, from the backing list's consumers."""
    uses: dict[str, list[str]] = {}
    for row in backing:
        for consumer in row.get("consumers", []):
            uses.setdefault(consumer, []).append(row["name"])
    return uses


def provider_text(row: JSON) -> Text:
    text = Text(row.get("provider") or "-")
    if row.get("swapped"):
        text.append(" (swapped)", style="bold yellow")
    return text


def timestamp(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts % 1 * 1000):03d}"


def log_name(line: JSON) -> str:
    replica = line.get("replica") or 0
    return str(line["service"]) + (f"#{replica}" if replica else "")


def log_line(line: JSON, width: int, timestamps: bool) -> str:
    """`greeter  | text` (as `devstack logs` prints it); events read `» text`."""
    stamp = timestamp(float(line["ts"])) + " " if timestamps else ""
    text = str(line["text"])
    if line.get("stream") == "event":
        text = f"» {text}"
    return f"{log_name(line):<{width}} | {stamp}{text}"


def env_change(change: JSON) -> str:
    old = change["old"] if change.get("old") is not None else "(unset)"
    new = change["new"] if change.get("new") is not None else "(unset)"
    return f"{change['service']}: {change['name']}: {old} -> {new}"


def swap_preview(preview: JSON) -> str:
    """A swap answer (dry run or not) as text: moves, restarts, env changes, the plan."""
    lines = [f"{b}: {old or '-'} -> {new}" for b, (old, new) in preview.get("moves", {}).items()]
    restarts = preview.get("restarts") or []
    lines.append(f"restarts: {', '.join(restarts) if restarts else 'nothing'}")
    changes = preview.get("env_changes") or []
    if changes:
        lines.append("env changes:")
        lines.extend(f"• {env_change(c)}" for c in changes)
    for moved in preview.get("carry") or []:
        lines.append(carry_line(moved, bool(preview.get("applied"))))
    if preview.get("plan"):
        lines.extend(["plan:", *str(preview["plan"]).splitlines()])
    if preview.get("real"):
        lines.append("points at something real:")
        lines.extend(f"• {r}" for r in preview["real"])
    message = preview.get("message")
    if message and not preview.get("plan"):
        lines.append(str(message))
    return "\n".join(lines)


def carry_line(moved: JSON, applied: bool) -> str:
    """One backing service of `swap --carry`: what is (or would be) copied, counts only."""
    items = moved.get("items")
    what = f"{items} item(s)" if items is not None else "its data"
    if moved.get("bytes"):  # 0: the kind does not count bytes
        what += f", {int(moved['bytes']):,} bytes"
    verb = "copied" if applied else "would copy"
    return f"carry {moved['backing']}: {verb} {what} {moved['source']} -> {moved['destination']}"


def desired_replicas(service: JSON) -> int:
    """How many instances the stack asks for (`replicas`, after any scale)."""
    return int(service.get("replicas", 1))


def running_replicas(service: JSON) -> int:
    """How many instances run now (`running`; a daemon too old to say: all or none)."""
    if "running" in service:
        return int(service["running"])
    return desired_replicas(service) if service.get("state") in UP_STATES else 0


def replicas_text(service: JSON) -> Text:
    """`running/desired`, yellow while they differ (scaling, or instances down)."""
    running, desired = running_replicas(service), desired_replicas(service)
    return Text(f"{running}/{desired}", style="" if running == desired else "yellow")
