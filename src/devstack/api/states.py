"""What the states the API reports mean to a reader, shared by the CLI and the TUI.

Kept free of pydantic so a CLI command that prints a table loads only this.
"""

from __future__ import annotations

from typing import Literal

# What a state (of a service, or of a backing service's provider) means to the person
# reading it. The CLI and the TUI each map a tone to their own colours, so a state reads
# the same on both.
Tone = Literal["ok", "pending", "bad", "down", "failed", "foreign", "leaving", "remote"]
STATE_TONES: dict[str, Tone] = {
    "running": "ok",
    "provisioned": "ok",
    "starting": "pending",
    "waiting": "pending",
    "unhealthy": "bad",
    "restarting": "bad",  # crashed, waiting out its backoff
    "exited": "bad",
    "failed": "failed",
    "stopped": "down",
    "orphan": "foreign",
    "retiring": "leaving",
    "external": "remote",
}
