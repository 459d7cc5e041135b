"""The boto3 clients devstack makes for AWS-compatible providers: the emulators' clients
come from one shared session (aws.py), and must still each reach their own endpoint, in
their own region, and keep the hooks registered on them to themselves.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from devstack.data.readonly import WriteRefused, read_only
from devstack.providers.aws import AwsTarget


def test_clients_made_from_many_threads_each_reach_their_own_endpoint_and_region(
    ministack: str, moto: str
) -> None:
    targets = [
        AwsTarget(endpoint_url=url, region=region, localstack=url == ministack)
        for url in (ministack, moto)
        for region in ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2")
    ]
    with ThreadPoolExecutor(len(targets)) as pool:
        clients = list(pool.map(lambda t: t.client("sqs", read_timeout=29.0), targets))
    for target, client in zip(targets, clients, strict=True):
        assert client.meta.endpoint_url == target.endpoint_url
        assert client.meta.region_name == target.region
        url = client.create_queue(QueueName=f"q-{target.region}")["QueueUrl"]
        assert (
            client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ].split(":")[3]
            == target.region
        )


def test_a_read_only_guard_stays_on_its_own_client(moto: str) -> None:
    plain = AwsTarget(endpoint_url=moto, region="us-east-1")
    guarded = read_only(plain).client("s3")
    writable = plain.client("s3")
    with pytest.raises(WriteRefused):
        guarded.create_bucket(Bucket="guarded-bucket")
    writable.create_bucket(Bucket="guarded-bucket")  # the same session, not the same hooks
    names = [b["Name"] for b in guarded.list_buckets()["Buckets"]]
    assert "guarded-bucket" in names
