"""`devstack export compose|ecs` through the real CLI: output, options, errors, secrets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

from components import unavailable
from docker_images import LOCALSTACK_IMAGE, localstack_image_missing
from helpers import Stack, describe, free_port, port_busy, wait_for

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
FULL = REPO / "tests" / "data" / "export" / "full"
CANARY = "canary-7f3a9c-do-not-leak"


def copy_full(stack: Stack) -> None:
    shutil.copytree(FULL, stack.root, dirs_exist_ok=True)


def test_compose_goes_to_stdout_and_notes_to_stderr(stack: Stack) -> None:
    copy_full(stack)
    result = stack.ok("export", "compose")
    document = yaml.safe_load(result.stdout)
    assert set(document["services"]) == {
        "api", "web", "worker", "ls", "ls-provision", "container-db", "container-cache",
    }  # fmt: skip
    assert "note: left out, host processes with no image: host" in result.stderr
    assert "set these secrets" in result.stderr and "POSTGRES_PASSWORD" in result.stderr
    assert "note:" not in result.stdout.replace("# ", "")


def test_output_option_writes_the_file_and_nothing_to_stdout(stack: Stack) -> None:
    copy_full(stack)
    out = stack.root / "out" / "compose.yml"
    out.parent.mkdir()
    result = stack.ok("export", "compose", "-o", "out/compose.yml")
    assert result.stdout == ""
    assert f"wrote out{os.sep}compose.yml" in result.stderr
    document = yaml.safe_load(out.read_text())
    # Relative paths start from the file's folder.
    assert document["services"]["web"]["build"]["context"] == "../web"


def test_env_option_picks_the_environment(stack: Stack) -> None:
    copy_full(stack)
    dev = yaml.safe_load(stack.ok("export", "compose").stdout)
    staging = yaml.safe_load(stack.ok("export", "compose", "--env", "staging").stdout)
    assert dev["services"]["api"]["environment"]["LOG_LEVEL"] == "debug"
    assert staging["services"]["api"]["environment"]["LOG_LEVEL"] == "info"
    assert staging["services"]["web"]["image"] == "registry.example/full-web:1.4"


def test_manifest_file_option_works_from_anywhere(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(
        [sys_executable(), "-m", "devstack.cli.main", "-f", str(FULL / "devstack.yaml"),
         "export", "compose", "-o", str(tmp_path / "c.yml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    web = yaml.safe_load((tmp_path / "c.yml").read_text())["services"]["web"]
    assert (tmp_path / web["build"]["context"]).resolve() == FULL / "web"


def test_an_unknown_environment_is_a_usage_error(stack: Stack) -> None:
    copy_full(stack)
    result = stack.run("export", "compose", "--env", "prod")
    assert result.returncode == 2, describe(result)
    assert "unknown environment 'prod'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_manifest_mistake_names_file_line_and_field(stack: Stack) -> None:
    stack.write_text("name: t\nservices:\n  a:\n    image: x\n    restart: sometimes\n")
    result = stack.run("export", "ecs")
    assert result.returncode == 2, describe(result)
    assert "devstack.yaml:5:" in result.stderr and "services.a.restart" in result.stderr
    assert "Traceback" not in result.stderr


def test_ecs_prints_valid_task_definitions(stack: Stack) -> None:
    copy_full(stack)
    result = stack.ok(
        "export", "ecs", "--env", "staging", "--region", "eu-west-1", "--account-id", "123456789012"
    )
    tasks = json.loads(result.stdout)
    shape = (
        botocore.session.get_session()
        .get_service_model("ecs")
        .operation_model("RegisterTaskDefinition")
        .input_shape
    )
    for task in tasks:
        report = ParamValidator().validate(task, shape)
        assert not report.has_errors(), report.generate_report()
    assert [t["family"] for t in tasks] == ["full-api", "full-web", "full-worker"]
    assert "parameter/full/staging/DB_PASSWORD" in result.stdout


CANARY_STACK = f"""
name: leak
environments:
  dev:
    env_file: [.env]
    vars: {{SESSION_SECRET: "{CANARY}-vars", UPSTREAM_TOKEN: "${{UPSTREAM_TOKEN}}"}}
backing:
  db: {{kind: postgres, password: "{CANARY}-pg"}}
services:
  app:
    build: {{context: ., args: {{NPM_TOKEN: "{CANARY}-arg"}}}}
    uses: [db]
    env:
      API_TOKEN: {{value: "{CANARY}-declared", secret: true}}
      DB_PASSWORD: "{CANARY}-named"
      COPY_TOKEN: "${{API_TOKEN}}"
"""


@pytest.mark.parametrize("target", ["compose", "ecs"])
def test_a_canary_secret_never_appears_in_an_export_except_as_a_reference(
    stack: Stack, target: str
) -> None:
    stack.write_text(CANARY_STACK)
    (stack.root / ".env").write_text(f"STRIPE_KEY={CANARY}-envfile\n")
    (stack.root / "Dockerfile").write_text("FROM devstack-test/busybox:1\n")
    env = {"UPSTREAM_TOKEN": f"{CANARY}-host"}
    printed = stack.ok("export", target, env=env)
    written = stack.ok("export", target, "-o", "out.txt", env=env)
    text = (stack.root / "out.txt").read_text()
    for output in (printed.stdout, printed.stderr, written.stdout, written.stderr, text):
        assert CANARY not in output
    if target == "compose":
        environment = yaml.safe_load(text)["services"]["app"]["environment"]
        names = ("SESSION_SECRET", "STRIPE_KEY", "API_TOKEN", "DB_PASSWORD", "COPY_TOKEN",
                 "UPSTREAM_TOKEN")  # fmt: skip
        for name in names:
            assert environment[name].startswith(f"${{{name}:?"), name
        assert "${POSTGRES_PASSWORD:?" in environment["DATABASE_URL"]
    else:
        (task,) = json.loads(text)
        secrets = {s["name"]: s["valueFrom"] for s in task["containerDefinitions"][0]["secrets"]}
        for name in ("SESSION_SECRET", "STRIPE_KEY", "API_TOKEN", "DB_PASSWORD", "DATABASE_URL"):
            assert secrets[name].endswith(f":parameter/leak/dev/{name}"), name


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_accepts_the_exported_file(stack: Stack) -> None:
    copy_full(stack)
    stack.ok("export", "compose", "-o", "compose.yml")
    names = yaml.safe_load((stack.root / "compose.yml").read_text())["x-devstack"]["secrets"]
    env = {**os.environ, **dict.fromkeys(names, "set-for-the-test")}
    result = subprocess.run(
        ["docker-compose", "-f", "compose.yml", "-p", "full", "config"],
        cwd=stack.root, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["services"]["web"]["environment"]["SIGNING"] == "set-for-the-test"
    assert config["services"]["web"]["environment"]["PRICE"] == "$$5"  # still literal
    # Without the secrets compose refuses, naming the missing one.
    env = {k: v for k, v in os.environ.items() if k not in names}
    missing = subprocess.run(
        ["docker-compose", "-f", "compose.yml", "config", "-q"],
        cwd=stack.root, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "set the secret" in missing.stderr


def sys_executable() -> str:
    import sys

    return sys.executable


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real moto server on 127.0.0.1, holding the secrets `--read-secrets` reads."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [sys_executable(), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: proc.poll() is not None or port_busy(port), 20.0, "moto to listen")
        assert proc.poll() is None, log.read_text()
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def aws(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_read_secrets_asks_the_store_for_the_variables_and_keeps_no_value(
    stack: Stack, moto_endpoint: str
) -> None:
    ssm = aws(moto_endpoint, "ssm")
    ssm.put_parameter(Name="/vault/prod/DB_PASSWORD", Value=f"{CANARY}-ssm", Type="SecureString")
    ssm.put_parameter(Name="/vault/prod/nested/api-key", Value=f"{CANARY}-nested", Type="String")
    aws(moto_endpoint, "secretsmanager").create_secret(
        Name="vault/keys", SecretString=json.dumps({"SIGNING_KEY": f"{CANARY}-sm"})
    )
    stack.write_text(
        "name: vault\n"
        f"providers: {{store: {{type: external, url: '{moto_endpoint}', "
        "access_key_id: test, secret_access_key: test}}\n"
        "environments:\n"
        "  prod: {secrets: {from: ['ssm:/vault/prod/', 'secretsmanager:vault/keys'], "
        "provider: store}}\n"
        "services: {app: {image: devstack-test/busybox:1}}\n"
    )
    without = stack.ok("export", "ecs", "--env", "prod")
    assert "secrets" not in json.loads(without.stdout)[0]["containerDefinitions"][0]
    assert "--read-secrets asks the store" in without.stderr

    result = stack.ok("export", "ecs", "--env", "prod", "--read-secrets", "--account-id", "42")
    assert CANARY not in result.stdout + result.stderr
    (task,) = json.loads(result.stdout)
    secrets = {s["name"]: s["valueFrom"] for s in task["containerDefinitions"][0]["secrets"]}
    assert secrets == {
        "DB_PASSWORD": "arn:aws:ssm:us-east-1:42:parameter/vault/prod/DB_PASSWORD",
        "NESTED_API_KEY": "arn:aws:ssm:us-east-1:42:parameter/vault/prod/nested/api-key",
        "SIGNING_KEY": "arn:aws:secretsmanager:us-east-1:42:secret:vault/keys:SIGNING_KEY::",
    }
    compose = stack.ok("export", "compose", "--env", "prod", "--read-secrets")
    assert CANARY not in compose.stdout + compose.stderr
    environment = yaml.safe_load(compose.stdout)["services"]["app"]["environment"]
    assert environment["SIGNING_KEY"].startswith("${SIGNING_KEY:?")


def test_read_secrets_from_a_store_that_does_not_answer_is_a_clear_error(stack: Stack) -> None:
    stack.write_text(
        "name: vault\n"
        f"providers: {{store: {{type: external, url: 'http://127.0.0.1:{free_port()}', "
        "access_key_id: test, secret_access_key: test}}\n"
        "environments: {prod: {secrets: {from: 'ssm:/vault/prod/', provider: store}}}\n"
        "services: {app: {image: devstack-test/busybox:1}}\n"
    )
    result = stack.run("export", "ecs", "--env", "prod", "--read-secrets")
    assert result.returncode == 2, describe(result)
    assert "cannot read secrets" in result.stderr
    assert "Traceback" not in result.stderr


def docker_compose_runs() -> bool:
    if shutil.which("docker-compose") is None or shutil.which("docker") is None:
        return False
    info = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    return info.returncode == 0


RUNNABLE = """
name: runnable
services:
  web:
    image: devstack-test/busybox:1
    command: [sh, -c, "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www"]
    ports: ["8080"]
    env: {PRICE: "$$5"}
    healthcheck: {http: /health, interval: 1s}
  probe:
    image: devstack-test/busybox:1
    command: [httpd, -f, -p, "9000"]
    depends_on: [web]
    healthcheck: {tcp: 9000, interval: 1s}
"""


@pytest.mark.skipif(not docker_compose_runs(), reason="docker-compose or a Docker engine missing")
def test_the_exported_file_runs_under_docker_compose_with_working_healthchecks(
    stack: Stack,
) -> None:
    stack.write_text(RUNNABLE)
    stack.ok("export", "compose", "-o", "compose.yml")
    project = f"export{stack.stack_id}"

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker-compose", "-p", project, "-f", "compose.yml", *args],
            cwd=stack.root, capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip

    def health(service: str) -> str:
        found = subprocess.run(
            ["docker", "inspect", "--format", "{{.State.Health.Status}}", f"{project}_{service}_1"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return found.stdout.strip()

    try:
        up = compose("up", "-d")
        assert up.returncode == 0, up.stderr
        # The HTTP check finds busybox's wget; the TCP check its nc (which has no -z).
        wait_for(lambda: health("web") == "healthy", 30.0, "web to be healthy")
        wait_for(lambda: health("probe") == "healthy", 30.0, "probe to be healthy")
        port = compose("port", "web", "8080").stdout.strip()
        assert port.startswith("127.0.0.1:"), port  # published on loopback only
        env = compose("exec", "-T", "web", "env").stdout
        assert "PRICE=$5" in env.splitlines()
    finally:
        compose("down", "-v", "--timeout", "1")


PROVISIONED = f"""
name: provisioned
providers:
  localstack: {{type: localstack, image: {LOCALSTACK_IMAGE}}}
backing:
  files: {{kind: s3, bucket: exp-files, versioning: true}}
  jobs: {{kind: sqs, queue: exp-jobs, dead_letter: {{max_receives: 2}}}}
  conf: {{kind: ssm, path: /exp/, provider: moto,
          parameters: {{mode: fast, api-token: {{value: "{CANARY}-ssm", secure: true}}}}}}
  events: {{kind: sns, topic: exp-events, subscriptions: [{{queue: jobs}}]}}
services:
  app:
    image: devstack-test/busybox:1
    command: [sleep, "3600"]
    uses: [files, jobs, conf, events]
"""


@pytest.mark.timeout(420)
@pytest.mark.skipif(not docker_compose_runs(), reason="docker-compose or a Docker engine missing")
def test_the_exported_file_creates_the_declared_resources_before_the_consumers_start(
    stack: Stack,
) -> None:
    missing = localstack_image_missing()
    if missing:
        unavailable(missing)
    stack.write_text(PROVISIONED)
    stack.ok("export", "compose", "-o", "compose.yml")
    assert CANARY not in (stack.root / "compose.yml").read_text()
    project = f"export{stack.stack_id}"
    env = {**os.environ, "CONF_API_TOKEN": "token-from-the-env-file"}

    def compose(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker-compose", "-p", project, "-f", "compose.yml", *args],
            cwd=stack.root, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    try:
        # `up` returns once app started, which waits for LocalStack (healthy) and for the
        # one-shot provisioning to finish.
        up = compose("up", "-d", timeout=360)
        assert up.returncode == 0, up.stderr + compose("logs", "--tail", "30").stdout
        ps = compose("ps").stdout
        assert "Exit 0" in ps and "provision" in ps, ps
        port = compose("port", "localstack", "4566").stdout.strip().rsplit(":", 1)[1]
        endpoint = f"http://127.0.0.1:{port}"
        bucket = aws(endpoint, "s3").get_bucket_versioning(Bucket="exp-files")
        assert bucket["Status"] == "Enabled"
        sqs = aws(endpoint, "sqs")
        url = sqs.get_queue_url(QueueName="exp-jobs")["QueueUrl"]
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        assert "exp-jobs-dlq" in policy["Attributes"]["RedrivePolicy"]
        parameter = aws(endpoint, "ssm").get_parameter(Name="/exp/api-token", WithDecryption=True)
        assert parameter["Parameter"]["Type"] == "SecureString"
        assert parameter["Parameter"]["Value"] == "token-from-the-env-file"
        subscriptions = aws(endpoint, "sns").list_subscriptions()["Subscriptions"]
        assert [s["Endpoint"].rsplit(":", 1)[1] for s in subscriptions] == ["exp-jobs"]
    finally:
        compose("down", "-v", "--timeout", "1", timeout=120)
