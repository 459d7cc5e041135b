"""`devstack export ecs`: task definitions, checked against botocore's ECS service model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from devstack.config.loader import load_stack
from devstack.export.ecs import EcsOptions, task_definitions, value_from
from devstack.export.view import ExportView, export_view
from devstack.model.desired import EnvVar, Source

REPO = Path(__file__).resolve().parents[2]
FULL = REPO / "tests" / "data" / "export" / "full" / "devstack.yaml"
OPTIONS = EcsOptions(region="eu-west-1", account_id="123456789012")
EXAMPLES = [
    ("stacks/hello/docker/devstack.yaml", "dev"),
    ("stacks/hello/docker/devstack.yaml", "staging"),
    ("stacks/shop/devstack.yaml", "dev"),
    ("stacks/shop/docker/devstack.yaml", "dev"),
    ("tests/data/export/full/devstack.yaml", "dev"),
    ("tests/data/export/full/devstack.yaml", "staging"),
    ("tests/data/export/compose-keys/devstack.yaml", "dev"),  # compose's keys: no crash
]


def botocore_errors(task: dict[str, Any]) -> str:
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(task, shape)
    return report.generate_report() if report.has_errors() else ""


def view_of(manifest: Path, environment: str = "dev") -> ExportView:
    return export_view(load_stack(manifest), environment, {}, "ecs", region=OPTIONS.region)


def tasks_of(manifest: Path = FULL, environment: str = "dev") -> dict[str, dict[str, Any]]:
    """Family -> the container definition of its single container (and the task)."""
    return {t["family"]: t for t in task_definitions(view_of(manifest, environment), OPTIONS)}


def container(task: dict[str, Any]) -> dict[str, Any]:
    (only,) = task["containerDefinitions"]
    assert isinstance(only, dict)
    return only


def env_of(task: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(task)["environment"]}


def secrets_of(task: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for s in container(task).get("secrets", [])}


def test_the_botocore_check_catches_an_invalid_task_definition() -> None:
    assert botocore_errors({"family": "x", "containerDefinitions": [{"portMappings": "80"}]})
    assert botocore_errors({"containerDefinitions": []})  # family is required


@pytest.mark.parametrize(("manifest", "environment"), EXAMPLES)
def test_every_task_definition_is_valid_register_task_definition_input(
    manifest: str, environment: str
) -> None:
    tasks = task_definitions(view_of(REPO / manifest, environment), OPTIONS)
    for task in tasks:
        assert botocore_errors(task) == "", task["family"]


def test_one_task_definition_per_container_service_named_stack_service() -> None:
    tasks = tasks_of()
    assert set(tasks) == {"full-web", "full-api", "full-worker"}  # `host` has no image
    assert [container(t)["name"] for t in tasks.values()] == ["api", "web", "worker"]
    assert all(container(t)["essential"] for t in tasks.values())


def test_container_definition_fields() -> None:
    tasks = tasks_of()
    api = container(tasks["full-api"])
    assert api["image"] == "devstack-test/busybox:1"
    assert api["command"] == ["httpd", "-f", "-p", "9000"]
    assert api["portMappings"] == [{"containerPort": 9000, "protocol": "tcp"}]
    assert api["logConfiguration"]["logDriver"] == "awslogs"
    assert api["logConfiguration"]["options"]["awslogs-group"] == "/ecs/full"
    assert api["logConfiguration"]["options"]["awslogs-region"] == "eu-west-1"
    web = container(tasks["full-web"])
    assert [p["containerPort"] for p in web["portMappings"]] == [8080, 8081, 9090]
    assert web["stopTimeout"] == 3
    task = tasks["full-web"]
    assert (task["cpu"], task["memory"], task["networkMode"]) == ("256", "512", "awsvpc")
    assert task["executionRoleArn"] == "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
    assert {"key": "devstack:replicas", "value": "2"} in tasks["full-api"]["tags"]


def test_healthchecks_are_in_ecs_ranges() -> None:
    tasks = tasks_of()
    check = container(tasks["full-web"])["healthCheck"]
    assert check["command"][0] == "CMD-SHELL"
    assert "http://127.0.0.1:8080/health" in check["command"][1]
    # A 1s interval is below what ECS accepts: raised to its minimum. The timeout also
    # covers starting the probing program (0.5s + 5s, rounded up); retries capped at 10.
    assert (check["interval"], check["timeout"], check["retries"], check["startPeriod"]) == (
        5,
        6,
        10,
        90,
    )
    assert container(tasks["full-worker"])["healthCheck"]["command"] == [
        "CMD-SHELL",
        "test -e /tmp/ready",
    ]


def test_aws_bindings_use_real_endpoints_not_the_emulators() -> None:
    env = env_of(tasks_of()["full-web"])
    assert not [name for name in env if name.startswith("AWS_ENDPOINT_URL")]
    assert "AWS_ACCESS_KEY_ID" not in env
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["FILES_BUCKET"] == "full-files"
    assert "AWS_SECRET_ACCESS_KEY" not in secrets_of(tasks_of()["full-web"])


def test_a_developer_profile_is_not_passed_to_a_task() -> None:
    # staging binds files to an aws provider with profile: staging.
    env = env_of(tasks_of(environment="staging")["full-web"])
    assert "AWS_PROFILE" not in env


def test_an_environment_image_is_the_image_and_a_build_gets_a_placeholder() -> None:
    assert container(tasks_of(environment="staging")["full-web"])["image"] == (
        "registry.example/full-web:1.4"
    )
    assert container(tasks_of()["full-web"])["image"] == "full/web:latest"


def test_secret_variables_are_secrets_entries_never_environment() -> None:
    task = tasks_of()["full-web"]
    env, secrets = env_of(task), secrets_of(task)
    for name in ("SIGNING", "DB_PASSWORD", "DATABASE_URL"):
        assert name not in env
        assert secrets[name] == f"arn:aws:ssm:eu-west-1:123456789012:parameter/full/dev/{name}"
    text = repr(task_definitions(view_of(FULL), OPTIONS))
    for value in ("signing-value", "env-file-pw", "pg-secret-pw"):
        assert value not in text


def test_stored_secrets_point_where_they_are_stored() -> None:
    secrets = secrets_of(tasks_of(environment="staging")["full-api"])
    assert secrets["DB_PASSWORD"] == (
        "arn:aws:ssm:eu-west-1:123456789012:parameter/full/staging/DB_PASSWORD"
    )
    assert secrets["API_KEY"] == (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:full/staging:API_KEY::"
    )


@pytest.mark.parametrize(
    ("reference", "arn"),
    [
        ("ssm:/shop/staging/DB_PASSWORD", "arn:aws:ssm:R:A:parameter/shop/staging/DB_PASSWORD"),
        ("secretsmanager:shop/staging#DB_PASSWORD",
         "arn:aws:secretsmanager:R:A:secret:shop/staging:DB_PASSWORD::"),
        ("secretsmanager:shop-token", "arn:aws:secretsmanager:R:A:secret:shop-token"),
    ],
)  # fmt: skip
def test_value_from_follows_the_reference(reference: str, arn: str) -> None:
    var = EnvVar("X", "v", Source("secret", detail=reference), secret=True)
    view = view_of(FULL)
    assert value_from(var, view, EcsOptions(region="R", account_id="A")) == arn


def test_options_set_region_account_and_sizes() -> None:
    options = EcsOptions(region="ap-south-1", account_id="999", cpu="1024", memory="2048")
    (task, *_) = task_definitions(view_of(FULL), options)
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert container(task)["logConfiguration"]["options"]["awslogs-region"] == "ap-south-1"
    assert all(":999:" in arn for arn in secrets_of(task).values())
