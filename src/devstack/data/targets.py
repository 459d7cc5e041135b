"""Which provider serves each backing service now: `DataTarget`s from a desired state.

The CLI builds the desired state the daemon runs (manifest + its saved intent: swaps,
environment, remembered ports, `oneoff.config.effective_state`); a swap builds the
states before and after. Both read the backing nodes (`ProvisionSpec`), which say where
each backing service's resources are, exactly as provisioning reaches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from devstack.api.kinds import AWS_KINDS, LOCALSTACK_COMPATIBLE
from devstack.data.adapter import DataError, DataTarget
from devstack.data.registry import supported
from devstack.data.servers import redis_target
from devstack.model.desired import DesiredState, ProvisionSpec
from devstack.providers.aws import AwsTarget


def data_targets(
    desired: DesiredState, backings: Iterable[str], declared: Mapping[str, Any] | Iterable[str]
) -> dict[str, DataTarget]:
    """The targets of `backings` (all of `declared` that hold data when empty), in order.

    `declared` is every backing service of the manifest, to tell a typo from a backing
    service whose kind holds no data.
    """
    known = list(declared)
    models: Mapping[str, Any] = declared if isinstance(declared, Mapping) else {}
    wanted = list(backings)
    for name in wanted:
        if name not in known:
            raise DataError(
                f"no backing service named {name} (declared: {', '.join(known) or 'none'})"
            )
    targets: dict[str, DataTarget] = {}
    for name in wanted or known:
        node = desired.services.get(name)
        spec = node.spec if node is not None else None
        server = redis_target(desired, name, models.get(name)) if node is None else None
        if server is not None:  # redis has no backing node: its server says where it is
            targets[name] = server
            continue
        if not isinstance(spec, ProvisionSpec) or not supported(spec.kind):
            if wanted:
                what = spec.kind if isinstance(spec, ProvisionSpec) else "its kind"
                raise DataError(f"backing service {name}: {what} holds no data devstack can copy")
            continue
        targets[name] = target_of(spec)
    return targets


def target_of(spec: ProvisionSpec) -> DataTarget:
    aws = None
    url = None
    if spec.kind in AWS_KINDS:
        aws = AwsTarget(
            endpoint_url=spec.endpoint_url,
            region=spec.region,
            access_key_id=spec.access_key_id,
            secret_access_key=spec.secret_access_key,
            profile=spec.profile,
            localstack=spec.provider_type in LOCALSTACK_COMPATIBLE,
        )
    else:
        url = spec.endpoint_url
    return DataTarget(
        backing=spec.backing,
        kind=spec.kind,
        provider=spec.provider,
        provider_type=spec.provider_type,
        resources=spec.resources,
        aws=aws,
        url=url,
    )
