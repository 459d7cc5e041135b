"""Postgres and Redis providers: one server per backing service, as a container or a host
process (Debian's `postgres`, `redis-server`), with its data kept across restarts.

Unlike an AWS emulator, which serves every backing service bound to it, a database server
belongs to one backing service: the workload is named `<provider>-<backing>`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.config.endpoints import LOCAL_HOST
from devstack.model.backing import (
    ContainerProvider,
    PostgresBacking,
    ProcessProvider,
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
from devstack.model.manifest import HealthCheck

DEFAULT_IMAGES = {"postgres": "postgres:16", "redis": "redis:7"}
SERVER_PORTS = {"postgres": 5432, "redis": 6379}
SCHEMES = {"postgres": "postgresql", "redis": "redis"}
APT_HINT = {
    "postgres": "apt-get install postgresql (or set bin_dir on the provider)",
    "redis": "apt-get install redis-server (or set bin_dir on the provider)",
}


class ServerProblem(Exception):
    """The server cannot be run here (a binary is missing); the message says how to fix it."""


def data_home(data_root: Path) -> Path:
    """Where host-process servers keep their data.

    Under `.devstack/data/` normally. As root, Postgres refuses to run, so devstack runs it
    as the `postgres` user, which cannot enter a root-only folder (pytest's tmp, a home):
    the data then lives under /var/lib/devstack/<id of the stack's state folder>/.
    """
    if os.geteuid() == 0:
        digest = hashlib.sha256(str(data_root.resolve()).encode()).hexdigest()[:12]
        return Path("/var/lib/devstack") / digest
    return data_root / "data"


def find_binary(name: str, bin_dir: str | None) -> str | None:
    if bin_dir:
        candidate = Path(bin_dir) / name
        return str(candidate) if candidate.exists() else None
    found = shutil.which(name)
    if found:
        return found
    # Debian keeps the server binaries off PATH, per major version.
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=_version_key)
    return str(versions[-1]) if versions else None


def _version_key(path: Path) -> int:
    part = path.parent.parent.name
    return int(part) if part.isdigit() else 0


def server_workload(
    stack: str,
    key: str,
    provider: ContainerProvider | ProcessProvider,
    backing: PostgresBacking | RedisBacking,
    ports: Callable[[str, int], int],
    data_root: Path,
) -> tuple[DesiredService, int]:
    """The server's workload and the port it answers on (host side)."""
    kind = backing.kind
    inner = SERVER_PORTS[kind]
    port = ports(key, inner)
    if isinstance(provider, ContainerProvider):
        return _container(stack, key, provider, backing, port), port
    return _process(key, provider, backing, port, data_home(data_root) / key), port


def _container(
    stack: str, key: str, provider: ContainerProvider, backing: Any, port: int
) -> DesiredService:
    kind = backing.kind
    if kind == "postgres":
        env = {
            "POSTGRES_USER": backing.user,
            "POSTGRES_PASSWORD": backing.password,
            "POSTGRES_DB": backing.database,
        }
        volume = f"{stack}_{key}-data:/var/lib/postgresql/data"
        check = HealthCheck(
            command=["pg_isready", "-U", backing.user, "-d", backing.database],
            interval=2.0,
            start_interval=0.2,
            start_period=60.0,
        )
    else:
        env = {}
        volume = f"{stack}_{key}-data:/data"
        check = HealthCheck(
            command=["redis-cli", "ping"], interval=2.0, start_interval=0.2, start_period=30.0
        )
    env.update(provider.env)
    # The image's own command is `redis-server`: the backing's options go after it.
    args = tuple(backing.args) if kind == "redis" else ()
    spec = ContainerSpec(
        image=provider.image or DEFAULT_IMAGES[kind],
        command=("redis-server", *args) if args else None,
        env=env,
        ports=(PortBinding(SERVER_PORTS[kind], port),),
        volumes=(volume,),
    )
    return _service(key, spec, check, "docker", env)


def _process(
    key: str, provider: ProcessProvider, backing: Any, port: int, data: Path
) -> DesiredService:
    kind = backing.kind
    if kind == "redis":
        binary = find_binary("redis-server", provider.bin_dir)
        if binary is None:
            raise ServerProblem(f"redis-server not found: {APT_HINT['redis']}")
        data.mkdir(parents=True, exist_ok=True)
        command: tuple[str, ...] = (
            binary, "--port", str(port), "--bind", LOCAL_HOST, "--dir", str(data),
            "--appendonly", "yes", "--save", "", "--protected-mode", "yes",
            *backing.args,  # later options win: the backing's own over devstack's defaults
        )  # fmt: skip
        check = HealthCheck(tcp=port, interval=2.0, start_interval=0.05, start_period=20.0)
        spec = ProcessSpec(command=command, workdir=str(data), env={}, ports=(port,))
        return _service(key, spec, check, "process", {})
    missing = [
        tool for tool in ("initdb", "postgres", "pg_isready")
        if find_binary(tool, provider.bin_dir) is None
    ]  # fmt: skip
    if missing:
        raise ServerProblem(f"{', '.join(missing)} not found: {APT_HINT['postgres']}")
    # Resolved: a PATH entry may be a symlink into /usr/lib/postgresql/N/bin, where the
    # other tools (pg_isready) live.
    bin_dir = str(Path(find_binary("postgres", provider.bin_dir) or "").resolve().parent)
    command = (
        sys.executable, "-m", "devstack.providers.pgserver",
        "--bin-dir", bin_dir, "--data", str(data), "--port", str(port), "--user", backing.user,
    )  # fmt: skip
    ready = [f"{bin_dir}/pg_isready", "-h", LOCAL_HOST, "-p", str(port), "-U", backing.user]
    check = HealthCheck(
        command=[*ready, "-q"],
        interval=2.0,
        start_interval=0.1,
        start_period=60.0,
    )
    spec = ProcessSpec(command=command, workdir="/", env={}, ports=(port,))
    return _service(key, spec, check, "process", {})


def _service(
    key: str,
    spec: ProcessSpec | ContainerSpec,
    check: HealthCheck,
    runtime: str,
    env: dict[str, str],
) -> DesiredService:
    return DesiredService(
        name=key,
        spec=spec,
        env=tuple(
            EnvVar(k, v, Source("runtime", detail=f"provider {key}"), "PASSWORD" in k)
            for k, v in env.items()
        ),
        depends_on={},
        healthcheck=check,
        restart="on-failure",
        stop_grace=10.0,
        runtime=runtime,
        digests=spec_digests(spec),
    )


def server_url(backing: Any, host: str, port: int) -> str:
    """DATABASE_URL / REDIS_URL for a consumer reaching the server at host:port."""
    if backing.kind == "postgres":
        return f"postgresql://{backing.user}:{backing.password}@{host}:{port}/{backing.database}"
    return f"redis://{host}:{port}/{backing.database}"
