"""Backing services with Docker: LocalStack as a container provider (a real LocalStack
image built locally), and containers that use a host-process emulator through the relay."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dockerstack import DockerStack, busybox

from components import unavailable
from docker_images import LOCALSTACK_IMAGE, localstack_image_missing
from helpers import describe, service, wait_for

boto3 = pytest.importorskip("boto3")
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(240)]


def client(kind: str, endpoint: str) -> Any:
    return boto3.client(
        kind,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def localstack_image() -> str:
    reason = localstack_image_missing()
    if reason:
        unavailable(reason)
    return LOCALSTACK_IMAGE


def test_localstack_container_serves_provisioned_resources(
    dstack: DockerStack, localstack_image: str
) -> None:
    dstack.write(
        {"api": service("api", flags=["--dump-env"], uses=["uploads", "jobs", "flags"])},
        providers={"localstack": {"type": "localstack", "image": localstack_image}},
        backing={
            "uploads": {"kind": "s3", "bucket": "ls-uploads", "provider": "localstack"},
            "jobs": {"kind": "sqs", "queue": "ls-jobs", "provider": "localstack"},
            "flags": {
                "kind": "ssm",
                "provider": "localstack",
                "path": "/t/",
                "parameters": {"on": "yes"},
            },
        },
    )

    dstack.up("--wait-timeout", "180", timeout=240)

    env = wait_for(
        lambda: dstack.has_file("api.env") and dstack.read_json("api.env"), 10.0, "api.env"
    )
    endpoint = env["AWS_ENDPOINT_URL_S3"]
    assert endpoint.startswith("http://127.0.0.1:")
    client("s3", endpoint).head_bucket(Bucket="ls-uploads")
    assert client("ssm", endpoint).get_parameter(Name="/t/on")["Parameter"]["Value"] == "yes"
    queue_url = env["JOBS_QUEUE_URL"]
    client("sqs", endpoint).send_message(QueueUrl=queue_url, MessageBody="hi")
    container = dstack.container("localstack")
    settings = dict(v.split("=", 1) for v in container.attrs["Config"]["Env"])
    assert settings["SERVICES"] == "s3,sqs,ssm"  # only the kinds in use
    assert dstack.services()["localstack"]["runtime"] == "docker"


def test_a_container_reaches_a_host_emulator_through_the_relay(dstack: DockerStack) -> None:
    pytest.importorskip("ministack")
    script = (
        'until wget -q -O /tmp/health "$AWS_ENDPOINT_URL_S3/_ministack/health"; do sleep 0.2; done; '
        "echo REACHED $AWS_ENDPOINT_URL_S3; exec sleep 3600"
    )
    dstack.write(
        {"box": busybox(script, uses=["uploads"])},
        backing={"uploads": {"kind": "s3", "bucket": "relay-uploads"}},
    )

    dstack.up()

    services = dstack.services()
    assert services["ministack-relay"]["state"] == "running"

    def reached() -> str | None:
        text = dstack.log_text("box")
        return text if "REACHED" in text else None

    text = wait_for(reached, 30.0, "the container to reach MiniStack")
    assert "REACHED http://host.docker.internal:" in text, describe(dstack.run("status"), dstack)
    # The emulator itself listens on loopback only; the relay only on the bridge gateway.
    rows = json.loads(dstack.ok("backing", "--json").stdout)
    assert rows[0]["endpoint"].startswith("http://127.0.0.1:")
