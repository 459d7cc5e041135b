"""Declared AWS resources in a compose file: a one-shot service that creates them.

Under devstack, a backing node creates the bucket, queue, table... on the provider before
its consumers start. In compose the same job is a service `<provider>-provision` that runs
once LocalStack is healthy, in LocalStack's own image (it has python3 and boto3), and that
the consumers wait for (`service_completed_successfully`). It creates what is missing and
leaves what exists alone, like devstack's provisioning; seeds are not applied.

Secret values (SecureString parameters, Secrets Manager secrets) reach it as `${NAME}`
references like any other secret of the export.
"""

from __future__ import annotations

import json
from typing import Any

from devstack.config.secrets import variable_name
from devstack.model.backing import (
    DynamoDbBacking,
    S3Backing,
    SecretsManagerBacking,
    SecretSpec,
    SnsBacking,
    SqsBacking,
    SsmBacking,
    SsmParameter,
)

# Queues before the topics that subscribe them.
ORDER = ("s3", "sqs", "dynamodb", "ssm", "secretsmanager", "sns")

# Runs in the LocalStack image: stdlib + boto3 only. `$env` marks a value read from the
# container's environment (a secret, filled in by compose).
PROGRAM = """\
import json, os
import boto3
from botocore.exceptions import ClientError

ENDPOINT, REGION = os.environ["DEVSTACK_ENDPOINT"], os.environ["DEVSTACK_REGION"]
EXISTS = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists", "ResourceInUseException",
          "ParameterAlreadyExists", "ResourceExistsException", "QueueAlreadyExists",
          "QueueNameExists"}


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def value(v):
    return os.environ[v["$env"]] if isinstance(v, dict) else v


def once(call, **kwargs):
    try:
        return call(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in EXISTS:
            raise
        return None


def queue_arn(sqs, name):
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


for r in json.loads(os.environ["DEVSTACK_RESOURCES"]):
    kind = r["kind"]
    if kind == "s3":
        s3 = client("s3")
        where = {} if REGION == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": REGION}}
        once(s3.create_bucket, Bucket=r["bucket"], **where)
        if r["versioning"]:
            s3.put_bucket_versioning(Bucket=r["bucket"],
                                     VersioningConfiguration={"Status": "Enabled"})
    elif kind == "sqs":
        sqs = client("sqs")
        attributes = dict(r["attributes"])
        if r["dlq"]:
            fifo = {k: v for k, v in attributes.items() if k == "FifoQueue"}
            once(sqs.create_queue, QueueName=r["dlq"], Attributes=fifo)
            attributes["RedrivePolicy"] = json.dumps({
                "deadLetterTargetArn": queue_arn(sqs, r["dlq"]),
                "maxReceiveCount": str(r["max_receives"])})
        once(sqs.create_queue, QueueName=r["queue"], Attributes=attributes)
    elif kind == "dynamodb":
        def schema(key):
            return [{"AttributeName": n, "KeyType": t} for n, t in zip(key, ("HASH", "RANGE"))]
        types = dict(r["key"])
        for index in r["indexes"]:
            types.update(index["key"])
        table = {"TableName": r["table"], "KeySchema": schema(r["key"]),
                 "BillingMode": "PAY_PER_REQUEST",
                 "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t}
                                          for n, t in types.items()]}
        if r["indexes"]:
            table["GlobalSecondaryIndexes"] = [
                {"IndexName": i["name"], "KeySchema": schema(i["key"]),
                 "Projection": {"ProjectionType": i["projection"]}} for i in r["indexes"]]
        once(client("dynamodb").create_table, **table)
    elif kind == "ssm":
        for p in r["parameters"]:
            once(client("ssm").put_parameter, Name=p["name"], Value=value(p["value"]),
                 Type=p["type"])
    elif kind == "secretsmanager":
        for s in r["secrets"]:
            once(client("secretsmanager").create_secret, Name=s["name"],
                 SecretString=value(s["value"]))
    elif kind == "sns":
        sns, sqs = client("sns"), client("sqs")
        fifo = {"FifoTopic": "true"} if r["topic"].endswith(".fifo") else {}
        topic = sns.create_topic(Name=r["topic"], Attributes=fifo)["TopicArn"]
        for sub in r["subscriptions"]:
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, sub["queue"]),
                          Attributes={"RawMessageDelivery": "true" if sub["raw"] else "false"})
    print("provisioned", kind, r.get("bucket") or r.get("queue") or r.get("table")
          or r.get("topic") or r.get("backing"), flush=True)
"""


def resources(backings: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The backing services' resources for PROGRAM, and the secrets it reads from its
    environment (variable -> the backing field it stands for, for naming the reference)."""
    out: list[dict[str, Any]] = []
    secrets: dict[str, str] = {}

    def secret(backing: str, name: str) -> dict[str, str]:
        variable = f"{variable_name(backing)}_{variable_name(name)}"
        secrets[variable] = f"backing.{backing}"
        return {"$env": variable}

    for name, backing in sorted(backings.items(), key=lambda item: ORDER.index(item[1].kind)):
        if isinstance(backing, S3Backing):
            out.append({"kind": "s3", "bucket": backing.bucket, "versioning": backing.versioning})
        elif isinstance(backing, SqsBacking):
            attributes: dict[str, str] = {}
            if backing.fifo:
                attributes["FifoQueue"] = "true"
            if backing.visibility_timeout is not None:
                attributes["VisibilityTimeout"] = str(backing.visibility_timeout)
            out.append(
                {
                    "kind": "sqs",
                    "queue": backing.queue,
                    "attributes": attributes,
                    "dlq": backing.dead_letter_queue,
                    "max_receives": backing.dead_letter.max_receives if backing.dead_letter else 0,
                }
            )
        elif isinstance(backing, DynamoDbBacking):
            out.append(
                {
                    "kind": "dynamodb",
                    "table": backing.table,
                    "key": dict(backing.key),
                    "indexes": [i.model_dump(mode="json") for i in backing.indexes],
                }
            )
        elif isinstance(backing, SsmBacking):
            parameters = []
            for param, spec in backing.parameters.items():
                secure = isinstance(spec, SsmParameter) and spec.secure
                text = spec.value if isinstance(spec, SsmParameter) else spec
                parameters.append(
                    {
                        "name": backing.full_name(param),
                        "value": secret(name, param) if secure else text,
                        "type": "SecureString" if secure else "String",
                    }
                )
            out.append({"kind": "ssm", "backing": name, "parameters": parameters})
        elif isinstance(backing, SecretsManagerBacking):
            entries = [
                {"name": secret_name, "value": secret(name, secret_name)}
                for secret_name, spec in backing.secrets.items()
                if isinstance(spec, SecretSpec | str)
            ]
            out.append({"kind": "secretsmanager", "backing": name, "secrets": entries})
        elif isinstance(backing, SnsBacking):
            subscriptions = [
                {"queue": queue.queue, "raw": sub.raw}
                for sub in backing.subscriptions
                if isinstance(queue := backings.get(sub.queue), SqsBacking)
            ]
            out.append({"kind": "sns", "topic": backing.topic, "subscriptions": subscriptions})
    return out, secrets


def provision_environment(
    provider: str, region: str, backings: dict[str, Any]
) -> tuple[dict[str, str | dict[str, str]], dict[str, str]]:
    """The one-shot service's environment (secret entries as `{"secret": variable}`), and
    its secret variables with where each comes from."""
    listed, secrets = resources(backings)
    env: dict[str, str | dict[str, str]] = {
        "DEVSTACK_ENDPOINT": f"http://{provider}:4566",
        "DEVSTACK_REGION": region,
        "DEVSTACK_RESOURCES": json.dumps(listed, separators=(",", ":")),
    }
    for variable in secrets:
        env[variable] = {"secret": variable}
    return env, secrets
