"""Fixtures of the integration tests: a moto server standing in for a real AWS account."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import boto3
import pytest

from helpers import free_port, wait_for

CANARY = "canary-Zq7-s3cr3t"  # test_secrets.py looks for this value


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server the stack does not run: what a real account looks like to devstack."""
    pytest.importorskip("moto.server")
    port = free_port()
    logs = tmp_path_factory.mktemp("moto")
    with (logs / "moto.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return True
        except OSError:
            return False

    wait_for(answers, 20.0, "moto to answer")
    ssm = boto3.client(
        "ssm", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    ssm.put_parameter(Name="/shop/staging/DB_PASSWORD", Value=CANARY, Type="SecureString")
    ssm.put_parameter(Name="/shop/staging/feature/new-checkout", Value="on", Type="String")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
