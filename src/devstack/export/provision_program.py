"""The one-shot provisioner of an exported compose file (`<provider>-provision`).

This file is never imported by devstack: export/provision.py reads its source and the
compose service runs it with `python3 -c` in LocalStack's own image, so it may use only
the standard library and boto3. It is a module rather than a string so that ruff and
mypy check it like the rest of the code. Its input is the environment:
DEVSTACK_ENDPOINT, DEVSTACK_REGION and DEVSTACK_RESOURCES (JSON, see
export/provision.py); a value written as {"$env": NAME} is read from the variable NAME
(a secret, filled in by compose). It creates what is missing and leaves what exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

EXISTS = {
    "BucketAlreadyOwnedByYou",
    "BucketAlreadyExists",
    "ResourceInUseException",
    "ParameterAlreadyExists",
    "ResourceExistsException",
    "QueueAlreadyExists",
    "QueueNameExists",
}


def client(service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=os.environ["DEVSTACK_ENDPOINT"],
        region_name=os.environ["DEVSTACK_REGION"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def value(v: Any) -> Any:
    return os.environ[v["$env"]] if isinstance(v, dict) else v


def once(call: Callable[..., Any], **kwargs: Any) -> Any:
    """The call's answer, or None when what it creates exists already."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in EXISTS:
            raise
        return None


def queue_arn(sqs: Any, name: str) -> str:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(reply["Attributes"]["QueueArn"])


def s3(r: dict[str, Any]) -> None:
    bucket = client("s3")
    region = os.environ["DEVSTACK_REGION"]
    # us-east-1 is the one region AWS refuses as an explicit LocationConstraint.
    where = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    once(bucket.create_bucket, Bucket=r["bucket"], **where)
    if r["versioning"]:
        bucket.put_bucket_versioning(
            Bucket=r["bucket"], VersioningConfiguration={"Status": "Enabled"}
        )


def sqs(r: dict[str, Any]) -> None:
    queues = client("sqs")
    attributes = dict(r["attributes"])
    if r["dlq"]:
        fifo = {k: v for k, v in attributes.items() if k == "FifoQueue"}
        once(queues.create_queue, QueueName=r["dlq"], Attributes=fifo)
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": queue_arn(queues, r["dlq"]),
                "maxReceiveCount": str(r["max_receives"]),
            }
        )
    once(queues.create_queue, QueueName=r["queue"], Attributes=attributes)


def _schema(key: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"AttributeName": n, "KeyType": t} for n, t in zip(key, ("HASH", "RANGE"), strict=False)
    ]


def dynamodb(r: dict[str, Any]) -> None:
    types = dict(r["key"])
    for index in r["indexes"]:
        types.update(index["key"])
    table: dict[str, Any] = {
        "TableName": r["table"],
        "KeySchema": _schema(r["key"]),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in types.items()
        ],
    }
    if r["indexes"]:
        table["GlobalSecondaryIndexes"] = [
            {
                "IndexName": i["name"],
                "KeySchema": _schema(i["key"]),
                "Projection": {"ProjectionType": i["projection"]},
            }
            for i in r["indexes"]
        ]
    once(client("dynamodb").create_table, **table)


def ssm(r: dict[str, Any]) -> None:
    for p in r["parameters"]:
        once(client("ssm").put_parameter, Name=p["name"], Value=value(p["value"]), Type=p["type"])


def secretsmanager(r: dict[str, Any]) -> None:
    for s in r["secrets"]:
        once(
            client("secretsmanager").create_secret,
            Name=s["name"],
            SecretString=value(s["value"]),
        )


def sns(r: dict[str, Any]) -> None:
    topics, queues = client("sns"), client("sqs")
    fifo = {"FifoTopic": "true"} if r["topic"].endswith(".fifo") else {}
    topic = topics.create_topic(Name=r["topic"], Attributes=fifo)["TopicArn"]
    for sub in r["subscriptions"]:
        topics.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn(queues, sub["queue"]),
            Attributes={"RawMessageDelivery": "true" if sub["raw"] else "false"},
        )


KINDS: dict[str, Callable[[dict[str, Any]], None]] = {
    "s3": s3,
    "sqs": sqs,
    "dynamodb": dynamodb,
    "ssm": ssm,
    "secretsmanager": secretsmanager,
    "sns": sns,
}


def main() -> None:
    for r in json.loads(os.environ["DEVSTACK_RESOURCES"]):
        KINDS[r["kind"]](r)
        name = r.get("bucket") or r.get("queue") or r.get("table") or r.get("topic")
        print("provisioned", r["kind"], name or r.get("backing"), flush=True)


if __name__ == "__main__":
    main()
