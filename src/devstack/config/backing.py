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
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devstack.api.kinds import (
    AWS_KINDS,
    BUILTIN_PROVIDERS,
    LOCALSTACK_COMPATIBLE,
    PROVIDER_KINDS,
    default_provider,
)
from devstack.config.lsclient import AwsBinding, host_port
from devstack.config.servers import (
    SCHEMES,
    SERVER_PORTS,
    ServerProblem,
    server_url,
    server_workload,
)
from devstack.model.backing import (
    AwsProvider,
    DynamoDbBacking,
    EmulatorProvider,
    ExternalProvider,
    LocalstackProvider,
    PostgresBacking,
    RedisBacking,
    S3Backing,
    SecretsManagerBacking,
    SnsBacking,
    SqsBacking,
    SsmBacking,
    UrlBacking,
)
from devstack.model.desired import (
    ContainerSpec,
    DesiredService,
    EnvVar,
    PortBinding,
    ProcessSpec,
    ProvisionSpec,
    Source,
    spec_digests,
)
from devstack.model.manifest import HealthCheck, Stack

LOCAL_HOST = "127.0.0.1"
HOST_FROM_CONTAINER = "host.docker.internal"
EMULATOR_CREDENTIALS = ("test", "test")  # what LocalStack and friends expect
EMULATOR_PORT = 4566

# The AWS SDKs' service-specific endpoint variables (AWS_ENDPOINT_URL_<ID>).
SDK_ENDPOINT = {
    "s3": "S3",
    "sqs": "SQS",
    "dynamodb": "DYNAMODB",
    "ssm": "SSM",
    "secretsmanager": "SECRETS_MANAGER",
    "sns": "SNS",
}
# The account id each emulator puts in ARNs and queue URLs (with the `test` access key).
EMULATOR_ACCOUNT = {
    "localstack": "000000000000",
    "ministack": "000000000000",
    "moto": "123456789012",
}
INSTALL_HINT = {
    "ministack": "pip install 'devstack[ministack]' (or: pip install ministack)",
    "moto": "pip install 'devstack[moto]' (or: pip install 'moto[server]')",
}
EMULATOR_MODULE = {"ministack": "ministack", "moto": "moto.server"}
PER_BACKING = ("container", "process")  # provider types that run one server per backing


class BackingProblem(Exception):
    """A backing-service configuration that cannot work; `path` locates it in the manifest."""

    def __init__(self, message: str, *path: str | int) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Endpoint:
    """Where a provider answers, seen from a host process and from a container."""

    host_url: str | None  # None: the real AWS endpoints (boto3 finds them)
    container_url: str | None
    region: str
    access_key_id: str | None = None
    secret_access_key: str | None = None
    profile: str | None = None
    account: str | None = None

    def url(self, consumer: str) -> str | None:
        return self.container_url if consumer == "docker" else self.host_url


@dataclass
class ProviderUse:
    """A provider that serves at least one backing service in this environment."""

    name: str
    type: str
    endpoint: Endpoint
    workload: DesiredService | None = None  # None: nothing to run (external, aws, a URL)
    relay: DesiredService | None = None
    kinds: set[str] = field(default_factory=set)
    provider: str = ""  # the declared provider; differs from `name` for a database server

    def __post_init__(self) -> None:
        self.provider = self.provider or self.name


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
    declared = {**{k: _builtin(k) for k in BUILTIN_PROVIDERS}, **stack.providers}
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
            uses[key] = _server_use(
                stack, key, name, declared[name], backing_name, ports, data_root,
                container_consumer,
            )  # fmt: skip
            continue
        if key not in declared:
            raise BackingProblem(f"unknown provider {key!r}{_known(declared)}", "providers")
        kinds: set[str] = {stack.backing[b].kind for b in served}
        uses[key] = _provider_use(
            stack, key, declared[key], kinds, host_env, ports, data_root, container_consumer
        )

    nodes: dict[str, DesiredService] = {}
    for use in uses.values():
        for node in (use.workload, use.relay):
            if node is not None:
                nodes[node.name] = node
    for name, backing in stack.backing.items():
        provider = uses.get(use_key.get(name, ""))
        node = _backing_node(stack, root, name, backing, provider)
        if node is not None:
            nodes[name] = node

    keys = set(declared) | {
        k for k, (p, _) in per_backing.items() if declared[p].type in PER_BACKING
    }
    internal = set(stack.backing) | keys | {f"{k}-relay" for k in keys}
    bindings = BackingBindings(stack, provider_of, use_key, uses)
    return BackingResolution(provider_of, use_key, uses, nodes, frozenset(internal), bindings)


def _server_use(
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
        relay = _relay_workload(key, port, data_root) if container_consumer else None
    endpoint = Endpoint(f"{scheme}://{LOCAL_HOST}:{port}", inside, provider.region)
    return ProviderUse(key, provider.type, endpoint, workload, relay, {backing.kind}, name)


def _builtin(name: str) -> Any:
    from pydantic import TypeAdapter

    from devstack.model.backing import Provider

    return TypeAdapter(Provider).validate_python({"type": name})


def _known(names: Mapping[str, Any] | set[str]) -> str:
    return f" (known: {', '.join(sorted(names))})" if names else ""


def _check_provider(
    backing: str, kind: str, chosen: str, declared: Mapping[str, Any], path: tuple[str | int, ...]
) -> None:
    if chosen not in declared:
        raise BackingProblem(
            f"backing service {backing!r}: unknown provider {chosen!r}{_known(declared)}", *path
        )
    ptype = declared[chosen].type
    if kind not in PROVIDER_KINDS[ptype]:
        serves = ", ".join(PROVIDER_KINDS[ptype])
        raise BackingProblem(
            f"backing service {backing!r} is of kind {kind}, which provider {chosen!r} "
            f"({ptype}) cannot serve (it serves: {serves})",
            *path,
        )
    if ptype in EMULATOR_MODULE and importlib.util.find_spec(EMULATOR_MODULE[ptype]) is None:
        raise BackingProblem(
            f"backing service {backing!r}: provider {chosen!r} needs {ptype}, which is not "
            f"installed here: {INSTALL_HINT[ptype]}",
            *path,
        )


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


def _for_containers(url: str) -> str:
    """A URL on the host's loopback, as a container reaches it."""
    for loopback in ("//127.0.0.1", "//localhost"):
        url = url.replace(loopback, f"//{HOST_FROM_CONTAINER}")
    return url


def _provider_use(
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
            account=EMULATOR_ACCOUNT[provider.type],
        )
        workload = _emulator_workload(name, provider, port, data_root / "data" / name)
        relay = _relay_workload(name, port, data_root) if container_consumer else None
        return ProviderUse(name, provider.type, endpoint, workload, relay, kinds)
    if isinstance(provider, LocalstackProvider):
        if provider.url:
            url = provider.url.rstrip("/")
            endpoint = Endpoint(
                url, _for_containers(url), region, *EMULATOR_CREDENTIALS, account="000000000000"
            )
            return ProviderUse(name, provider.type, endpoint, None, None, kinds)
        port = ports(name, EMULATOR_PORT)
        endpoint = Endpoint(
            f"http://{LOCAL_HOST}:{port}",
            f"http://{name}:{EMULATOR_PORT}",
            region,
            *EMULATOR_CREDENTIALS,
            account="000000000000",
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


def _relay_workload(provider: str, port: int, data_root: Path) -> DesiredService:
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


def _backing_node(
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


def env_prefix(backing: str) -> str:
    return backing.upper().replace("-", "_")


class BackingBindings:
    """The variables each binding injects, and `${backing.NAME.FIELD}` templates."""

    def __init__(
        self,
        stack: Stack,
        provider_of: Mapping[str, str],
        use_key: Mapping[str, str],
        uses: Mapping[str, ProviderUse],
    ) -> None:
        self.stack = stack
        self.provider_of = provider_of
        self.use_key = use_key
        self.uses = uses

    def fields(self, backing: str, consumer: str) -> dict[str, str]:
        """Every template field of one backing service, as `consumer` must see it."""
        model = self.stack.backing[backing]
        use = self.uses.get(self.use_key.get(backing, ""))
        ep = use.endpoint if use else None
        url = ep.url(consumer) if ep else None
        out: dict[str, str] = {}
        if ep is not None:
            out["region"] = ep.region
            out["provider"] = use.name if use else ""
            if url:
                out["endpoint"] = url
        if isinstance(model, S3Backing):
            out["bucket"] = model.bucket
            out["arn"] = f"arn:aws:s3:::{model.bucket}"
        elif isinstance(model, SqsBacking):
            out["queue"] = model.queue
            if ep is not None and ep.account:
                base = url or f"https://sqs.{ep.region}.amazonaws.com"
                out["queue_url"] = f"{base}/{ep.account}/{model.queue}"
                out["arn"] = f"arn:aws:sqs:{ep.region}:{ep.account}:{model.queue}"
                if model.dead_letter_queue:
                    out["dlq_url"] = f"{base}/{ep.account}/{model.dead_letter_queue}"
        elif isinstance(model, DynamoDbBacking):
            out["table"] = model.table
        elif isinstance(model, SsmBacking):
            out["path"] = model.path
        elif isinstance(model, SecretsManagerBacking):
            out["secret_id"] = next(iter(model.secrets))
            out["secret_ids"] = ",".join(model.secrets)
        elif isinstance(model, SnsBacking):
            out["topic"] = model.topic
            if ep is not None and ep.account:
                out["topic_arn"] = f"arn:aws:sns:{ep.region}:{ep.account}:{model.topic}"
        elif isinstance(model, UrlBacking):
            out["url"] = model.url
        elif isinstance(model, PostgresBacking | RedisBacking):
            declared = self.stack.providers.get(self.provider_of.get(backing, ""))
            if isinstance(declared, ExternalProvider):
                out["url"] = declared.url  # the server's URL, as given
            elif url:
                parts = urlsplit(url)
                host, port = parts.hostname or LOCAL_HOST, parts.port or 0
                out.update(host=host, port=str(port), url=server_url(model, host, port))
            if isinstance(model, PostgresBacking):
                out.update(database=model.database, user=model.user, password=model.password)
        return out

    def lookup(self, ref: str, consumer: str) -> str | None:
        parts = ref.split(".")
        if len(parts) != 3 or parts[1] not in self.stack.backing:
            return None
        return self.fields(parts[1], consumer).get(parts[2])

    def aws_bindings(self, service: str, consumer: str) -> list[AwsBinding]:
        """The service's AWS backing services, each with its provider and URL as seen."""
        found = []
        for backing in self.stack.services[service].uses:
            use = self.uses.get(self.use_key.get(backing, ""))
            if self.stack.backing[backing].kind in AWS_KINDS and use is not None:
                found.append(AwsBinding(backing, use.name, use.endpoint.url(consumer)))
        return found

    def env(self, service: str, consumer: str) -> list[EnvVar]:
        uses = self.stack.services[service].uses
        found: dict[str, EnvVar] = {}

        def put(name: str, value: str, backing: str, secret: bool = False) -> None:
            source = Source("binding", detail=f"uses {backing} ({self.provider_of.get(backing)})")
            found[name] = EnvVar(name, value, source, secret)

        aws_urls: set[str | None] = set()
        edge: tuple[str, str] | None = None  # (url, backing) for LOCALSTACK_HOST
        for backing in uses:
            model = self.stack.backing[backing]
            use = self.uses.get(self.use_key.get(backing, ""))
            fields = self.fields(backing, consumer)
            prefix = env_prefix(backing)
            if model.kind in AWS_KINDS and use is not None:
                ep = use.endpoint
                url = ep.url(consumer)
                aws_urls.add(url)
                if url:
                    put(f"AWS_ENDPOINT_URL_{SDK_ENDPOINT[model.kind]}", url, backing)
                if url and edge is None and use.type in LOCALSTACK_COMPATIBLE:
                    edge = (url, backing)
                put("AWS_REGION", ep.region, backing)
                put("AWS_DEFAULT_REGION", ep.region, backing)
                if ep.access_key_id:
                    put("AWS_ACCESS_KEY_ID", ep.access_key_id, backing)
                if ep.secret_access_key:
                    put("AWS_SECRET_ACCESS_KEY", ep.secret_access_key, backing, secret=True)
                if ep.profile:
                    put("AWS_PROFILE", ep.profile, backing)
            names = {
                "bucket": "BUCKET",
                "queue_url": "QUEUE_URL",
                "dlq_url": "DLQ_URL",
                "table": "TABLE",
                "path": "PATH",
                "secret_id": "SECRET_ID",
                "topic_arn": "TOPIC_ARN",
                "url": "URL",
            }
            if model.kind in ("postgres", "redis"):
                if "url" in fields:
                    # Conventional names first; NAME_URL too, for a service with two of them.
                    secret = model.kind == "postgres"
                    common = "DATABASE_URL" if model.kind == "postgres" else "REDIS_URL"
                    put(common, fields["url"], backing, secret=secret)
                    put(f"{prefix}_URL", fields["url"], backing, secret=secret)
                continue
            for field_name, suffix in names.items():
                if field_name in fields:
                    put(f"{prefix}_{suffix}", fields[field_name], backing)
        if edge is not None:
            # For code written with `import localstack_client.session as boto3`: it reads
            # AWS_ENDPOINT_URL first (set below when there is one endpoint), else this one.
            # With bindings on several LocalStack-compatible providers, the first one used.
            put("LOCALSTACK_HOST", host_port(edge[0]), edge[1])
        if len(aws_urls) == 1:
            (only,) = aws_urls
            if only:
                # One endpoint serves every AWS binding: SDKs without per-service variables
                # (and older tools) need only this one.
                first = next(b for b in uses if self.stack.backing[b].kind in AWS_KINDS)
                put("AWS_ENDPOINT_URL", only, first)
        return list(found.values())
