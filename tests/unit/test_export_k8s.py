"""`devstack export k8s`: every object checked against the official Kubernetes schemas.

The schemas are the ones kubernetes-validate ships (offline), in strict mode (an unknown
field is an error, as `kubectl apply --validate=strict` makes it): the newest Kubernetes
minor version it has and the one before.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner
from kubernetes_validate.utils import all_versions, major_minor

from devstack.cli.main import cli
from devstack.config.loader import load_stack
from devstack.export.k8s import K8sExport, K8sOptions, k8s_export
from devstack.export.k8s_files import stream
from devstack.export.view import export_view

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
FULL = DATA / "export" / "full" / "devstack.yaml"
MINORS = sorted(
    {major_minor(v) for v in all_versions()}, key=lambda v: tuple(map(int, v.split(".")))
)
VERSIONS = MINORS[-2:]  # the newest minor version and the one before
EXAMPLES = sorted(
    str(p.relative_to(REPO))
    for p in [
        *REPO.glob("stacks/*/devstack.yaml"),
        *REPO.glob("stacks/*/docker/devstack.yaml"),
        FULL,
        DATA / "export" / "compose-keys" / "devstack.yaml",  # compose's keys: left out, no crash
    ]
)
COMPOSE_FIXTURES = sorted(
    p.name for p in (DATA / "compose").iterdir() if (p / "compose.yaml").exists()
)


def environments(manifest: Path) -> list[str]:
    return list(load_stack(manifest).stack.environments) or ["dev"]


def export(
    manifest: Path, environment: str = "dev", *, include_secrets: bool = False
) -> tuple[K8sExport, str]:
    loaded = load_stack(manifest)
    view = export_view(loaded, environment, {}, "k8s")
    result = k8s_export(view, K8sOptions(loaded.stack.name, include_secrets))
    return result, stream(view, result)


def schema_errors(objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    for obj in objects:
        for version in VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(map(str, exc.path))
                problems.append(
                    f"{version} {obj['kind']}/{obj['metadata']['name']} {path}: {exc.message}"
                )
    return problems


def by_kind(result: K8sExport, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in result.objects() if o["kind"] == kind}


def container(result: K8sExport, name: str) -> dict[str, Any]:
    box = by_kind(result, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
    assert isinstance(box, dict)
    return box


def test_two_kubernetes_versions_are_checked() -> None:
    assert len(VERSIONS) == 2 and VERSIONS[0] != VERSIONS[1]


def test_the_schema_check_catches_an_invalid_object() -> None:
    # Guards the guard: a check that accepted anything would pass every test below.
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
           "spec": {"replicas": "two", "selector": {}, "template": {}}}  # fmt: skip
    assert schema_errors([bad])
    unknown = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "colour": 1}
    assert schema_errors([unknown])


@pytest.mark.parametrize(
    ("manifest", "environment"),
    [(m, e) for m in EXAMPLES for e in environments(REPO / m)],
)
def test_exports_of_the_example_stacks_validate(manifest: str, environment: str) -> None:
    result, text = export(REPO / manifest, environment)
    objects = list(yaml.safe_load_all(text))
    assert objects == result.objects()  # the stream is what was checked
    assert schema_errors(objects) == []
    # With values asked for, the Secrets come in too: the same objects, plus those.
    with_values, _ = export(REPO / manifest, environment, include_secrets=True)
    added = [o for o in with_values.objects() if o not in objects]
    assert {o["kind"] for o in added} <= {"Secret"}
    assert schema_errors(added) == []
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "Deployment"} <= kinds
    assert all(
        o["metadata"].get("namespace", o["metadata"]["name"]) == result.namespace for o in objects
    )
    # Every object is found again by its stack's label (`kubectl get all,cm -l ...`).
    stack = load_stack(REPO / manifest).stack.name
    assert all(o["metadata"]["labels"]["app.kubernetes.io/part-of"] == stack for o in objects)


@pytest.mark.parametrize("fixture", COMPOSE_FIXTURES)
def test_imported_compose_projects_export_and_validate(fixture: str, tmp_path: Path) -> None:
    # The round trip a user makes: `import compose`, then `export k8s -o DIR`, then apply.
    shutil.copytree(DATA / "compose" / fixture, tmp_path / fixture)
    compose = tmp_path / fixture / "compose.yaml"
    runner = CliRunner()
    imported = runner.invoke(cli, ["import", "compose", str(compose)])
    assert imported.exit_code == 0, imported.output
    manifest = compose.parent / "devstack.yaml"
    for environment in environments(manifest):
        out = tmp_path / f"k8s-{environment}"
        args = ["-f", str(manifest), "export", "k8s", "--env", environment, "-o", str(out)]
        exported = runner.invoke(cli, args)
        assert exported.exit_code == 0, exported.output
        listed = yaml.safe_load((out / "kustomization.yaml").read_text())["resources"]
        objects = [o for name in listed for o in yaml.safe_load_all((out / name).read_text())]
        assert schema_errors(objects) == []
        assert any(o["kind"] == "Deployment" for o in objects)


def test_external_secrets_and_included_secrets_validate_too() -> None:
    result, _ = export(FULL, "staging", include_secrets=True)
    assert schema_errors(result.objects()) == []
    assert by_kind(result, "Secret")
    assert result.external  # a custom resource: shaped by hand, checked below


def test_deployment_carries_replicas_command_ports_and_probes() -> None:
    result, _ = export(FULL)
    api = by_kind(result, "Deployment")["api"]
    assert api["spec"]["replicas"] == 2
    box = container(result, "api")
    assert box["image"] == "devstack-test/busybox:1"
    assert box["args"] == ["httpd", "-f", "-p", "9000"]
    assert box["ports"] == [{"name": "tcp-9000", "containerPort": 9000, "protocol": "TCP"}]
    assert box["readinessProbe"]["tcpSocket"] == {"port": 9000}
    web = container(result, "web")
    assert web["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert web["readinessProbe"]["failureThreshold"] == 30
    # Until its first success, every second for start_period (1m30s) + 30 retries x 1s.
    assert web["startupProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert (web["startupProbe"]["periodSeconds"], web["startupProbe"]["failureThreshold"]) == (
        1,
        120,
    )
    assert web["livenessProbe"] == web["readinessProbe"]
    worker = container(result, "worker")
    assert worker["readinessProbe"]["exec"] == {"command": ["sh", "-c", "test -e /tmp/ready"]}
    # Kubernetes expands $(NAME) in args: a literal `$` is doubled (devstack passes $$HOME).
    assert worker["args"] == ["python3", "-c", "print('$$$$HOME')"]
    service = by_kind(result, "Service")["api"]
    assert service["spec"]["ports"][0]["port"] == 9000
    assert "worker" not in by_kind(result, "Service")  # no ports, no Service


def test_plain_variables_go_in_a_config_map_and_urls_name_the_services() -> None:
    result, _ = export(FULL)
    data = by_kind(result, "ConfigMap")["web-env"]["data"]
    assert data["LOG_LEVEL"] == "debug"
    assert data["API_URL"] == "http://api:9000"  # the Service of the same name
    assert data["HOST_URL"] == "http://host:8500"  # the host process, now in the namespace
    assert container(result, "web")["envFrom"] == [{"configMapRef": {"name": "web-env"}}]


def test_secret_values_are_absent_by_default() -> None:
    result, text = export(FULL)
    assert "signing-value" not in text and "pg-secret-pw" not in text
    assert "Secret" not in {o["kind"] for o in result.objects()}
    env = {e["name"]: e for e in container(result, "web").get("env", [])}
    assert env["SIGNING"]["valueFrom"]["secretKeyRef"] == {"name": "web-secrets", "key": "SIGNING"}
    assert "SIGNING" in result.to_create["web-secrets"]
    assert "SIGNING" not in by_kind(result, "ConfigMap")["web-env"]["data"]


def test_include_secrets_writes_them_in_secrets() -> None:
    result, text = export(FULL, include_secrets=True)
    secrets = by_kind(result, "Secret")
    assert secrets["web-secrets"]["stringData"]["SIGNING"] == "signing-value"
    assert "signing-value" in text
    assert result.to_create == {}
    assert "secrets.yaml" in result.files


def test_store_secrets_become_external_secret_references() -> None:
    result, _ = export(FULL, "staging", include_secrets=True)
    external = {o["metadata"]["name"]: o for o in result.external}
    ssm = external["web-ssm"]["spec"]
    assert ssm["secretStoreRef"] == {"kind": "SecretStore", "name": "full-ssm"}
    assert {"secretKey": "DB_PASSWORD", "remoteRef": {"key": "/full/staging/DB_PASSWORD"}} in ssm[
        "data"
    ]
    keys = external["web-secretsmanager"]["spec"]["data"]
    assert {
        "secretKey": "API_KEY",
        "remoteRef": {"key": "full/staging", "property": "API_KEY"},
    } in keys
    env = {e["name"]: e for e in container(result, "web")["env"]}
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "web-ssm"
    # The store's values are never read for an export, even with values asked for (the
    # manifest's own copy, for the emulator's provisioning Job, is in that Job's Secret).
    assert "staging-db-pw" not in yaml.safe_dump(result.external)
    assert (
        "staging-db-pw"
        not in by_kind(result, "Secret").get("web-secrets", {}).get("stringData", {}).values()
    )
    _, plain = export(FULL, "staging")
    assert "staging-db-pw" not in plain and "staging-api-key" not in plain


def test_backing_services_follow_the_environment() -> None:
    dev, _ = export(FULL, "dev")
    staging, _ = export(FULL, "staging")
    # dev: the emulator runs in the namespace, and a Job creates the declared resources.
    assert "ls" in by_kind(dev, "Deployment")
    assert by_kind(dev, "ConfigMap")["web-env"]["data"]["AWS_ENDPOINT_URL_S3"] == "http://ls:4566"
    job = by_kind(dev, "Job")["ls-provision"]["spec"]["template"]["spec"]
    assert job["restartPolicy"] == "OnFailure"
    assert job["containers"][0]["command"][:2] == ["python3", "-c"]
    # staging: files live on real AWS, reached at its endpoints (no endpoint variable).
    data = by_kind(staging, "ConfigMap")["web-env"]["data"]
    assert "AWS_ENDPOINT_URL_S3" not in data and data["FILES_BUCKET"] == "full-files"
    assert "AWS_PROFILE" not in data
    assert any("AWS_PROFILE" in note for note in staging.notes)


def test_host_processes_get_a_placeholder_image_and_a_note() -> None:
    result, _ = export(REPO / "stacks" / "shop" / "devstack.yaml")
    assert container(result, "api")["image"] == "shop/api:latest"
    assert container(result, "api")["args"] == ["python3", "services/api/api.py"]
    assert "shop/api:latest" in result.images
    assert any(
        n.startswith("host processes, exported as containers") and "api" in n for n in result.notes
    )


def test_what_has_no_kubernetes_equivalent_is_noted() -> None:
    result, _ = export(FULL)
    text = "\n".join(result.notes)
    assert "published host ports" in text and "web 18081:8081" in text
    assert "bind mounts not exported" in text and "web /etc/web" in text
    assert "depends_on has no Kubernetes equivalent" in text
    assert "restart becomes `always`" in text and "api (no)" in text
    # The bind mount is left out of the pod, the named volume is a claim.
    mounts = container(result, "web")["volumeMounts"]
    assert mounts == [{"name": "data", "mountPath": "/var/lib/web"}]
    assert "data" in by_kind(result, "PersistentVolumeClaim")
