"""A shell in a service from the UI: the command line it runs, and running it in the terminal.

The UI does not exec into anything itself: it hands the terminal to `devstack exec SERVICE`
(the CLI command that knows containers and process services alike) and takes it back
when that ends. The command is the CLI of the same Python that runs the UI, so it works
whether or not a `devstack` script is on PATH. No Textual here.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence

# Runs a command line with the terminal handed over; returns its exit code.
Runner = Callable[[Sequence[str]], int]


def shell_command(manifest: str, service: str, python: str = sys.executable) -> list[str]:
    """`devstack -f MANIFEST exec SERVICE`: an interactive shell in the service."""
    return [python, "-m", "devstack.cli.main", "-f", manifest, "exec", service]


def banner(service: str) -> str:
    """What the terminal shows above the shell, so that the way back is clear."""
    return f"devstack: a shell in {service}; `exit` (or ctrl+d) returns to the UI\n"


def run_command(argv: Sequence[str]) -> int:
    """Run `argv` on the terminal as it is (the app is suspended around this call)."""
    try:
        return subprocess.call(list(argv))
    except OSError as exc:
        print(f"devstack: cannot run {argv[0]}: {exc}", file=sys.stderr)
        return 127
