"""One-offs and shells of host-process services: the service's workdir and environment.

The environment is the one the process runtime gives the service: a minimal base taken
from the host, what `inherit_env` names, then the resolved variables. It never carries
the runtime's `DEVSTACK_OWNER` label, so a daemon never mistakes a one-off (or a shell
started from one) for an instance of the service and adopts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from devstack.model.desired import ProcessSpec
from devstack.oneoff import OneOffError
from devstack.oneoff.config import Target
from devstack.oneoff.terminal import run_attached
from devstack.runtimes.process import BASE_ENV, OWNER_VAR


def process_spec(target: Target) -> ProcessSpec:
    spec = target.service.spec
    if not isinstance(spec, ProcessSpec):
        raise OneOffError(f"{target.name} is not a host-process service")
    return spec


def environment(target: Target, host_env: Mapping[str, str]) -> dict[str, str]:
    """What the process runtime would start the service with, minus its owner label."""
    spec = process_spec(target)
    names = (*BASE_ENV, *spec.inherit_env)
    env = {name: host_env[name] for name in names if name in host_env}
    env.update(spec.env)
    env.pop(OWNER_VAR, None)
    return env


def default_shell(host_env: Mapping[str, str]) -> list[str]:
    return [host_env.get("SHELL") or "/bin/sh"]


def run_in_service(target: Target, argv: Sequence[str], host_env: Mapping[str, str]) -> int:
    """Run `argv` (default: the service's own command) in the service's workdir and env."""
    spec = process_spec(target)
    command = list(argv) or list(spec.command)
    if not Path(spec.workdir).is_dir():
        raise OneOffError(f"{target.name}'s workdir {spec.workdir} is not a directory")
    return run_attached(command, cwd=spec.workdir, env=environment(target, host_env))
