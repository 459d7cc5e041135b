"""Provider workloads: what runs for each provider in use (an emulator process, a
LocalStack container, a database server), where it answers, and the relay that lets
containers reach a host process listening on 127.0.0.1 only."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from devstack.api.kinds import AWS_KINDS, PROVIDER
from devstack.config.endpoints import (
    EMULATOR_CREDENTIALS,
    EMULATOR_PORT,
    HOST_FROM_CONTAINER,
    LOCAL_HOST,
    BackingProblem,
    Endpoint,
    ProviderUse,
)
from devstack.config.servers import SCHEMES, SERVER_PORTS, ServerProblem, server_workload
from devstack.model.backing import (
    AwsProvider,
    EmulatorProvider,
    ExternalProvider,
    LocalstackProvider,
    PostgresBacking,
    RedisBacking,
)
from devstack.model.desired import (
    ContainerSpec,
    DesiredService,
    EnvVar,
    PortBinding,
    ProcessSpec,
    Source,
    spec_digests,
)
from devstack.model.manifest import HealthCheck, Stack


def server_use(
    stack: Stack,
    key: str,
    name: str,
    provider: Any,
    backing_name: str,
    ports: Callable[[str, int], int],
    data_root: Path,
    container_consumer: bool,
) -> ProviderUse:
    backing = stack.backing[backing_name]
    assert isinstance(backing, PostgresBacking | RedisBacking)  # PROVIDER_KINDS checked it
    try:
        workload, port = server_workload(stack.name, key, provider, backing, ports, data_root)
    except ServerProblem as exc:
        raise BackingProblem(
            f"backing service {backing_name!r}: provider {name!r}: {exc}", "backing", backing_name
        ) from None
    scheme = SCHEMES[backing.kind]
    if provider.type == "container":
        inside = f"{scheme}://{key}:{SERVER_PORTS[backing.kind]}"
        relay = None
    else:
        inside = f"{scheme}://{HOST_FROM_CONTAINER}:{port}"
        relay = relay_workload(key, port, data_root) if container_consumer else None
    endpoint = Endpoint(f"{scheme}://{LOCAL_HOST}:{port}", inside, provider.region)
    return ProviderUse(key, provider.type, endpoint, workload, relay, {backing.kind}, name)


def _for_containers(url: str) -> str:
    """A URL on the host's loopback, as a container reaches it."""
    for loopback in ("//127.0.0.1", "//localhost"):
        url = url.replace(loopback, f"//{HOST_FROM_CONTAINER}")
    return url


def provider_use(
    stack: Stack,
    name: str,
    provider: Any,
    kinds: set[str],
    host_env: Mapping[str, str],
    ports: Callable[[str, int], int],
    data_root: Path,
    container_consumer: bool,
) -> ProviderUse:
    region = provider.region
    if isinstance(provider, EmulatorProvider):
        port = provider.port or ports(name, EMULATOR_PORT)
        endpoint = Endpoint(
            f"http://{LOCAL_HOST}:{port}",
            f"http://{HOST_FROM_CONTAINER}:{port}",
            region,
            *EMULATOR_CREDENTIALS,
            account=PROVIDER[provider.type].account,
        )
        workload = _emulator_workload(name, provider, port, data_root / "data" / name)
        relay = relay_workload(name, port, data_root) if container_consumer else None
        return ProviderUse(name, provider.type, endpoint, workload, relay, kinds)
    if isinstance(provider, LocalstackProvider):
        if provider.url:
            url = provider.url.rstrip("/")
            endpoint = Endpoint(
                url,
                _for_containers(url),
                region,
                *EMULATOR_CREDENTIALS,
                account=PROVIDER["localstack"].account,
            )
            return ProviderUse(name, provider.type, endpoint, None, None, kinds)
        port = ports(name, EMULATOR_PORT)
        endpoint = Endpoint(
            f"http://{LOCAL_HOST}:{port}",
            f"http://{name}:{EMULATOR_PORT}",
            region,
            *EMULATOR_CREDENTIALS,
            account=PROVIDER["localstack"].account,
        )
        workload = _localstack_workload(
            stack.name, list(stack.backing.values()), name, provider, kinds, port, host_env
        )
        return ProviderUse(name, provider.type, endpoint, workload, None, kinds)
    if isinstance(provider, ExternalProvider):
        url = provider.url.rstrip("/")
        endpoint = Endpoint(
            url,
            _for_containers(url),
            region,
            provider.access_key_id,
            provider.secret_access_key,
            None,
            account=provider.account,
        )
        return ProviderUse(name, provider.type, endpoint, None, None, kinds)
    if isinstance(provider, AwsProvider):
        endpoint = Endpoint(None, None, region, profile=provider.profile, account=provider.account)
        return ProviderUse(name, provider.type, endpoint, None, None, kinds)
    raise BackingProblem(f"provider {name!r}: unsupported type {provider.type}", "providers")


def _emulator_workload(
    name: str, provider: EmulatorProvider, port: int, data: Path
) -> DesiredService:
    if provider.type == "ministack":
        command: tuple[str, ...] = (sys.executable, "-m", "ministack")
        env = {
            "GATEWAY_PORT": str(port),
            "BIND_HOST": LOCAL_HOST,  # its default is 0.0.0.0
            "MINISTACK_REGION": provider.region,
            # Data survives stops, swaps and `down`; `down --volumes` deletes the folder.
            "PERSIST_STATE": "1",
            "STATE_DIR": str(data / "state"),
            "S3_PERSIST": "1",
            "S3_DATA_DIR": str(data / "s3"),
            "LOG_LEVEL": "WARNING",
            # Its IoT MQTT listener binds 0.0.0.0:8883 whatever BIND_HOST says.
            "IOT_MTLS_ENABLED": "0",
        }
        health = HealthCheck(
            http="/_ministack/health", interval=2.0, start_interval=0.05, start_period=30.0
        )
    else:
        command = (sys.executable, "-m", "moto.server", "-H", LOCAL_HOST, "-p", str(port))
        env = {}
        health = HealthCheck(
            http="/moto-api/", interval=2.0, start_interval=0.05, start_period=30.0
        )
    # The workdir is the state folder, which exists; the emulator creates its data folders.
    spec = ProcessSpec(command=command, workdir=str(data.parent.parent), env=env, ports=(port,))
    return DesiredService(
        name=name,
        spec=spec,
        env=_runtime_env(env, name),
        depends_on={},
        healthcheck=health,
        restart="on-failure",
        stop_grace=10.0,
        runtime="process",
        digests=spec_digests(spec),
    )


def relay_workload(provider: str, port: int, data_root: Path) -> DesiredService:
    # Containers reach the host through the Docker bridge gateway; the emulator listens on
    # 127.0.0.1 only, so a relay on the gateway address forwards to it (nothing on 0.0.0.0).
    spec = ProcessSpec(
        command=(
            sys.executable,
            "-m",
            "devstack.providers.relay",
            str(port),
            f"{LOCAL_HOST}:{port}",
        ),
        workdir=str(data_root),
        env={},
        ports=(),
    )
    return DesiredService(
        name=f"{provider}-relay",
        spec=spec,
        env=(),
        depends_on={provider: "service_healthy"},
        healthcheck=None,
        restart="always",
        stop_grace=2.0,
        runtime="process",
        digests=spec_digests(spec),
    )


def _localstack_workload(
    stack: str,
    stack_backing: list[Any],
    name: str,
    provider: LocalstackProvider,
    kinds: set[str],
    port: int,
    host_env: Mapping[str, str],
) -> DesiredService:
    # Every AWS kind the stack declares, not only those bound here now: a swap that moves
    # one backing service away must not restart LocalStack (and lose the others' data).
    declared = {b.kind for b in stack_backing} & set(AWS_KINDS)
    services = sorted(declared | (kinds & set(AWS_KINDS))) or ["s3"]
    env = {
        "SERVICES": ",".join(services),  # only what the stack uses: faster start, less RAM
        "SQS_ENDPOINT_STRATEGY": "off",  # queue URLs as http://host:port/account/name
        "AWS_DEFAULT_REGION": provider.region,
        **({"PERSISTENCE": "1"} if provider.persistence else {}),
        **provider.env,
    }
    token = host_env.get("LOCALSTACK_AUTH_TOKEN")
    if token:
        env["LOCALSTACK_AUTH_TOKEN"] = token
    spec = ContainerSpec(
        image=_image(provider.image, host_env, name),
        command=None,
        env=env,
        ports=(PortBinding(EMULATOR_PORT, port),),
        volumes=(f"{stack}_{name}-data:/var/lib/localstack",),
    )
    return DesiredService(
        name=name,
        spec=spec,
        env=_runtime_env(env, name),
        depends_on={},
        # Failed probes while it boots (seconds, more on a cold image) do not count.
        healthcheck=HealthCheck(
            http="/_localstack/health", interval=2.0, start_interval=0.1, start_period=120.0
        ),
        restart="on-failure",
        stop_grace=10.0,
        runtime="docker",
        digests=spec_digests(spec),
    )


def _image(template: str, host_env: Mapping[str, str], provider: str) -> str:
    """`image: ${LOCALSTACK_IMAGE:-localstack/localstack:4.14}` is filled from the shell."""
    from devstack.config.interpolate import InterpolationError, interpolate

    try:
        return interpolate(template, host_env.get)
    except InterpolationError as exc:
        raise BackingProblem(
            f"provider {provider!r}: image: {exc}", "providers", provider
        ) from None


def _runtime_env(env: Mapping[str, str], provider: str) -> tuple[EnvVar, ...]:
    return tuple(
        EnvVar(k, v, Source("runtime", detail=f"provider {provider}"), "TOKEN" in k)
        for k, v in env.items()
    )
