"""One colour per service in the logs, in order of first appearance: the CLI and the TUI
read this one tuple, so a service has the same colour in `devstack logs` and in the UI."""

from __future__ import annotations

PALETTE = (
    "cyan",
    "green",
    "yellow",
    "blue",
    "magenta",
    "bright_cyan",
    "bright_green",
    "bright_blue",
)
