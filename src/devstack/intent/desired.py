"""Manifest + intent -> desired state: the one function every caller uses.

The daemon resolves with it, and so do `up --dry-run` without a daemon, `config show`,
`run` and `exec`, `build` and `release`: what one of them shows is what the daemon runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from devstack.config.loader import LoadedStack
from devstack.config.problems import ManifestError, Problem
from devstack.config.resolve import resolve
from devstack.config.secrets import SecretReader
from devstack.intent.value import Intent
from devstack.model.desired import ContainerSpec, DesiredService, DesiredState, ProvisionSpec

DEFAULT_ENVIRONMENT = "dev"

Ports = Callable[[str, int], int]


def desired_state(
    loaded: LoadedStack,
    intent: Intent,
    host_env: Mapping[str, str],
    *,
    state_dir: Path,
    ports: Ports | None = None,
    secrets: SecretReader | None = None,
) -> DesiredState:
    """The desired state of `loaded` under `intent`.

    `state_dir` holds the recorded releases; `ports` gives (and remembers) host ports;
    `secrets` reads the environment's secrets (None: left out, as `validate` does).
    Raises ManifestError (a bad manifest, or an unusable release, naming it), UnknownName
    (an environment the stack does not declare) or MissingExtra.
    """
    if intent.release is not None:
        return _released(loaded, intent, intent.release, host_env, state_dir, ports, secrets)
    # A service whose profiles are all disabled runs no replica, unless `devstack scale`
    # asked for some (as `docker compose up NAME` starts a service of any profile).
    scale = dict.fromkeys(intent.inactive(loaded.stack.services), 0) | dict(intent.scale)
    return resolve(
        loaded,
        intent.environment or DEFAULT_ENVIRONMENT,
        host_env,
        stopped=intent.stopped,
        remove_orphans=intent.remove_orphans,
        ports=ports,
        swaps=intent.active_swaps,
        warm=intent.warm,
        secrets=secrets,
        scale=scale,
    )


def _released(
    loaded: LoadedStack,
    intent: Intent,
    release: str,
    host_env: Mapping[str, str],
    state_dir: Path,
    ports: Ports | None,
    secrets: SecretReader | None,
) -> DesiredState:
    """A recorded release, its secrets read from today's sources and checked against
    their recorded digests; scale and stops still apply (swaps do not: a release is
    immutable). Errors read as manifest problems (exit 2), naming the release."""
    from devstack.release import store
    from devstack.release.record import ReleaseError, thaw

    try:
        record = store.load(state_dir, release)
        current = resolve(loaded, record["environment"], host_env, ports=ports, secrets=secrets)
        state = thaw(record["state"], current)
    except ReleaseError as exc:
        raise ManifestError([Problem(str(exc), f"release {release}")]) from None
    services = {}
    for name, service in state.services.items():
        count = 0 if name in intent.stopped else intent.scale.get(name, service.replicas)
        services[name] = replace(
            service, replicas=count, replica_ports=_more_ports(service, count, ports)
        )
    return replace(state, services=services, remove_orphans=intent.remove_orphans, release=release)


def _more_ports(
    service: DesiredService, replicas: int, ports: Ports | None
) -> tuple[tuple[int, ...], ...]:
    """Scaling a release past its recorded replicas: free ports for the extra ones."""
    known = service.replica_ports
    spec = service.spec
    if replicas - 1 <= len(known) or isinstance(spec, ProvisionSpec) or not spec.ports:
        return known
    if ports is None:
        from devstack.config.ports import PortAllocator

        ports = PortAllocator()
    targets = (
        [p.container for p in spec.ports] if isinstance(spec, ContainerSpec) else list(spec.ports)
    )
    extra = tuple(
        tuple(ports(f"{service.name}#{k}", port) for port in targets)
        for k in range(len(known) + 1, replicas)
    )
    return known + extra
