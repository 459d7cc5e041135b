"""The read-only source of `data pull`: reads pass, anything else is refused with one line
before a request leaves (botocore's `before-call`). Needs only boto3: no emulator."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from devstack.data.readonly import WriteRefused, allowed, read_only
from devstack.providers.aws import AwsTarget
from helpers import free_port


@pytest.fixture
def nowhere() -> AwsTarget:
    """An endpoint where nothing listens: a request that leaves fails to connect."""
    return AwsTarget(endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1")


def test_a_write_is_refused_with_one_line_before_any_request(nowhere: AwsTarget) -> None:
    s3 = read_only(nowhere).client("s3", max_attempts=1)

    with pytest.raises(WriteRefused) as caught:
        s3.put_object(Bucket="shop-uploads", Key="k", Body=b"x")

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"refused s3 PutObject on {nowhere.endpoint_url}: ")


def test_a_read_goes_through_the_guard(nowhere: AwsTarget) -> None:
    db = read_only(nowhere).client("dynamodb", max_attempts=1)

    with pytest.raises(EndpointConnectionError):  # it was sent: nothing listens there
        db.scan(TableName="orders")


def test_the_plain_target_keeps_its_own_writable_client(nowhere: AwsTarget) -> None:
    read_only(nowhere).client("s3", max_attempts=1)

    with pytest.raises(EndpointConnectionError):  # not refused: a different client
        nowhere.client("s3", max_attempts=1).put_object(Bucket="b", Key="k", Body=b"x")


@pytest.mark.parametrize(
    ("operation", "reads"),
    [
        ("ListObjectsV2", True), ("GetObject", True), ("HeadObject", True),
        ("DescribeTable", True), ("Scan", True), ("Query", True), ("GetSecretValue", True),
        ("PutObject", False), ("DeleteObjects", False), ("BatchWriteItem", False),
        ("ReceiveMessage", False), ("ExecuteStatement", False), ("PutParameter", False),
    ],
)  # fmt: skip
def test_the_allow_list(operation: str, reads: bool) -> None:
    assert allowed(operation) is reads
