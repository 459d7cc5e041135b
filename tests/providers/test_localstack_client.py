"""Provisioning on a LocalStack-compatible provider goes through localstack-client.

Against a real MiniStack (and moto for the contrast), from a ProvisionSpec as the daemon
resolves it, through the provision runtime's entry point.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from localstack_client import session as lsc

from devstack.model.desired import ProvisionSpec
from devstack.providers import aws
from devstack.runtimes.provision import provision_spec

REGION = "us-east-1"


def _spec(root: Path, endpoint: str, provider_type: str, bucket: str) -> ProvisionSpec:
    return ProvisionSpec(
        backing="uploads",
        kind="s3",
        provider=provider_type,
        endpoint_url=endpoint,
        region=REGION,
        access_key_id="test",
        secret_access_key="test",
        profile=None,
        resources={"kind": "s3", "bucket": bucket},
        others={},
        root=str(root),
        provider_type=provider_type,
    )


def _buckets(endpoint: str) -> set[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return {b["Name"] for b in s3.list_buckets()["Buckets"]}


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The localstack-client Sessions made while the test runs (the real class, spied on)."""
    made: list[Any] = []
    real_init = lsc.Session.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(lsc.Session, "__init__", spy)
    aws._client.cache_clear()  # a client cached by another test would hide the call
    return made


def test_ministack_is_provisioned_through_localstack_client_at_the_providers_url(
    ministack: str, tmp_path: Path, sessions: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A developer who works with LocalStack may have these exported where the daemon runs;
    # localstack-client would prefer them, and the bucket would land on port 9 (nothing).
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LOCALSTACK_HOST", "127.0.0.1:9")
    bucket = f"lsc-{uuid.uuid4().hex[:12]}"

    lines = provision_spec(_spec(tmp_path, ministack, "ministack", bucket))

    assert any(f"bucket {bucket}" in line and "created" in line for line in lines), lines
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert bucket in _buckets(ministack)
    assert sessions, "no localstack-client Session was made"
    assert all(s.client("s3").meta.endpoint_url == ministack for s in sessions)


def test_moto_is_provisioned_with_plain_boto3(
    moto: str, tmp_path: Path, sessions: list[Any]
) -> None:
    bucket = f"lsc-{uuid.uuid4().hex[:12]}"

    provision_spec(_spec(tmp_path, moto, "moto", bucket))

    assert bucket in _buckets(moto)
    assert sessions == []
