"""The exported compose file's one-shot provisioner, run as compose runs it (`python3 -c`),
against a real MiniStack: every kind is created, secrets come from the environment, and a
second run (the containers restarted) changes nothing and still succeeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import boto3
from pydantic import TypeAdapter

from devstack.export.provision import PROGRAM, provision_environment
from devstack.model.backing import Backing


def _aws(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_the_exported_provisioner_creates_every_kind_and_runs_again(ministack: str) -> None:
    tag = uuid.uuid4().hex[:10]
    adapter: TypeAdapter[Any] = TypeAdapter(Backing)
    declared = {
        "files": {"kind": "s3", "bucket": f"files-{tag}", "versioning": True},
        "jobs": {"kind": "sqs", "queue": f"jobs-{tag}", "dead_letter": {"max_receives": 4}},
        "orders": {"kind": "dynamodb", "table": f"orders-{tag}", "key": {"id": "S"}},
        "config": {
            "kind": "ssm",
            "path": f"/{tag}",
            "parameters": {"plain": "1", "pw": {"value": "manifest-pw", "secure": True}},
        },
        "vault": {"kind": "secretsmanager", "secrets": {f"api-{tag}": "manifest-key"}},
        "events": {"kind": "sns", "topic": f"events-{tag}", "subscriptions": [{"queue": "jobs"}]},
    }
    backings = {name: adapter.validate_python(data) for name, data in declared.items()}
    env, secrets = provision_environment("localstack", "us-east-1", backings)
    assert set(secrets) == {"CONFIG_PW", f"VAULT_API_{tag.upper()}"}
    run_env = {k: v for k, v in env.items() if isinstance(v, str)}
    run_env |= {"DEVSTACK_ENDPOINT": ministack, "CONFIG_PW": "from-env", "PATH": os.environ["PATH"]}
    run_env[f"VAULT_API_{tag.upper()}"] = "key-from-env"

    for _ in range(2):  # the second run finds everything and must not fail
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM],
            env=run_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f"provisioned s3 files-{tag}" in done.stdout

    s3 = _aws(ministack, "s3")
    assert s3.get_bucket_versioning(Bucket=f"files-{tag}")["Status"] == "Enabled"
    sqs = _aws(ministack, "sqs")
    url = sqs.get_queue_url(QueueName=f"jobs-{tag}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":jobs-{tag}-dlq")
    table = _aws(ministack, "dynamodb").describe_table(TableName=f"orders-{tag}")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    ssm = _aws(ministack, "ssm")
    secure = ssm.get_parameter(Name=f"/{tag}/pw", WithDecryption=True)["Parameter"]
    assert (secure["Type"], secure["Value"]) == ("SecureString", "from-env")
    secret = _aws(ministack, "secretsmanager").get_secret_value(SecretId=f"api-{tag}")
    assert secret["SecretString"] == "key-from-env"
    sns = _aws(ministack, "sns")
    (topic,) = [
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(f":events-{tag}")
    ]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["Endpoint"].rsplit(":", 1)[-1] for s in subscriptions][:1] == [f"jobs-{tag}"]
