"""`devstack export k8s` as a user runs it: stdout or a folder, notes on stderr, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from devstack.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
FULL = REPO / "tests" / "data" / "export" / "full" / "devstack.yaml"
SHOP = REPO / "stacks" / "shop" / "devstack.yaml"


def run(manifest: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-f", str(manifest), "export", "k8s", *args])


def objects(text: str) -> list[dict[str, Any]]:
    return [o for o in yaml.safe_load_all(text) if o is not None]


def test_objects_go_to_stdout_and_notes_to_stderr() -> None:
    result = run(FULL)
    assert result.exit_code == 0, result.output
    kinds = {o["kind"] for o in objects(result.stdout)}
    assert {"Namespace", "ConfigMap", "Deployment", "Service", "Job"} <= kinds
    assert "note: published host ports are not exported" in result.stderr
    assert "note: bind mounts not exported" in result.stderr
    assert "create these Secrets in namespace full before" in result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("create these Secrets"))
    assert "web-secrets (" in line and "SIGNING" in line and "signing-value" not in line
    assert "note:" not in result.stdout  # the stream's header has them as comments
    assert result.stderr.count("note: backing files: provider ministack -> ls") == 1


def test_secret_values_only_with_include_secrets() -> None:
    plain = run(FULL)
    assert "signing-value" not in plain.stdout and "pg-secret-pw" not in plain.stdout
    assert "Secret" not in {o["kind"] for o in objects(plain.stdout)}
    assert "kubectl -n full create secret generic web-secrets" in plain.stdout
    included = run(FULL, "--include-secrets")
    secrets = {o["metadata"]["name"]: o for o in objects(included.stdout) if o["kind"] == "Secret"}
    assert secrets["web-secrets"]["stringData"]["SIGNING"] == "signing-value"
    assert "create these Secrets" not in included.stderr


def test_output_folder_is_laid_out_for_kubectl_apply_k(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    result = run(FULL, "--env", "staging", "-o", str(out), "--namespace", "full-staging")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"kubectl apply -k {out}" in result.stderr
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == "full-staging"
    listed = kustomization["resources"]
    assert listed[0] == "namespace.yaml" and "services/web.yaml" in listed
    for relative in listed:  # every listed file exists, and nothing else of ours is unlisted
        assert (out / relative).is_file(), relative
    written = {str(p.relative_to(out)) for p in out.rglob("*.yaml")}
    assert written == {*listed, "kustomization.yaml", "external-secrets.yaml"}
    external = list(yaml.safe_load_all((out / "external-secrets.yaml").read_text()))
    assert {o["kind"] for o in external} == {"ExternalSecret"}
    namespaced = [
        o for r in listed for o in objects((out / r).read_text()) if o["kind"] != "Namespace"
    ]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"full-staging"}
    assert {"name": "full/web", "newName": "full/web", "newTag": "latest"} not in kustomization.get(
        "images", []
    )  # staging names web's image: nothing to replace


def test_placeholder_images_are_listed_for_kustomize(tmp_path: Path) -> None:
    result = run(SHOP, "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "note: host processes, exported as containers of a placeholder image: api" in (
        result.stderr
    )
    images = yaml.safe_load((tmp_path / "kustomization.yaml").read_text())["images"]
    assert {"name": "shop/api", "newName": "shop/api", "newTag": "latest"} in images


def test_an_unknown_environment_is_one_clear_line(tmp_path: Path) -> None:
    # Through the real entry point: it turns an unknown name into one line and exit 2.
    result = subprocess.run(
        [sys.executable, "-m", "devstack.cli.main", "-f", str(FULL), "export", "k8s",
         "--env", "prod"],
        cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown environment 'prod' (known: dev, staging)"
    ]
    assert result.stdout == ""


def test_a_bad_namespace_is_one_clear_line() -> None:
    result = run(FULL, "--namespace", "Not_A_Namespace")
    assert result.exit_code == 2
    assert "is not a namespace name" in result.stderr
    assert result.stdout == ""


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine\n")
    result = run(FULL, "-o", str(taken))
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert taken.read_text() == "mine\n"
