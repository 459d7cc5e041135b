"""Backing services resolved: which provider serves each, where, and what consumers get.

For one environment and the user's swaps this decides, per backing service, its provider
(swap > environment's `providers:` > the entry's `provider:` > the kind's default) and
turns that into desired state:

- a *provider workload* per provider in use (an emulator process, a LocalStack
  container...), named after the provider, so `status` shows it like any service;
- a *backing node* per backing service that holds resources: a provision spec whose
  "start" creates them on the provider (see runtimes/provision.py);
- for each consumer, the binding variables (`AWS_ENDPOINT_URL_S3`, `UPLOADS_BUCKET`...),
  computed for where the consumer runs: a container reaches a host-process emulator
  through host.docker.internal, a host process reaches a container through 127.0.0.1.

This module chooses; `workloads.py` builds the provider workloads, `nodes.py` the backing
nodes, `bindings.py` the variables (one small function per kind), `endpoints.py` holds
the types they share, and `api/kinds.py` the table of kinds and provider types.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.api.kinds import BUILTIN_PROVIDERS, PROVIDER_KINDS, default_provider
from devstack.config.bindings import BackingBindings
from devstack.config.endpoints import (
    PER_BACKING,
    BackingProblem,
    ProviderUse,
)
from devstack.config.extras import require_emulator
from devstack.config.lsclient import AwsBinding
from devstack.config.nodes import backing_node
from devstack.config.workloads import provider_use, server_use
from devstack.model.desired import DesiredService, EnvVar
from devstack.model.manifest import Stack
from devstack.model.names import known_names

# Re-exported: the daemon and the CLI catch it from here, next to resolve_backing.
__all__ = ["BackingProblem", "BackingResolution", "resolve_backing"]


@dataclass
class BackingResolution:
    """Everything backing services add to the desired state of one environment."""

    provider_of: dict[str, str]  # backing service -> provider name
    use_key: dict[str, str]  # backing service -> key in `providers` (its workload's name)
    providers: dict[str, ProviderUse]
    nodes: dict[str, DesiredService]  # provider workloads, relays, backing nodes
    internal: frozenset[str]  # every name a provider or backing node could take
    _bindings: BackingBindings

    def env(self, service: str, consumer: str) -> list[EnvVar]:
        return self._bindings.env(service, consumer)

    def lookup(self, ref: str, consumer: str) -> str | None:
        return self._bindings.lookup(ref, consumer)

    def aws_bindings(self, service: str, consumer: str) -> list[AwsBinding]:
        return self._bindings.aws_bindings(service, consumer)

    def dependencies(self, uses: list[str], consumer: str = "process") -> dict[str, str]:
        """A consumer waits for its backing nodes (resources created) or, for resources
        that need none, for the provider itself; a container also for the relay."""
        deps: dict[str, str] = {}
        for backing in uses:
            provider = self.providers.get(self.use_key.get(backing, ""))
            if backing in self.nodes:
                deps[backing] = "service_started"
            elif provider and provider.workload:
                deps[provider.workload.name] = "service_healthy"
            if consumer == "docker" and provider and provider.relay:
                deps[provider.relay.name] = "service_started"
        return deps


def resolve_backing(
    stack: Stack,
    root: Path,
    environment_providers: Mapping[str, str],
    swaps: Mapping[str, str],
    host_env: Mapping[str, str],
    ports: Callable[[str, int], int],
    *,
    extra_providers: frozenset[str] = frozenset(),
    state_dir: Path | None = None,
) -> BackingResolution:
    """Raises BackingProblem for a configuration that cannot work (located in the manifest).

    `extra_providers` are started even though nothing uses them yet: a swap warms its new
    provider up before it moves any consumer onto it.
    """
    data_root = state_dir or root / ".devstack"
    declared = declared_providers(stack)
    provider_of: dict[str, str] = {}
    path: tuple[str | int, ...]
    for name, backing in stack.backing.items():
        if name in swaps:
            chosen, path = swaps[name], ("backing", name)
        elif name in environment_providers:
            chosen, path = environment_providers[name], ("environments",)
        elif backing.provider is not None:
            chosen, path = backing.provider, ("backing", name, "provider")
        else:
            chosen = default_provider(backing.kind) or ""
            path = ("backing", name)
        if backing.kind == "url" and chosen == "":
            provider_of[name] = ""
            continue
        _check_provider(name, backing.kind, chosen, declared, path)
        provider_of[name] = chosen

    # A database server serves one backing service; an AWS emulator serves all bound to it.
    use_key = {
        b: (f"{p}-{b}" if declared[p].type in PER_BACKING else p)
        for b, p in provider_of.items()
        if p
    }
    per_backing = {f"{p}-{b}": (p, b) for p in declared for b in stack.backing}
    consumers = _consumers(stack)
    uses: dict[str, ProviderUse] = {}
    for key in sorted(set(use_key.values()) | set(extra_providers)):
        served = [b for b, k in use_key.items() if k == key]
        container_consumer = any(
            stack.services[c].runtime == "docker" for b in served for c in consumers.get(b, [])
        )
        if key in per_backing and declared[per_backing[key][0]].type in PER_BACKING:
            name, backing_name = per_backing[key]
            uses[key] = server_use(
                stack, key, name, declared[name], backing_name, ports, data_root,
                container_consumer,
            )  # fmt: skip
            continue
        if key not in declared:
            raise BackingProblem(f"unknown provider {key!r}{_known(declared, key)}", "providers")
        kinds: set[str] = {stack.backing[b].kind for b in served}
        uses[key] = provider_use(
            stack, key, declared[key], kinds, host_env, ports, data_root, container_consumer
        )

    nodes: dict[str, DesiredService] = {}
    for use in uses.values():
        for node in (use.workload, use.relay):
            if node is not None:
                nodes[node.name] = node
    for name, backing in stack.backing.items():
        provider = uses.get(use_key.get(name, ""))
        node = backing_node(stack, root, name, backing, provider)
        if node is not None:
            nodes[name] = node

    keys = set(declared) | {
        k for k, (p, _) in per_backing.items() if declared[p].type in PER_BACKING
    }
    internal = set(stack.backing) | keys | {f"{k}-relay" for k in keys}
    bindings = BackingBindings(stack, provider_of, use_key, uses)
    return BackingResolution(provider_of, use_key, uses, nodes, frozenset(internal), bindings)


@functools.cache
def _builtin(name: str) -> Any:
    # Cached: models are frozen, and a TypeAdapter costs ~5 ms to build on every resolve.
    from pydantic import TypeAdapter

    from devstack.model.backing import Provider

    return TypeAdapter(Provider).validate_python({"type": name})


def _known(names: Mapping[str, Any] | set[str], name: str | None = None) -> str:
    return known_names(names, name) if names else ""


def declared_providers(stack: Stack) -> dict[str, Any]:
    """Every provider a backing service may name: the built-in ones and the stack's."""
    return {**{k: _builtin(k) for k in BUILTIN_PROVIDERS}, **stack.providers}


def provider_mismatch(kind: str, chosen: str, declared: Mapping[str, Any]) -> str | None:
    """Why provider `chosen` cannot serve a backing service of `kind`, or None if it can
    (used by the manifest's checks and by `swap`, which names the culprit differently)."""
    if chosen not in declared:
        return f"unknown provider {chosen!r}{_known(declared, chosen)}"
    ptype = declared[chosen].type
    if kind not in PROVIDER_KINDS[ptype]:
        serves = ", ".join(PROVIDER_KINDS[ptype])
        return f"provider {chosen!r} ({ptype}) cannot serve {kind} (it serves: {serves})"
    return None


def _check_provider(
    backing: str, kind: str, chosen: str, declared: Mapping[str, Any], path: tuple[str | int, ...]
) -> None:
    if chosen not in declared:
        raise BackingProblem(
            f"backing service {backing!r}: unknown provider {chosen!r}{_known(declared, chosen)}",
            *path,
        )
    ptype = declared[chosen].type
    if kind not in PROVIDER_KINDS[ptype]:
        serves = ", ".join(PROVIDER_KINDS[ptype])
        raise BackingProblem(
            f"backing service {backing!r} is of kind {kind}, which provider {chosen!r} "
            f"({ptype}) cannot serve (it serves: {serves})",
            *path,
        )
    # Not a BackingProblem: the manifest is fine, this machine lacks an optional extra.
    require_emulator(ptype, f"backing service {backing!r}: provider {chosen!r}")


def _consumers(stack: Stack) -> dict[str, list[str]]:
    """Backing service -> services that use it or refer to it with a template."""
    found: dict[str, list[str]] = {}
    for name, service in stack.services.items():
        texts = [v if isinstance(v, str) else v.value for v in service.env.values()]
        for backing in stack.backing:
            mentioned = any(f"backing.{backing}." in text for text in texts)
            if backing in service.uses or mentioned:
                found.setdefault(backing, []).append(name)
    return found
