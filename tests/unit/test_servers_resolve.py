"""Postgres and Redis providers resolved: one server per backing service, reachable from
host processes and containers, with the conventional URLs injected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.config.resolve import resolve
from devstack.model.desired import ContainerSpec, DesiredState, ProcessSpec, ProvisionSpec

PORTS = {"box-db": 47001, "local-db": 47002, "local-cache": 47003}
MANIFEST = """\
name: shop
providers:
  box: {type: container}
  local: {type: process, bin_dir: BIN}
backing:
  db: {kind: postgres, database: shop, user: shop, password: pw, provider: box}
  cache: {kind: redis, provider: local, database: 1}
services:
  api: {command: python3 api.py, uses: [db, cache]}
  web: {image: "nginx:1", uses: [db, cache]}
"""


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A folder with (fake, never run) server binaries, so resolution finds them."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("redis-server", "initdb", "postgres", "pg_isready"):
        (folder / tool).write_text("#!/bin/sh\n")
        (folder / tool).chmod(0o755)
    return folder


def resolved(
    tmp_path: Path, bin_dir: Path, manifest: str = MANIFEST, **kwargs: object
) -> DesiredState:
    path = tmp_path / "devstack.yaml"
    path.write_text(textwrap.dedent(manifest).replace("BIN", str(bin_dir)))
    return resolve(load_stack(path), "dev", {}, ports=lambda s, _p: PORTS[s], **kwargs)  # type: ignore[arg-type]


def env(state: DesiredState, service: str) -> dict[str, str]:
    spec = state.services[service].spec
    assert isinstance(spec, ProcessSpec | ContainerSpec)
    return dict(spec.env)


def test_a_container_postgres_runs_the_image_with_its_database_and_a_volume(
    tmp_path: Path, bin_dir: Path
) -> None:
    state = resolved(tmp_path, bin_dir)

    server = state.services["box-db"]
    assert isinstance(server.spec, ContainerSpec)
    assert server.spec.image == "postgres:16"
    assert server.spec.env["POSTGRES_DB"] == "shop"
    assert server.spec.volumes == ("shop_box-db-data:/var/lib/postgresql/data",)
    assert server.healthcheck is not None and server.healthcheck.command is not None
    assert "pg_isready" in server.healthcheck.command[0]
    node = state.services["db"]
    assert isinstance(node.spec, ProvisionSpec) and node.spec.kind == "postgres"
    assert node.depends_on == {"box-db": "service_healthy"}


def test_each_consumer_gets_urls_it_can_reach(tmp_path: Path, bin_dir: Path) -> None:
    state = resolved(tmp_path, bin_dir)

    assert env(state, "api")["DATABASE_URL"] == "postgresql://shop:pw@127.0.0.1:47001/shop"
    assert env(state, "web")["DATABASE_URL"] == "postgresql://shop:pw@box-db:5432/shop"
    assert env(state, "api")["REDIS_URL"] == "redis://127.0.0.1:47003/1"
    assert env(state, "web")["REDIS_URL"] == "redis://host.docker.internal:47003/1"
    assert env(state, "api")["CACHE_URL"] == env(state, "api")["REDIS_URL"]
    secret = {v.name: v.secret for v in state.services["api"].env}
    assert secret["DATABASE_URL"] is True
    assert secret["REDIS_URL"] is False
    # The container reaches the host redis through a relay; nothing needs one for postgres.
    assert "local-cache-relay" in state.services
    assert "box-db-relay" not in state.services
    assert state.services["web"].depends_on["local-cache-relay"] == "service_started"


def test_a_host_redis_listens_on_loopback_with_its_data_kept(tmp_path: Path, bin_dir: Path) -> None:
    state = resolved(tmp_path, bin_dir)

    server = state.services["local-cache"].spec
    assert isinstance(server, ProcessSpec)
    args = list(server.command)
    assert args[0] == str(bin_dir / "redis-server")
    assert args[args.index("--bind") + 1] == "127.0.0.1"
    assert args[args.index("--appendonly") + 1] == "yes"


def test_a_missing_binary_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        resolved(tmp_path, tmp_path / "nowhere")

    text = str(caught.value.problems[0])
    assert "redis-server not found" in text
    assert "apt-get install redis-server" in text
    assert "backing.cache" in text


def test_swapping_a_database_moves_only_its_consumers(tmp_path: Path, bin_dir: Path) -> None:
    manifest = MANIFEST.replace(
        "api: {command: python3 api.py, uses: [db, cache]}",
        "api: {command: python3 api.py, uses: [db, cache]}\n"
        "  other: {command: python3 o.py, uses: [cache]}",
    )
    before = resolved(tmp_path, bin_dir, manifest)
    after = resolved(tmp_path, bin_dir, manifest, swaps={"db": "local"})

    assert "local-db" in after.services and "box-db" not in after.services
    assert "box-db" in after.retired
    assert after.services["api"].spec_hash != before.services["api"].spec_hash
    assert after.services["other"].spec_hash == before.services["other"].spec_hash
