"""LOCALSTACK_HOST for localstack-client code, and the note when a consumer's AWS bindings
are split across providers (localstack-client uses one endpoint for every service)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from devstack.config.loader import load_stack
from devstack.config.lsclient import AwsBinding, note, reached
from devstack.config.resolve import resolve
from devstack.model.desired import ContainerSpec, DesiredState, ProcessSpec, ProvisionSpec

PORTS = {"ministack": 45001, "moto": 45002, "localstack": 45003}

MIXED = """\
name: shop
providers:
  shared: {type: localstack, url: "http://localhost:4599/"}
  edge: {type: external, url: "http://127.0.0.1:9000"}
backing:
  uploads: {kind: s3, bucket: shop-uploads}
  jobs: {kind: sqs, queue: jobs}
  orders: {kind: dynamodb, table: orders, key: {id: S}, provider: localstack}
  flags: {kind: ssm, path: /flags/, provider: shared}
  blobs: {kind: s3, bucket: blobs, provider: edge}
services:
  api: {command: python3 api.py, uses: [uploads, jobs]}
  web: {image: "nginx:1.27", uses: [uploads, jobs]}
  ls: {command: python3 ls.py, uses: [orders]}
  ls-web: {image: "nginx:1.27", uses: [orders]}
  remote: {command: python3 remote.py, uses: [flags]}
  remote-web: {image: "nginx:1.27", uses: [flags]}
  plain: {command: python3 plain.py, uses: [blobs]}
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def stack(manifest: str, swaps: dict[str, str] | None = None) -> DesiredState:
    path = Path.cwd() / "devstack.yaml"
    path.write_text(textwrap.dedent(manifest))
    return resolve(
        load_stack(path), "dev", {}, ports=lambda name, _: PORTS.get(name, 46000), swaps=swaps
    )


def env(state: DesiredState, service: str) -> dict[str, str]:
    spec = state.services[service].spec
    assert isinstance(spec, ProcessSpec | ContainerSpec)
    return dict(spec.env)


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("api", "127.0.0.1:45001"),  # MiniStack, a host process: the loopback
        ("web", "host.docker.internal:45001"),  # ... from a container: through the relay
        ("ls", "127.0.0.1:45003"),  # LocalStack container, published on the loopback
        ("ls-web", "localstack:4566"),  # ... from a container on the stack network
        ("remote", "localhost:4599"),  # a running LocalStack, by its URL
        ("remote-web", "host.docker.internal:4599"),
    ],
)
def test_consumers_of_a_localstack_compatible_provider_get_localstack_host_as_they_reach_it(
    service: str, expected: str
) -> None:
    state = stack(MIXED)

    assert env(state, service)["LOCALSTACK_HOST"] == expected
    # The same place the SDK variables name, so both kinds of code reach the same emulator.
    assert env(state, service)["AWS_ENDPOINT_URL"] == f"http://{expected}"
    [source] = [v.source for v in state.services[service].env if v.name == "LOCALSTACK_HOST"]
    assert source.layer == "binding"
    assert state.services[service].notes == ()


def test_moto_and_other_endpoints_get_no_localstack_host() -> None:
    state = stack(MIXED, swaps={"uploads": "moto", "jobs": "moto"})

    assert "LOCALSTACK_HOST" not in env(state, "api")
    assert "LOCALSTACK_HOST" not in env(state, "plain")  # an external URL: not LocalStack
    assert env(state, "api")["AWS_ENDPOINT_URL"] == "http://127.0.0.1:45002"


def test_a_split_consumer_gets_a_note_naming_the_one_provider_localstack_client_reaches() -> None:
    state = stack(MIXED, swaps={"uploads": "moto"})

    api = env(state, "api")
    assert "AWS_ENDPOINT_URL" not in api
    assert api["LOCALSTACK_HOST"] == "127.0.0.1:45001"  # jobs, still on MiniStack
    assert state.services["api"].notes == (
        "api: localstack-client code reaches only ministack (http://127.0.0.1:45001, "
        "from LOCALSTACK_HOST): uploads on moto out of its reach",
    )
    assert state.services["web"].notes == (
        "web: localstack-client code reaches only ministack (http://host.docker.internal:45001, "
        "from LOCALSTACK_HOST): uploads on moto out of its reach",
    )
    assert state.services["ls"].notes == ()  # not split


def test_a_split_with_no_localstack_compatible_provider_reaches_none_of_them() -> None:
    state = stack(MIXED, swaps={"uploads": "moto", "jobs": "edge"})

    assert state.services["api"].notes == (
        "api: localstack-client code reaches none of its providers (http://localhost:4566, "
        "from its default): uploads on moto, jobs on edge out of its reach",
    )


def test_aws_endpoint_url_wins_over_localstack_host_as_in_localstack_client() -> None:
    bindings = [
        AwsBinding("uploads", "moto", "http://127.0.0.1:45002"),
        AwsBinding("jobs", "ministack", "http://127.0.0.1:45001"),
    ]
    given = {"AWS_ENDPOINT_URL": "http://127.0.0.1:45002", "LOCALSTACK_HOST": "127.0.0.1:45001"}

    assert reached(given) == ("http://127.0.0.1:45002", "AWS_ENDPOINT_URL")
    assert note("api", given, bindings) == (
        "api: localstack-client code reaches only moto (http://127.0.0.1:45002, "
        "from AWS_ENDPOINT_URL): jobs on ministack out of its reach"
    )
    assert note("api", given, bindings[:1]) is None


def test_the_services_own_aws_endpoint_url_is_what_the_note_follows() -> None:
    state = stack(
        MIXED.replace(
            "api: {command: python3 api.py, uses: [uploads, jobs]}",
            "api: {command: python3 api.py, uses: [uploads, jobs], "
            'env: {AWS_ENDPOINT_URL: "http://127.0.0.1:45002"}}',
        ),
        swaps={"uploads": "moto"},
    )

    assert state.services["api"].notes == (
        "api: localstack-client code reaches only moto (http://127.0.0.1:45002, "
        "from AWS_ENDPOINT_URL): jobs on ministack out of its reach",
    )


def test_backing_nodes_know_their_provider_type_for_provisioning() -> None:
    state = stack(MIXED, swaps={"uploads": "moto"})

    types = {}
    for name in ("uploads", "jobs", "orders", "flags", "blobs"):
        spec = state.services.get(name)
        types[name] = (
            spec.spec.provider_type if spec and isinstance(spec.spec, ProvisionSpec) else None
        )
    assert types == {
        "uploads": "moto",
        "jobs": "ministack",
        "orders": "localstack",
        "flags": "localstack",
        "blobs": None,  # an external endpoint without `provision: true`: nothing created
    }
