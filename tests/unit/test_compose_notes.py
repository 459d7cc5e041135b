"""The compose keys the corpus's last behaviour-changing notes were about, without an engine:
the manifest takes them, `export compose` writes them back, the import keeps them.
Their effect on a real engine: tests/docker/test_compose_notes_docker.py."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_export_compose_keys import schema_errors

from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.export.compose import render
from devstack.export.view import export_view
from devstack.importer import convert

SHELL = {"HOME": "/home/dev", "PATH": "/usr/bin:/bin"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "devstack.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def exported(manifest: Path) -> dict[str, Any]:
    view = export_view(load_stack(manifest), "dev", SHELL, "compose")
    document = yaml.safe_load(render(view, manifest.parent))
    assert schema_errors(document) == []
    assert isinstance(document, dict)
    return document


def imported(tmp_path: Path, text: str) -> tuple[dict[str, Any], list[str]]:
    compose = tmp_path / "compose.yaml"
    compose.write_text(textwrap.dedent(text))
    result = convert(compose, tmp_path, {**SHELL, "PWD": str(tmp_path)})
    return result.data, [str(n) for n in result.notes]


def problems(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_stack(path)
    return [str(p).removeprefix(f"{path.parent}/") for p in info.value.problems]


# -- ports: udp ----------------------------------------------------------------------


def test_a_udp_port_is_exported_with_its_protocol(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          logs: {image: "l:1", ports: ["5000:5000", "5000:5000/udp", "514/udp"]}
        """,
    )

    ports = exported(manifest)["services"]["logs"]["ports"]

    assert ports == ["127.0.0.1:5000:5000", "127.0.0.1:5000:5000/udp", "127.0.0.1::514/udp"]


def test_a_udp_port_keeps_its_protocol_in_ecs_and_kubernetes(tmp_path: Path) -> None:
    from test_export_ecs import botocore_errors

    from devstack.export.ecs import EcsOptions, task_definitions
    from devstack.export.k8s_workload import container

    manifest = write(
        tmp_path, 'name: s\nservices:\n  logs: {image: "l:1", ports: ["5000", "514/udp"]}\n'
    )
    view = export_view(load_stack(manifest), "dev", SHELL, "ecs")

    (task,) = task_definitions(view, EcsOptions(region="eu-west-1"))
    assert task["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 5000, "protocol": "tcp"},
        {"containerPort": 514, "protocol": "udp"},
    ]
    assert botocore_errors(task) == ""
    ports = view.services["logs"].spec.ports
    assert container("logs", "l:1", None, ports, None)["ports"] == [
        {"name": "tcp-5000", "containerPort": 5000, "protocol": "TCP"},
        {"name": "udp-514", "containerPort": 514, "protocol": "UDP"},
    ]


def test_a_host_port_taken_twice_in_one_protocol_is_refused(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          a: {image: "a:1", ports: ["514:514/udp"]}
          b: {image: "b:1", ports: ["514:514/udp"]}
        """,
    )

    assert problems(manifest) == [
        "devstack.yaml:4:29: services.b.ports[0]: host port 514/udp is already used by service 'a'"
    ]


def test_a_host_process_with_a_udp_port_gets_one_clear_line(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          p: {command: "x", ports: ["514/udp"]}
        """,
    )

    (line,) = problems(manifest)
    assert line.startswith("devstack.yaml:3:")
    assert "services.p: port '514/udp': a host process opens its own UDP sockets" in line


# -- devices, the API socket, GPUs, network aliases ----------------------------------

COMPOSE_KEYS = """\
services:
  vpn:
    image: gluetun:1
    devices: [/dev/net/tun]
    networks:
      default:
        aliases: [vpn.internal]
      backend:
        aliases: [vpn.internal, tunnel]
  agent:
    image: agent:1
    use_api_socket: true
  ollama:
    image: ollama:1
    deploy:
      resources:
        reservations:
          devices:
            - {driver: nvidia, count: 1, capabilities: [gpu]}
  render:
    image: render:1
    gpus: all
networks:
  backend: {}
"""


def test_devices_the_api_socket_gpus_and_aliases_are_imported_without_a_change(
    tmp_path: Path,
) -> None:
    data, notes = imported(tmp_path, COMPOSE_KEYS)

    services = data["services"]
    assert services["vpn"]["devices"] == ["/dev/net/tun"]
    assert services["vpn"]["aliases"] == ["vpn.internal", "tunnel"]
    assert services["agent"]["use_api_socket"] is True
    assert services["ollama"]["gpus"] == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert services["render"]["gpus"] == "all"
    assert [n for n in notes if n.startswith("changes behaviour")] == []


def test_devices_the_api_socket_gpus_and_aliases_are_exported_and_imported_again(
    tmp_path: Path,
) -> None:
    data, _ = imported(tmp_path, COMPOSE_KEYS)
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))

    document = exported(manifest)

    services = document["services"]
    assert services["vpn"]["devices"] == ["/dev/net/tun"]
    assert services["vpn"]["networks"] == {"default": {"aliases": ["vpn.internal", "tunnel"]}}
    assert services["agent"]["use_api_socket"] is True
    assert services["ollama"]["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    ]
    assert services["render"]["gpus"] == "all"
    (tmp_path / "again").mkdir()
    again, _ = imported(tmp_path / "again", yaml.safe_dump(document))
    for name in ("vpn", "agent", "ollama", "render"):
        for key in ("devices", "aliases", "use_api_socket", "gpus"):
            assert again["services"][name].get(key) == data["services"][name].get(key), (name, key)


def test_a_device_is_written_as_compose_writes_it(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          a: {image: "a:1", devices: ["/dev/net/tun", "dev/null"]}
        """,
    )

    (line,) = problems(manifest)
    assert line.startswith("devstack.yaml:3:") and "services.a.devices[1]" in line


def test_the_container_options_hold_what_the_engine_is_asked(tmp_path: Path) -> None:
    from devstack.config.container_options import gpu_requests
    from devstack.model.container import DeviceRequest
    from devstack.model.container_options import GpuRequest

    assert gpu_requests("all") == (GpuRequest(count=-1),)
    assert gpu_requests([DeviceRequest(driver="nvidia", device_ids=["0", "1"])]) == (
        GpuRequest(driver="nvidia", count=0, device_ids=("0", "1")),
    )
    assert gpu_requests([DeviceRequest(count="all", capabilities=["gpu", "utility"])]) == (
        GpuRequest(count=-1, capabilities=("gpu", "utility")),
    )


def test_a_host_process_cannot_take_the_engine_keys(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          p: {command: x, devices: [/dev/net/tun], use_api_socket: true, gpus: all, aliases: [a]}
        """,
    )

    found = problems(manifest)
    assert [line.split(": ")[1] for line in found] == [
        "services.p.devices",
        "services.p.use_api_socket",
        "services.p.gpus",
        "services.p.aliases",
    ]


# -- a backing redis's own server options --------------------------------------------


def test_a_redis_command_becomes_the_backing_s_server_options(tmp_path: Path) -> None:
    data, notes = imported(
        tmp_path,
        """\
        services:
          app: {image: "app:1", environment: {REDIS_URL: "redis://redis:6379/0"}}
          redis: {image: "redis:7", command: redis-server --appendonly yes}
        """,
    )

    (backing,) = data["backing"].values()
    assert backing == {"kind": "redis", "database": 0, "args": ["--appendonly", "yes"]}
    assert [n for n in notes if n.startswith("changes behaviour")] == []


def test_the_container_and_the_process_provider_run_redis_with_its_options(
    tmp_path: Path,
) -> None:
    from devstack.config.servers import server_workload
    from devstack.model.backing import ContainerProvider, ProcessProvider, RedisBacking
    from devstack.model.desired import ContainerSpec, ProcessSpec

    backing = RedisBacking(kind="redis", args=["--appendonly", "yes"])
    container, _ = server_workload(
        "s", "cache", ContainerProvider(type="container"), backing, lambda *_: 16379, tmp_path
    )
    assert isinstance(container.spec, ContainerSpec)
    assert container.spec.command == ("redis-server", "--appendonly", "yes")

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "redis-server").write_text("#!/bin/sh\n")
    (bin_dir / "redis-server").chmod(0o755)
    process, _ = server_workload(
        "s", "cache", ProcessProvider(type="process", bin_dir=str(bin_dir)), backing,
        lambda *_: 16379, tmp_path,
    )  # fmt: skip
    assert isinstance(process.spec, ProcessSpec)
    assert process.spec.command[-2:] == ("--appendonly", "yes")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "1"], "--port is devstack's to set (it runs the server)"),
        (
            ["/etc/redis.conf"],
            "args are redis-server options (--name value), not '/etc/redis.conf'",
        ),
    ],
)
def test_server_options_devstack_owns_are_refused(
    tmp_path: Path, args: list[str], message: str
) -> None:
    manifest = write(tmp_path, f"name: s\nbacking:\n  cache: {{kind: redis, args: {args}}}\n")

    (line,) = problems(manifest)
    assert line.startswith("devstack.yaml:3:") and message in line, line


# -- build.additional_contexts -------------------------------------------------------


def test_additional_contexts_are_imported_exported_and_imported_again(tmp_path: Path) -> None:
    for folder in ("app", "assets", "ext_svc"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "Dockerfile").write_text("FROM scratch\n")
    data, notes = imported(
        tmp_path,
        """\
        services:
          app:
            build:
              context: ./app
              additional_contexts: [assets=./assets, "ext=service:Ext_Svc", "base=docker-image://b:1"]
          Ext_Svc: {build: ./ext_svc}
        """,
    )
    contexts = {"assets": "./assets", "ext": "service:ext_svc", "base": "docker-image://b:1"}
    assert data["services"]["app"]["build"]["additional_contexts"] == contexts
    assert [n for n in notes if n.startswith("changes behaviour")] == []

    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    build = exported(manifest)["services"]["app"]["build"]
    assert build["additional_contexts"] == contexts

    again, _ = imported(tmp_path, yaml.safe_dump({"services": exported(manifest)["services"]}))
    assert again["services"]["app"]["build"]["additional_contexts"] == contexts


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("service:nope", "additional context service:nope is not another container service"),
        ("service:app", "(it is the service itself)"),
        ("./missing", "additional context ./missing is not a directory"),
        ("https://x/y.git", "is a URL; devstack builds from a folder"),  # the schema's
    ],
)
def test_a_bad_additional_context_is_one_located_line(
    tmp_path: Path, source: str, message: str
) -> None:
    (tmp_path / "app").mkdir()
    manifest = write(
        tmp_path,
        f"""\
        name: s
        services:
          app:
            build: {{context: ./app, additional_contexts: {{x: "{source}"}}}}
        """,
    )

    # The URL is the schema's to refuse; the rest, resolving (`up --dry-run` says it).
    line = problems(manifest)[0] if "://" in source else _resolve_problem(manifest)
    assert message in line and "services.app.build.additional_contexts" in line, line


def _resolve_problem(manifest: Path) -> str:
    from click.testing import CliRunner

    from devstack.cli.main import cli

    result = CliRunner().invoke(cli, ["-f", str(manifest), "up", "--dry-run"])
    assert result.exit_code != 0
    (line,) = [x for x in result.output.splitlines() if "additional context" in x]
    assert "devstack.yaml" in line  # located
    return line


def test_the_dockerfile_is_pointed_at_the_context_images() -> None:
    from devstack.runtimes.build_contexts import rewritten

    dockerfile = (
        "FROM base AS b\nfrom --platform=x base\nCOPY --from=ext /a /b\nCOPY --from=ext2 /c /d\n"
    )

    assert rewritten(dockerfile, {"base": "s/base:1", "ext": "s/ext:2"}) == (
        "FROM s/base:1 AS b\nfrom --platform=x s/base:1\nCOPY --from=s/ext:2 /a /b\n"
        "COPY --from=ext2 /c /d\n"
    )


# -- the round trip ------------------------------------------------------------------


def test_an_exported_http_probe_reads_back_as_devstack_s_own(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          web: {image: "w:1", ports: ["8080"], healthcheck: {http: /health, timeout: 3s}}
          job: {image: "j:1", healthcheck: {command: [check, --now], timeout: 4s}}
        """,
    )
    services = exported(manifest)["services"]
    # The in-container probe starts a program: its timeout has that on top; a command
    # runs in the container under devstack too, so it keeps its own.
    assert (
        services["web"]["healthcheck"]["timeout"],
        services["job"]["healthcheck"]["timeout"],
    ) == ("8s", "4s")

    again, _ = imported(tmp_path, yaml.safe_dump({"services": services}))

    assert again["services"]["web"]["healthcheck"] == {
        "http": "/health", "interval": "5s", "timeout": "3s", "retries": 3, "start_period": "0s"
    }  # fmt: skip
    assert again["services"]["job"]["healthcheck"]["timeout"] == "4s"


def test_containers_made_before_these_keys_keep_their_spec_hash() -> None:
    from devstack.model.container_options import ContainerOptions
    from devstack.model.desired import ContainerSpec, PortBinding, digest, spec_digests

    spec = ContainerSpec("i:1", None, {}, (PortBinding(80, 8080),), ())

    assert ContainerOptions().digest_values() == {}  # no devices, socket, gpus, aliases
    assert spec_digests(spec)["ports"] == digest([[80, 8080, "127.0.0.1"]])
    udp = ContainerSpec("i:1", None, {}, (PortBinding(514, 5514, protocol="udp"),), ())
    assert spec_digests(udp)["ports"] != spec_digests(spec)["ports"]
