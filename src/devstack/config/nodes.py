"""Backing nodes: one per backing service whose resources devstack creates, a
ProvisionSpec whose "start" creates them on the provider (see runtimes/provision.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.api.kinds import AWS_KINDS
from devstack.config.endpoints import PER_BACKING, ProviderUse
from devstack.model.backing import AwsProvider, ExternalProvider, PostgresBacking, SnsBacking
from devstack.model.desired import DesiredService, ProvisionSpec, spec_digests
from devstack.model.manifest import Stack


def backing_node(
    stack: Stack, root: Path, name: str, backing: Any, provider: ProviderUse | None
) -> DesiredService | None:
    if provider is None:
        return None
    if isinstance(backing, PostgresBacking) and provider.type in PER_BACKING:
        return _postgres_node(root, name, backing, provider)
    if backing.kind not in AWS_KINDS:
        return None
    declared = stack.providers.get(provider.name)
    if isinstance(declared, ExternalProvider | AwsProvider) and not declared.provision:
        return None  # devstack creates nothing in a real account unless asked to
    ep = provider.endpoint
    others = {
        s.queue: stack.backing[s.queue].model_dump(mode="json")
        for s in (backing.subscriptions if isinstance(backing, SnsBacking) else [])
        if s.queue in stack.backing
    }
    ready = f"{ep.host_url}/_localstack/init/ready" if provider.type == "localstack" else None
    spec = ProvisionSpec(
        backing=name,
        kind=backing.kind,
        provider=provider.name,
        endpoint_url=ep.host_url,
        region=ep.region,
        access_key_id=ep.access_key_id,
        secret_access_key=ep.secret_access_key,
        profile=ep.profile,
        resources=backing.model_dump(mode="json", exclude={"provider"}),
        others=others,
        root=str(root),
        ready_url=ready,
        provider_workload=provider.workload.name if provider.workload else None,
        provider_type=provider.type,
    )
    depends: dict[str, str] = {}
    if provider.workload is not None:
        depends[provider.workload.name] = "service_healthy"
    if isinstance(backing, SnsBacking):
        for sub in backing.subscriptions:
            depends[sub.queue] = "service_started"
    return DesiredService(
        name=name,
        spec=spec,
        env=(),
        depends_on=depends,
        healthcheck=None,
        restart="on-failure",
        stop_grace=0.0,
        runtime="provision",
        digests=spec_digests(spec),
    )


def _postgres_node(
    root: Path, name: str, backing: PostgresBacking, provider: ProviderUse
) -> DesiredService:
    spec = ProvisionSpec(
        backing=name,
        kind="postgres",
        provider=provider.provider,
        endpoint_url=provider.endpoint.host_url,
        region="",
        access_key_id=backing.user,
        secret_access_key=backing.password,
        profile=None,
        resources=backing.model_dump(mode="json", exclude={"provider"}),
        others={},
        root=str(root),
        provider_workload=provider.workload.name if provider.workload else None,
    )
    assert provider.workload is not None
    return DesiredService(
        name=name,
        spec=spec,
        env=(),
        depends_on={provider.workload.name: "service_healthy"},
        healthcheck=None,
        restart="on-failure",
        stop_grace=0.0,
        runtime="provision",
        digests=spec_digests(spec),
    )
