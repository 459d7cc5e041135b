"""The compose keys of a container service: accepted in compose's shapes, in the JSON
Schema, and refused with one located line where they cannot apply."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.model.manifest import json_schema, port_mappings

FULL = """\
name: shop
secrets:
  db_password: {file: ./db_password.txt}
  api_token: {environment: API_TOKEN}
configs:
  nginx: {content: "worker_processes 1;"}
  app_conf: {file: ./app.conf}
volumes:
  data:
services:
  db:
    image: devstack-test/busybox:1
    ports: ["8000-8001:9000-9001", "127.0.0.1:9100-9101:9100-9101", "7000"]
    entrypoint: ["/bin/sh", "-c"]
    command: ["sleep 3600"]
    user: "1000:1000"
    working_dir: /srv
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    tmpfs: /scratch
    shm_size: 64m
    extra_hosts: ["somehost:162.242.195.82", "gw:host-gateway"]
    volumes:
      - /anonymous
      - data:/data
      - type: volume
        source: data
        target: /sub
        read_only: true
        volume: {subpath: part}
      - {type: bind, source: ./conf, target: /conf, bind: {create_host_path: true}}
      - {type: tmpfs, target: /fast, tmpfs: {size: 1048576}}
    secrets: [db_password, {source: api_token, target: token, uid: "1000", mode: 0o400}]
    configs: [nginx, {source: app_conf, target: /etc/app.conf}]
    healthcheck: {test: ["CMD-SHELL", "true"], interval: 1s}
    post_start: [{command: touch /tmp/started, user: root}]
    pre_stop: [{command: ["sh", "-c", "echo bye"], environment: [A=1]}]
  sidecar:
    image: devstack-test/busybox:1
    network_mode: "service:db"
    tmpfs: [/a, "/b:size=1m"]
    extra_hosts: {otherhost: 10.0.0.1}
    healthcheck: {test: "true"}
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def problems(text: str) -> list[str]:
    path = Path("devstack.yaml")
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ManifestError) as info:
        load_stack(path)
    return [str(p) for p in info.value.problems]


def test_every_compose_key_loads_and_the_schema_accepts_it() -> None:
    Path("devstack.yaml").write_text(FULL)
    stack = load_stack(Path("devstack.yaml")).stack
    db, sidecar = stack.services["db"], stack.services["sidecar"]
    assert db.user == "1000:1000" and db.working_dir == "/srv"
    assert sidecar.dependencies() == {"db": "service_started"}
    assert sidecar.tmpfs_list() == ["/a", "/b:size=1m"]
    jsonschema.validate(yaml.safe_load(FULL), json_schema())


def test_the_schema_refuses_a_misspelt_long_volume_key() -> None:
    data = yaml.safe_load(FULL)
    data["services"]["db"]["volumes"][2]["readonly"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json_schema())


def test_port_ranges_expand_to_one_mapping_per_port() -> None:
    assert [(m.host_ip, m.host, m.container) for m in port_mappings("127.0.0.1:9-10:19-20")] == [
        ("127.0.0.1", 9, 19),
        ("127.0.0.1", 10, 20),
    ]
    assert [m.container for m in port_mappings("8000-8002")] == [8000, 8001, 8002]


def test_a_port_range_of_unequal_lengths_is_located() -> None:
    assert problems(
        """\
        name: shop
        services:
          web:
            image: x
            ports: ["8000-8002:80-81"]
        """
    ) == [
        "devstack.yaml:5:13: services.web.ports[0]: invalid port '8000-8002:80-81': "
        "the host range and the container range differ in length"
    ]


def test_a_host_process_with_a_container_key_gets_one_line_at_the_key() -> None:
    assert problems(
        """\
        name: shop
        services:
          api:
            command: python3 api.py
            user: nobody
        """
    ) == [
        "devstack.yaml:5:11: services.api.user: user applies to containers; a host process "
        "cannot honour it (give the service an image or build, or remove the key)"
    ]


def test_unknown_secrets_configs_and_shared_networks_are_located() -> None:
    assert problems(
        """\
        name: shop
        secrets:
          known: {file: ./k}
        services:
          api:
            image: x
            network_mode: "service:nope"
            secrets: [known, {source: missing}]
            configs: [cfg]
        """
    ) == [
        "devstack.yaml:7:19: services.api.network_mode: unknown service 'nope' (known: api)",
        "devstack.yaml:8:22: services.api.secrets[1]: unknown secret 'missing' "
        "(declare it under top-level secrets; known: known)",
        "devstack.yaml:9:15: services.api.configs[0]: unknown config 'cfg' "
        "(declare it under top-level configs; known: none declared)",
    ]


@pytest.mark.parametrize(
    ("test", "message"),
    [
        ('["SHELL", "x"]', "healthcheck.test starts with CMD, CMD-SHELL or NONE"),
        ('["CMD"]', "healthcheck.test [CMD] needs a command after it"),
    ],
)
def test_a_bad_healthcheck_test_says_which_forms_work(test: str, message: str) -> None:
    found = problems(
        f"""\
        name: shop
        services:
          api:
            image: x
            healthcheck: {{test: {test}}}
        """
    )
    assert found == [f"devstack.yaml:5:18: services.api.healthcheck: {message}"]


def test_a_secret_needs_exactly_one_source() -> None:
    found = problems(
        """\
        name: shop
        secrets:
          both: {file: ./a, environment: A}
        services: {}
        """
    )
    assert found == ["devstack.yaml:3:9: secrets.both: needs exactly one of file or environment"]


def test_a_host_process_cannot_take_a_compose_healthcheck_test() -> None:
    assert problems(
        """\
        name: shop
        services:
          api:
            command: python3 api.py
            healthcheck: {test: ["CMD", "true"]}
        """
    ) == [
        "devstack.yaml:5:25: services.api.healthcheck.test: healthcheck.test runs in a "
        "container; a host process uses command"
    ]


def test_ports_follow_the_network_mode() -> None:
    assert problems(
        """\
        name: shop
        services:
          cut:
            image: x
            network_mode: none
            ports: ["80"]
          hosted:
            image: x
            network_mode: host
            ports: ["8080:80"]
        """
    ) == [
        "devstack.yaml:6:12: services.cut.ports: a service without a network "
        "(network_mode: none) publishes no ports",
        "devstack.yaml:10:13: services.hosted.ports[0]: port '8080:80': on the host's network "
        "a container listens on the host directly; write just the port number",
    ]
