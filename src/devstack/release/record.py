"""A release as data: the fully resolved desired state, secrets replaced by references.

Freezing the *resolved* state (not the manifest) is what makes `up --release ID` run
exactly what was released after the manifest, an env file or a build context changed:
commands, env values, ports, image ids are all in the record. Secret values are not:
each is kept as its source and a digest, read again at `up --release` from where it lives
now, and refused if its digest differs (a rotated password is a new release).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from typing import Any

from devstack.config.diff import fingerprint
from devstack.model.container_options import (
    ContainerOptions,
    FileMount,
    GpuRequest,
    HookSpec,
    Mount,
)
from devstack.model.desired import (
    BuildPlan,
    ContainerSpec,
    DesiredService,
    DesiredState,
    EnvVar,
    PortBinding,
    ProcessSpec,
    ProvisionSpec,
    Source,
)
from devstack.model.manifest import HealthCheck

FORMAT = 1
EMULATOR_KEY = "test"  # the emulators' well-known dummy key: no secret, kept as is


class ReleaseError(Exception):
    """A release that cannot be made or run; the message says why (never a value)."""


def freeze(state: DesiredState) -> dict[str, Any]:
    """The state as JSON, secrets as `{"secret": SOURCE, "sha256": DIGEST}`."""
    services = {}
    for name, service in state.services.items():
        secret = {v.name for v in service.env if v.secret}
        spec = _spec(service.spec, secret)
        services[name] = {
            "spec": spec,
            "env": [_var(v) for v in service.env],
            "depends_on": service.depends_on,
            "healthcheck": (
                service.healthcheck.model_dump(mode="json") if service.healthcheck else None
            ),
            "restart": service.restart,
            "stop_grace": service.stop_grace,
            "replicas": service.replicas,
            "runtime": service.runtime,
            "digests": service.digests,
            "replica_ports": [list(p) for p in service.replica_ports],
        }
    return {
        "stack": state.stack,
        "environment": state.environment,
        "order": list(state.order),
        "services": services,
    }


def config_hash(frozen: dict[str, Any]) -> str:
    """One digest of the whole resolved config (secrets count by their digest)."""
    raw = json.dumps(frozen, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def thaw(frozen: dict[str, Any], current: DesiredState) -> DesiredState:
    """The recorded state with its secrets filled in from `current` (the same environment
    resolved from today's sources); raises ReleaseError when one is missing or differs."""
    secrets = {
        name: {v.name: v for v in service.env if v.secret}
        for name, service in current.services.items()
    }
    services = {}
    for name, data in frozen["services"].items():
        values: dict[str, str] = {}
        env = []
        for item in data["env"]:
            value = item.get("value")
            if "sha256" in item:
                now = secrets.get(name, {}).get(item["name"])
                if now is None:
                    raise ReleaseError(
                        f"{name}: secret {item['name']} ({item['source']}) is no longer defined"
                    )
                if fingerprint(now.value) != item["sha256"]:
                    raise ReleaseError(
                        f"{name}: secret {item['name']} ({item['source']}) changed since this "
                        "release; make a new release to run with the new value"
                    )
                value = now.value
            values[item["name"]] = value
            source = Source(item["layer"], item.get("file"), item.get("line"), item["detail"])
            env.append(EnvVar(item["name"], value, source, item["secret"]))
        spec = _thaw_spec(dict(data["spec"]), values, current.services.get(name))
        check = data["healthcheck"]
        services[name] = DesiredService(
            name=name,
            spec=spec,
            env=tuple(env),
            depends_on=dict(data["depends_on"]),
            healthcheck=HealthCheck.model_validate(check) if check else None,
            restart=data["restart"],
            stop_grace=float(data["stop_grace"]),
            replicas=int(data["replicas"]),
            runtime=data["runtime"],
            digests=dict(data["digests"]),
            replica_ports=tuple(tuple(p) for p in data["replica_ports"]),
        )
    return DesiredState(
        stack=frozen["stack"],
        environment=frozen["environment"],
        services=services,
        order=tuple(frozen["order"]),
    )


def _var(var: EnvVar) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": var.name,
        "layer": var.source.layer,
        "file": var.source.file,
        "line": var.source.line,
        "detail": var.source.detail,
        "source": str(var.source),
        "secret": var.secret,
    }
    if var.secret:
        item["sha256"] = fingerprint(var.value)
    else:
        item["value"] = var.value
    return item


def _spec(spec: ProcessSpec | ContainerSpec | ProvisionSpec, secret: set[str]) -> dict[str, Any]:
    data = asdict(spec)
    data["type"] = type(spec).__name__
    if "env" in data:
        # Values come back from the env list at thaw time; secrets are not written here.
        data["env"] = sorted(data["env"])
    if isinstance(spec, ContainerSpec):
        for item in data["options"]["files"]:
            if item["secret"]:  # a secret mounted as a file: its digest, not its value
                item["content"] = {"sha256": fingerprint(item["content"])}
    key = spec.secret_access_key if isinstance(spec, ProvisionSpec) else None
    if key is not None and key != EMULATOR_KEY:
        data["secret_access_key"] = {"sha256": fingerprint(key)}
    return data


def _thaw_spec(
    data: dict[str, Any], values: dict[str, str], current: DesiredService | None
) -> ProcessSpec | ContainerSpec | ProvisionSpec:
    kind = data.pop("type")
    if kind == "ProcessSpec":
        return ProcessSpec(
            command=tuple(data["command"]),
            workdir=data["workdir"],
            env={name: values[name] for name in data["env"]},
            ports=tuple(data["ports"]),
            inherit_env=tuple(data["inherit_env"]),
        )
    if kind == "ContainerSpec":
        build = data["build"]
        return ContainerSpec(
            image=data["image"],
            command=tuple(data["command"]) if data["command"] is not None else None,
            env={name: values[name] for name in data["env"]},
            ports=tuple(PortBinding(**p) for p in data["ports"]),
            volumes=tuple(data["volumes"]),
            build=BuildPlan.from_json(build) if build else None,
            image_id=data["image_id"],
            options=_thaw_options(data.get("options"), current, data["image"]),
        )
    recorded = data.get("secret_access_key")
    if isinstance(recorded, dict):
        now = current.spec if current is not None else None
        key = now.secret_access_key if isinstance(now, ProvisionSpec) else None
        if key is None or fingerprint(key) != recorded["sha256"]:
            raise ReleaseError(
                f"backing service {data['backing']}: its provider's secret key changed "
                "since this release (or is gone); make a new release"
            )
        data["secret_access_key"] = key
    return ProvisionSpec(**data)


def _thaw_options(
    data: dict[str, Any] | None, current: DesiredService | None, image: str
) -> ContainerOptions:
    """The recorded options, each mounted secret's value read again from where it lives
    now (the current resolution) and refused if it changed since the release."""
    if not data:
        return ContainerOptions()
    now = current.spec.options.files if current and isinstance(current.spec, ContainerSpec) else ()
    values = {f.target: f.content for f in now if f.content is not None}
    files = []
    for item in data["files"]:
        content = item["content"]
        if isinstance(content, dict):
            value = values.get(item["target"])
            if value is None or fingerprint(value) != content["sha256"]:
                raise ReleaseError(
                    f"container {image}: the secret mounted at {item['target']} changed "
                    "since this release (or is gone); make a new release"
                )
            content = value
        files.append(FileMount(**{**item, "content": content}))
    hooks = {
        stage: tuple(HookSpec.from_json(h) for h in data[stage])
        for stage in ("post_start", "pre_stop")
    }
    return ContainerOptions(
        entrypoint=_tuple(data["entrypoint"]),
        user=data["user"],
        working_dir=data["working_dir"],
        cap_add=tuple(data["cap_add"]),
        cap_drop=tuple(data["cap_drop"]),
        ulimits=tuple(tuple(u) for u in data["ulimits"]),
        tmpfs=tuple(tuple(t) for t in data["tmpfs"]),
        shm_size=data["shm_size"],
        extra_hosts=tuple(tuple(h) for h in data["extra_hosts"]),
        network_mode=data["network_mode"],
        mounts=tuple(Mount(**m) for m in data["mounts"]),
        files=tuple(files),
        healthcheck=_tuple(data["healthcheck"]),
        health_timing=_tuple(data["health_timing"]),
        post_start=hooks["post_start"],
        pre_stop=hooks["pre_stop"],
        # Absent from the records of releases made before these keys existed.
        devices=tuple(data.get("devices", ())),
        api_socket=bool(data.get("api_socket", False)),
        gpus=tuple(GpuRequest.from_json(g) for g in data.get("gpus", ())),
        aliases=tuple(data.get("aliases", ())),
    )


def _tuple(value: list[Any] | None) -> Any:
    return tuple(value) if value is not None else None


def pin_images(state: DesiredState) -> DesiredState:
    """Images by id, no build plan: a release never builds, it runs what was built."""
    services = {}
    for name, service in state.services.items():
        spec = service.spec
        if isinstance(spec, ContainerSpec) and spec.image_id:
            pinned = replace(spec, image=spec.image_id, build=None)
            services[name] = replace(service, spec=pinned)
        else:
            services[name] = service
    return replace(state, services=services)
