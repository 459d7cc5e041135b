"""Where a database server answers when it has no backing node.

Postgres has a backing node (its database is created by provisioning), whose spec says
where the server is. Redis has none: nothing needs creating on it. Its server is the
workload `<provider>-<backing>` of the desired state (config/servers.py), and the
workload's host port is where this machine reaches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.data.adapter import DataTarget
from devstack.model.desired import ContainerSpec, DesiredState, ProcessSpec

REDIS_PORT = 6379  # inside the `container` provider's image


def redis_target(desired: DesiredState, backing: str, model: Any) -> DataTarget | None:
    """The redis server serving `backing` in `desired` (a swap's retired one excluded), or
    None."""
    if model is not None and getattr(model, "kind", None) != "redis":
        return None
    suffix = f"-{backing}"
    for name, service in desired.services.items():
        if not name.endswith(suffix) or name in desired.retired:
            continue
        spec = service.spec
        if (
            isinstance(spec, ProcessSpec)
            and spec.command
            and Path(spec.command[0]).name == "redis-server"
        ):
            port, ptype = spec.ports[0], "process"
        elif isinstance(spec, ContainerSpec) and any(p.container == REDIS_PORT for p in spec.ports):
            port = next(p.host for p in spec.ports if p.container == REDIS_PORT)
            ptype = "container"
        else:
            continue
        resources = model.model_dump(mode="json", exclude={"provider"}) if model else {}
        return DataTarget(
            backing=backing,
            kind="redis",
            provider=name[: -len(suffix)],
            provider_type=ptype,
            resources=resources,
            url=f"redis://127.0.0.1:{port}/{resources.get('database', 0)}",
        )
    return None
