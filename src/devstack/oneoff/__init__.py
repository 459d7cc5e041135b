"""Admin processes (twelve-factor XII): one-offs and shells with a service's own config.

`devstack run` starts a one-off with a service's image (or workdir) and effective config;
`devstack exec` runs a command inside a running service (its container, or for a host
process its workdir and environment). Both stay attached to the terminal and report the
command's exit code. Neither goes through the daemon: the daemon owns the stack, and a
one-off is never part of it (never adopted, never removed as an orphan).

- `config`: the effective config of a service (what `up` gives it) and the target to run;
- `terminal`: a child attached to the terminal, signals and exit codes as a shell does;
- `process`: one-offs and shells of host-process services;
- `container`: one-offs and `docker exec` for container services.
"""

from __future__ import annotations


class OneOffError(Exception):
    """A one-off or shell that cannot run; the message says why and what to do."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
