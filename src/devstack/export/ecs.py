"""`devstack export ecs`: one ECS task definition per service (RegisterTaskDefinition input).

Secret variables go into `secrets` as `valueFrom` ARNs, never into `environment`:

- a variable read from an environment's `secrets:` source points where it was read from
  (`ssm:/shop/staging/DB_PASSWORD` -> that parameter; `secretsmanager:NAME#KEY` -> that
  JSON key of the secret);
- any other secret variable points at the SSM parameter `/<stack>/<environment>/<NAME>`,
  which the deployer creates (SecureString).

Tasks are Fargate-shaped (awsvpc, task-level cpu and memory) and log with awslogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack.export.health import check_timeout, health_test, whole_seconds
from devstack.export.view import ExportedService, ExportView, placeholder_image
from devstack.model.desired import EnvVar

DEFAULT_ACCOUNT = "000000000000"  # LocalStack's account: registers there as it is
DEFAULT_CPU = "256"
DEFAULT_MEMORY = "512"
MAX_STOP_TIMEOUT = 120  # seconds, ECS's limit
# Set by the binding of a real-AWS provider for a developer's machine; a task gets its
# credentials from its role instead.
HOST_ONLY = ("AWS_PROFILE",)


@dataclass(frozen=True)
class EcsOptions:
    region: str
    account_id: str = DEFAULT_ACCOUNT
    cpu: str = DEFAULT_CPU
    memory: str = DEFAULT_MEMORY
    execution_role_arn: str | None = None  # default: ecsTaskExecutionRole in the account

    @property
    def execution_role(self) -> str:
        return (
            self.execution_role_arn or f"arn:aws:iam::{self.account_id}:role/ecsTaskExecutionRole"
        )


def task_definitions(view: ExportView, options: EcsOptions) -> list[dict[str, Any]]:
    return [_task(view, s, options) for s in view.services.values()]


def value_from(var: EnvVar, view: ExportView, options: EcsOptions) -> str:
    """The ARN a secret variable's value is read from at task start."""
    region, account = options.region, options.account_id
    if var.source.layer == "secret":
        reference = var.source.detail
        if reference.startswith("ssm:"):
            return f"arn:aws:ssm:{region}:{account}:parameter/{reference[4:].lstrip('/')}"
        if reference.startswith("secretsmanager:"):
            secret, _, key = reference[len("secretsmanager:") :].partition("#")
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"
            # ECS's form for one JSON key: ARN:json-key:version-stage:version-id
            return f"{arn}:{key}::" if key else arn
    return f"arn:aws:ssm:{region}:{account}:parameter/{view.stack}/{view.environment}/{var.name}"


def _task(view: ExportView, exported: ExportedService, options: EcsOptions) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": exported.name,
        "image": _image(view, exported),
        "essential": True,
    }
    spec = exported.spec
    if spec.command is not None:
        container["command"] = list(spec.command)
    if spec.ports:
        container["portMappings"] = [
            {"containerPort": p.container, "protocol": p.protocol} for p in spec.ports
        ]
    env = sorted((v for v in exported.env if v.name not in HOST_ONLY), key=lambda v: v.name)
    container["environment"] = [{"name": v.name, "value": v.value} for v in env if not v.secret]
    secrets = [{"name": v.name, "valueFrom": value_from(v, view, options)} for v in env if v.secret]
    if secrets:
        container["secrets"] = secrets
    check = exported.desired.healthcheck
    if check is not None:
        container["healthCheck"] = {
            "command": health_test(check, spec.ports),
            "interval": whole_seconds(check.interval, 5, 300),
            "timeout": whole_seconds(check_timeout(check), 2, 60),
            "retries": max(1, min(10, check.retries)),
            "startPeriod": whole_seconds(check.start_period, 0, 300),
        }
    container["stopTimeout"] = whole_seconds(exported.desired.stop_grace, 0, MAX_STOP_TIMEOUT)
    container["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": f"/ecs/{view.stack}",
            "awslogs-region": options.region,
            "awslogs-stream-prefix": exported.name,
            "awslogs-create-group": "true",
        },
    }
    return {
        "family": f"{view.stack}-{exported.name}",
        "containerDefinitions": [container],
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": options.cpu,
        "memory": options.memory,
        "executionRoleArn": options.execution_role,
        "tags": [
            {"key": "devstack:stack", "value": view.stack},
            {"key": "devstack:environment", "value": view.environment},
            {"key": "devstack:replicas", "value": str(exported.replicas)},
        ],
    }


def _image(view: ExportView, exported: ExportedService) -> str:
    if exported.image:
        return exported.image
    # Built by devstack: the deployer pushes it; the environment's `images:` names it.
    return placeholder_image(view.stack, exported.name)


def built_images(view: ExportView) -> list[str]:
    """Services whose image devstack builds: the export names a placeholder tag."""
    return [name for name, s in view.services.items() if not s.image]


def validate(task: dict[str, Any]) -> list[str]:
    """Problems botocore finds in one RegisterTaskDefinition input (empty: valid)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(task, shape)
    if not report.has_errors():
        return []
    return [line for line in report.generate_report().splitlines() if line.strip()]
