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
from pathlib import Path
from typing import Any

from devstack.api.kinds import AWS_KINDS
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

# Queues before the topics that subscribe them (the table's order of AWS kinds).
ORDER = AWS_KINDS

# The program the one-shot service runs: a real module (linted and type-checked), read as
# text, not imported; it runs in the LocalStack image with stdlib + boto3 only.
PROGRAM = (Path(__file__).parent / "provision_program.py").read_text(encoding="utf-8")


def resources(backings: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The backing services' resources for PROGRAM (export/provision_program.py), and the secrets it reads from its
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
