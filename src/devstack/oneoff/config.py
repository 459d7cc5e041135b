"""The effective config of a service: exactly what the daemon runs it with.

One function, `effective_state`, so that whatever the daemon adds to a service's config
(swaps, scale, secrets read at `up`, per-environment images, a pinned release) reaches
one-offs and shells too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from devstack.config.loader import LoadedStack
from devstack.config.ports import PortAllocator
from devstack.intent.desired import desired_state
from devstack.intent.value import Intent
from devstack.model.desired import DesiredService, DesiredState
from devstack.model.names import known_names
from devstack.oneoff import OneOffError
from devstack.state.paths import StackPaths

EXIT_USAGE = 2


@dataclass(frozen=True)
class Target:
    """A service to run a one-off of, or to open a shell in, with its resolved config."""

    stack: str  # the stack's name: names its containers, network and images
    stack_id: str  # labels the stack's processes and containers
    environment: str
    service: DesiredService
    desired: DesiredState

    @property
    def name(self) -> str:
        return self.service.name

    def instance(self, replica: int) -> Target:
        """The service as replica `replica` runs it (a host process's own PORT)."""
        return replace(self, service=self.service.instance(replica))


def effective_state(
    loaded: LoadedStack,
    paths: StackPaths,
    environment: str | None,
    host_env: Mapping[str, str],
    running: str | None = None,
) -> DesiredState:
    """The desired state as the daemon resolves it, from the intent it persisted: its
    remembered host ports, the swaps and scale in force, the environment's secrets (read
    from their provider, in memory only), and a release pinned by `up --release`.

    `environment` is `--env` (None: the one that runs); `running` is the running daemon's.
    Raises ManifestError for a bad manifest or an unusable release.
    """
    from devstack.providers.secrets import read as read_secrets

    intent = Intent.load(paths.overrides).for_config(environment, running)
    return desired_state(
        loaded,
        intent,
        host_env,
        state_dir=paths.state_dir,
        ports=PortAllocator(paths.state_dir / "ports.json"),  # read only: never saved here
        secrets=read_secrets,
    )


def check_declared(loaded: LoadedStack, service: str) -> None:
    """A service of the manifest; anything else (a typo, a backing service) is a usage error."""
    declared = loaded.stack.services
    if service not in declared:
        # `unknown service 'x' in devstack.yaml (did you mean 'y'?)`
        hint = known_names(declared, service)
        raise OneOffError(f"unknown service {service!r} in {loaded.display_name}{hint}", EXIT_USAGE)


def target(
    loaded: LoadedStack,
    paths: StackPaths,
    service: str,
    environment: str | None,
    host_env: Mapping[str, str],
    running: str | None = None,
) -> Target:
    """The service to run, resolved; an unknown name (or a backing service) is a usage error."""
    check_declared(loaded, service)
    desired = effective_state(loaded, paths, environment, host_env, running)
    if service not in desired.services:  # a release recorded before the service existed
        raise OneOffError(f"{service} is not part of the release that runs", EXIT_USAGE)
    return Target(
        loaded.stack.name, paths.stack_id, desired.environment, desired.services[service], desired
    )


def replica_label(service: str, replica: int) -> str:
    """How a replica is shown: `api` for the first, `api#2` for the third."""
    return f"{service}#{replica}" if replica else service
