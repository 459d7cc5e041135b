"""What the states the API reports mean to a reader, shared by the CLI and the TUI.

Kept free of pydantic so a CLI command that prints a table loads only this.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: an everyday `devstack status` does without it
if TYPE_CHECKING:
    from typing import Literal

    # What a state (of a service, or of a backing service's provider) means to the person
    # reading it. The CLI and the TUI each map a tone to their own colours, so a state
    # reads the same on both.
    Tone = Literal["ok", "pending", "bad", "down", "failed", "foreign", "leaving", "remote"]
else:
    Tone = str
STATE_TONES: dict[str, Tone] = {
    "running": "ok",
    "provisioned": "ok",
    "starting": "pending",
    "waiting": "pending",
    "unhealthy": "bad",
    "restarting": "bad",  # crashed, waiting out its backoff
    "exited": "bad",
    "completed": "ok",  # a one-shot that exited 0, as a service depending on it asked
    "failed": "failed",
    "stopped": "down",
    "orphan": "foreign",
    "retiring": "leaving",
    "external": "remote",
}


# Stack-level `problems` that are disk trouble (daemon/disk.py), not a rejected manifest edit.
DISK_PREFIXES = ("disk full: ", "disk error: ")


def split_problems(problems: list[str]) -> tuple[list[str], list[str]]:
    """(disk trouble, manifest problems) from a status' `problems`."""
    disk = [p for p in problems if p.startswith(DISK_PREFIXES)]
    return disk, [p for p in problems if p not in disk]
