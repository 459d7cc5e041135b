"""`devstack export compose`: the translation, checked against the compose-spec schema.

tests/data/compose-spec.json is `compose/config/compose_spec.json` from the docker-compose
1.29.2 wheel on PyPI (identical to Debian's docker-compose 1.29.2 package); its sha256 is
pinned below so an edit to it shows.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from devstack.config.loader import load_stack
from devstack.export.compose import compose_document, render, secret_references
from devstack.export.view import ExportView, export_view
from devstack.model.desired import EnvVar, Source

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
FULL = DATA / "export" / "full" / "devstack.yaml"
SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"
EXAMPLES = [
    ("stacks/hello/devstack.yaml", "dev"),
    ("stacks/hello/devstack.yaml", "staging"),
    ("stacks/hello/docker/devstack.yaml", "dev"),
    ("stacks/hello/docker/devstack.yaml", "staging"),
    ("stacks/shop/devstack.yaml", "dev"),
    ("stacks/shop/devstack.yaml", "moto"),
    ("stacks/shop/docker/devstack.yaml", "dev"),
    ("tests/data/export/full/devstack.yaml", "dev"),
    ("tests/data/export/full/devstack.yaml", "staging"),
]


def schema_errors(document: Any) -> list[str]:
    schema = json.loads((DATA / "compose-spec.json").read_text())
    # Its $schema URI (draft/2019-09/schema#, with the "#") is not one jsonschema knows.
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]


def view_of(
    manifest: Path, environment: str = "dev", env: dict[str, str] | None = None
) -> ExportView:
    return export_view(load_stack(manifest), environment, env or {}, "compose")


def exported(manifest: Path, environment: str = "dev", base: Path | None = None) -> dict[str, Any]:
    """The compose file as written (parsed back from the YAML text)."""
    view = view_of(manifest, environment)
    document = yaml.safe_load(render(view, base or manifest.parent))
    assert isinstance(document, dict)
    return document


def test_the_schema_is_the_one_from_docker_compose_1_29_2() -> None:
    digest = hashlib.sha256((DATA / "compose-spec.json").read_bytes()).hexdigest()
    assert digest == SCHEMA_SHA256


def test_the_schema_check_catches_an_invalid_file() -> None:
    # Guards the guard: a validator that accepted anything would pass every test below.
    assert schema_errors({"services": {"a": {"ports": [{"host_ip": "127.0.0.1"}]}}})
    assert schema_errors({"services": {"a": {"restart": 3}}})


@pytest.mark.parametrize(("manifest", "environment"), EXAMPLES)
def test_exports_of_the_example_stacks_are_valid_compose_files(
    manifest: str, environment: str
) -> None:
    document = exported(REPO / manifest, environment)
    assert schema_errors(document) == []
    assert document["x-devstack"]["environment"] == environment


def test_every_feature_of_a_container_service_is_translated() -> None:
    services = exported(FULL)["services"]
    web = services["web"]
    assert web["build"] == {
        "context": "./web",
        "dockerfile": "Dockerfile.dev",
        "args": {
            "BASE": "devstack-test/python:1",
            "NPM_TOKEN": "${NPM_TOKEN:?set the secret NPM_TOKEN in the shell or .env}",
        },
        "target": "dev",
    }
    assert web["ports"] == ["127.0.0.1::8080", "127.0.0.1:18081:8081", "0.0.0.0:19090:9090"]
    assert web["volumes"] == ["data:/var/lib/web", "./config:/etc/web:ro"]
    assert web["restart"] == "always"
    assert web["stop_grace_period"] == "3s"
    assert web["init"] is True
    assert "host.docker.internal:host-gateway" in web["extra_hosts"]
    assert "deploy" not in web
    assert services["api"]["deploy"] == {"replicas": 2}
    assert services["api"]["restart"] == "no"
    assert services["api"]["command"] == ["httpd", "-f", "-p", "9000"]


def test_named_volumes_are_declared_at_the_top() -> None:
    document = exported(FULL)
    assert set(document["volumes"]) == {
        "data",
        "ls-data",
        "container-db-data",
        "container-cache-data",
    }


def test_healthchecks_become_container_tests_with_compose_durations() -> None:
    services = exported(FULL)["services"]
    web = services["web"]["healthcheck"]
    assert web["test"][0] == "CMD-SHELL"
    assert "http://127.0.0.1:8080/health" in web["test"][1]
    # The timeout also covers starting the probing program inside the container (+5s).
    assert (web["interval"], web["timeout"], web["retries"], web["start_period"]) == (
        "1s",
        "5500ms",
        30,
        "1m30s",
    )
    assert services["api"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "127.0.0.1 9000" in services["api"]["healthcheck"]["test"][1]
    assert services["worker"]["healthcheck"]["test"] == ["CMD-SHELL", "test -e /tmp/ready"]


def test_depends_on_keeps_conditions_and_waits_for_the_providers_of_backing_services() -> None:
    services = exported(FULL)["services"]
    assert services["web"]["depends_on"] == {
        "api": {"condition": "service_started"},
        "ls": {"condition": "service_healthy"},
        "container-db": {"condition": "service_healthy"},
        "container-cache": {"condition": "service_healthy"},
        "ls-provision": {"condition": "service_completed_successfully"},
    }
    assert services["worker"]["depends_on"] == {
        "api": {"condition": "service_healthy"},
        "ls": {"condition": "service_healthy"},
        "ls-provision": {"condition": "service_completed_successfully"},
    }


def test_bindings_resolve_as_a_container_on_the_compose_network_sees_them() -> None:
    env = exported(FULL)["services"]["web"]["environment"]
    assert env["AWS_ENDPOINT_URL_S3"] == "http://ls:4566"  # files was on MiniStack
    assert env["JOBS_QUEUE_URL"] == "http://ls:4566/000000000000/full-jobs"  # jobs was on moto
    assert env["API_URL"] == "http://api:9000"
    assert env["HOST_URL"] == "http://host.docker.internal:8500"  # a host process, left out
    assert env["CACHE_URL"] == "redis://container-cache:6379/0"
    assert env["EXT_URL"] == "https://status.example.com"
    assert env["DATABASE_URL"] == (
        "postgresql://app:${POSTGRES_PASSWORD:?set the secret POSTGRES_PASSWORD in the shell "
        "or .env}@container-db:5432/app"
    )
    assert env["AWS_SECRET_ACCESS_KEY"] == "${AWS_SECRET_ACCESS_KEY:-test}"


def test_host_emulators_and_servers_become_compose_services_with_their_images() -> None:
    document = exported(FULL)
    services = document["services"]
    assert services["ls"]["image"] == "devstack-test/localstack:2026.3.0"
    assert services["container-db"]["image"] == "postgres:16"  # db was on host binaries
    assert services["container-cache"]["image"] == "redis:7"
    notes = "\n".join(document["x-devstack"]["notes"])
    assert "files: provider ministack -> ls" in notes
    assert "db: provider process -> container" in notes


def test_a_stack_on_the_default_emulator_gets_the_pinned_localstack(tmp_path: Path) -> None:
    (tmp_path / "devstack.yaml").write_text(
        "name: mini\nbacking: {files: {kind: s3, bucket: mini-files}}\n"
        "services: {app: {image: devstack-test/busybox:1, uses: [files]}}\n"
    )
    services = exported(tmp_path / "devstack.yaml")["services"]
    assert services["localstack"]["image"] == "localstack/localstack:4.14"
    assert services["app"]["environment"]["AWS_ENDPOINT_URL_S3"] == "http://localstack:4566"
    assert services["app"]["depends_on"] == {
        "localstack": {"condition": "service_healthy"},
        "localstack-provision": {"condition": "service_completed_successfully"},
    }


def test_host_processes_are_left_out_and_listed() -> None:
    document = exported(FULL)
    assert "host" not in document["services"]
    assert document["x-devstack"]["skipped"] == {"host": "a host process (no image or build)"}
    hello = exported(REPO / "stacks/hello/devstack.yaml")
    assert hello["services"] == {}
    assert set(hello["x-devstack"]["skipped"]) == {"greeter", "front"}


def test_no_provider_container_without_a_consumer_in_the_file() -> None:
    # The shop's services are host processes: a LocalStack nobody in the file uses is noise.
    assert exported(REPO / "stacks/shop/devstack.yaml")["services"] == {}


def test_an_environment_image_replaces_the_build() -> None:
    services = exported(FULL, "staging")["services"]
    assert services["web"]["image"] == "registry.example/full-web:1.4"
    assert "build" not in services["web"]


def test_resolved_text_is_escaped_so_compose_does_not_interpolate_it() -> None:
    services = exported(FULL)["services"]
    assert services["web"]["environment"]["PRICE"] == "$$5"  # the value is "$5"
    assert services["worker"]["command"][-1] == "print('$$$$HOME')"  # devstack passes $$HOME


def test_secret_values_are_references_never_values() -> None:
    text = render(view_of(FULL), FULL.parent) + render(view_of(FULL, "staging"), FULL.parent)
    for value in ("signing-value", "env-file-pw", "pg-secret-pw", "build-token-value"):
        assert value not in text
    env = yaml.safe_load(text.split("\n# Generated", 1)[0])["services"]["web"]["environment"]
    assert env["SIGNING"] == "${SIGNING:?set the secret SIGNING in the shell or .env}"
    assert env["DB_PASSWORD"].startswith("${DB_PASSWORD:?")


def test_the_header_and_extension_name_the_secrets_to_set_and_their_sources() -> None:
    text = render(view_of(FULL), FULL.parent)
    assert text.splitlines()[1].endswith(
        "DB_PASSWORD, KEYS_FULL_STAGING, NPM_TOKEN, POSTGRES_PASSWORD, SIGNING, VAULT_DB_PASSWORD."
    )
    secrets = yaml.safe_load(text)["x-devstack"]["secrets"]
    assert secrets["DB_PASSWORD"] == ".env:1 (environments.dev)"
    assert secrets["NPM_TOKEN"] == "services.web.build.args"


def test_a_secret_from_different_places_gets_one_name_per_place() -> None:
    view = view_of(FULL, "staging")
    refs = secret_references(view)
    # api and worker read SIGNING from the store; web sets its own in its env.
    assert refs[("api", "SIGNING")] == "SIGNING"
    assert refs[("worker", "SIGNING")] == "SIGNING"
    assert refs[("web", "SIGNING")] == "WEB_SIGNING"


def test_stored_secrets_are_references_in_compose_too() -> None:
    env = exported(FULL, "staging")["services"]["api"]["environment"]
    assert env["API_KEY"] == "${API_KEY:?set the secret API_KEY in the shell or .env}"


def test_paths_are_relative_to_the_folder_the_file_is_written_to(tmp_path: Path) -> None:
    document = compose_document(view_of(FULL), tmp_path)
    web = document["services"]["web"]
    context = (tmp_path / web["build"]["context"]).resolve()
    assert context == (FULL.parent / "web").resolve()
    bind = web["volumes"][1].split(":")[0]
    assert bind.startswith("../") and (tmp_path / bind).resolve() == FULL.parent / "config"


def test_declared_aws_resources_are_created_by_a_one_shot_service() -> None:
    services = exported(FULL)["services"]
    provision = services["ls-provision"]
    assert provision["image"] == services["ls"]["image"]  # LocalStack's has boto3
    assert provision["depends_on"] == {"ls": {"condition": "service_healthy"}}
    assert provision["restart"] == "no"
    env = provision["environment"]
    assert env["DEVSTACK_ENDPOINT"] == "http://ls:4566"
    listed = json.loads(env["DEVSTACK_RESOURCES"].replace("$$", "$"))
    assert [r["kind"] for r in listed] == ["s3", "sqs", "ssm", "ssm", "secretsmanager"]
    assert listed[0] == {"kind": "s3", "bucket": "full-files", "versioning": False}
    vault = next(r for r in listed if r.get("backing") == "vault")
    # A SecureString's value is a secret: the program reads it from its environment.
    assert vault["parameters"] == [
        {"name": "/full/staging/DB_PASSWORD", "value": {"$env": "VAULT_DB_PASSWORD"},
         "type": "SecureString"},
    ]  # fmt: skip
    assert env["VAULT_DB_PASSWORD"].startswith("${VAULT_DB_PASSWORD:?")
    assert "staging-db-pw" not in json.dumps(provision)
    assert "staging-api-key" not in json.dumps(provision)


def test_the_provisioning_program_is_valid_python() -> None:
    from devstack.export.provision import PROGRAM

    compile(PROGRAM, "provision", "exec")


def test_a_secret_declared_in_a_lower_layer_stays_a_reference() -> None:
    view = view_of(FULL)
    web = view.services["web"]
    # A stand-in for a variable that the store gives (source layer "secret").
    stored = EnvVar("TOKEN", "stored-value", Source("secret", detail="ssm:/x/TOKEN"), True)
    view.services["web"] = type(web)(**{**web.__dict__, "desired": _with_env(web.desired, stored)})
    text = render(view, FULL.parent)
    assert "stored-value" not in text
    assert "TOKEN: ${TOKEN:?" in text


def _with_env(desired: Any, var: EnvVar) -> Any:
    from dataclasses import replace

    return replace(desired, env=(*desired.env, var))
