"""Lint rules on the service folders: Dockerfile base images and dependency pinning."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from devstack.config.loader import load_stack
from devstack.lint.findings import Finding
from devstack.lint.runner import lint


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def put(relative: str, text: str) -> Path:
    path = Path.cwd() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def findings(manifest: str, host_env: dict[str, str] | None = None) -> list[Finding]:
    return lint(load_stack(put("devstack.yaml", manifest)), host_env or {})


def where(found: list[Finding]) -> list[tuple[str, str, str]]:
    return [(str(f.location), f.rule.id, f.field) for f in found]


BUILT = """\
    name: t
    services:
      api:
        build: ./api
    """


# --- DS105: Dockerfile base images ------------------------------------------------------


def test_an_untagged_base_image_is_located_in_the_dockerfile() -> None:
    put(
        "api/Dockerfile",
        """\
        # syntax=docker/dockerfile:1
        FROM golang:1.22 AS build
        RUN go build -o /app .

        FROM  debian
        COPY --from=build /app /app
        """,
    )
    found = findings(BUILT)
    assert where(found) == [("api/Dockerfile:5:7", "DS105", "services.api.build")]
    assert found[0].rule.severity == "error"
    assert "debian has no tag" in found[0].message
    assert "debian:" in found[0].fix


def test_build_args_and_arg_defaults_fill_the_base_image() -> None:
    put(
        "api/Dockerfile",
        """\
        ARG BASE=python:3.11-slim
        ARG RUNTIME=alpine
        FROM ${BASE}
        FROM --platform=linux/amd64 $RUNTIME
        """,
    )
    found = findings(BUILT)
    assert where(found) == [("api/Dockerfile:4:29", "DS105", "services.api.build")]
    assert "alpine ($RUNTIME) has no tag" in found[0].message

    found = findings(
        """\
        name: t
        services:
          api:
            build: {context: api, args: {BASE: "${PYTHON_IMAGE:-python:latest}", RUNTIME: "alpine:3.20"}}
        """,
        {"PYTHON_IMAGE": "devstack-test/python:1"},
    )
    assert found == []


def test_stages_and_scratch_are_not_images_to_pin() -> None:
    put(
        "api/Dockerfile.prod",
        """\
        FROM rust:1.80 AS builder
        FROM builder AS test
        FROM scratch
        """,
    )
    found = findings(
        """\
        name: t
        services:
          api: {build: {context: api, dockerfile: Dockerfile.prod}}
        """
    )
    assert found == []


# --- DS111: requirements files ------------------------------------------------------------


def test_each_unpinned_requirement_is_a_finding_on_its_line() -> None:
    put(
        "api/requirements.txt",
        """\
        # web
        --index-url https://mirror.example.invalid/simple
        flask==3.0.3
        requests>=2.31
        boto3==1.34.* ; python_version >= "3.11"
        gunicorn==22.0.0 \\
            --hash=sha256:0123
        mylib @ git+https://example.com/mylib@v1
        ./libs/shared
        -r requirements-base.txt
        """,
    )
    found = findings(BUILT)
    assert where(found) == [
        ("api/requirements.txt:4:1", "DS111", "services.api.build"),
        ("api/requirements.txt:5:1", "DS111", "services.api.build"),
    ]
    assert "'requests>=2.31' is not pinned" in found[0].message
    assert found[0].rule.factor == "II dependencies"
    assert found[0].rule.severity == "warning"


def test_a_host_process_folder_is_its_workdir() -> None:
    put("worker/requirements-dev.txt", "pytest\n")
    found = findings(
        """\
        name: t
        services:
          worker: {command: python3 worker.py, workdir: worker}
        """
    )
    assert where(found) == [("worker/requirements-dev.txt:1:1", "DS111", "services.worker.workdir")]


# --- DS112: manifests without a lock file -------------------------------------------------


PYPROJECT = """\
    [project]
    name = "api"
    version = "1"
    dependencies = ["flask>=3"]
    """


def test_a_pyproject_with_dependencies_needs_a_lock_file() -> None:
    put("api/pyproject.toml", PYPROJECT)
    found = findings(BUILT)
    assert where(found) == [("api/pyproject.toml:4:1", "DS112", "services.api.build")]
    assert "uv lock" in found[0].fix
    put("api/uv.lock", "version = 1\n")
    assert findings(BUILT) == []


def test_a_pyproject_without_dependencies_needs_no_lock_file() -> None:
    put("api/pyproject.toml", '[project]\nname = "api"\nversion = "1"\n')
    assert findings(BUILT) == []


def test_a_pipfile_needs_its_lock() -> None:
    put("api/Pipfile", "[packages]\nflask = '*'\n")
    found = findings(BUILT)
    assert where(found) == [("api/Pipfile:1:1", "DS112", "services.api.build")]
    put("api/Pipfile.lock", "{}")
    assert findings(BUILT) == []


def test_package_json_ranges_without_a_lock_file_are_located_at_the_first_range() -> None:
    put(
        "api/package.json",
        json.dumps(
            {
                "name": "api",
                "dependencies": {"left-pad": "1.3.0", "express": "^4.19.2"},
                "devDependencies": {"jest": "*", "local": "file:../local"},
            },
            indent=2,
        ),
    )
    found = findings(BUILT)
    assert where(found) == [("api/package.json:5:1", "DS112", "services.api.build")]
    assert "express ^4.19.2, jest *" in found[0].message
    put("api/package-lock.json", "{}")
    assert findings(BUILT) == []


def test_exact_package_versions_need_no_lock_file() -> None:
    put("api/package.json", json.dumps({"dependencies": {"express": "4.19.2"}}))
    assert findings(BUILT) == []


def test_unreadable_or_broken_files_do_not_stop_the_audit() -> None:
    put("api/package.json", "{not json")
    put("api/pyproject.toml", "[project\n")
    (Path.cwd() / "api" / "requirements.txt").write_bytes(b"\xff\xfe")
    put("api/Dockerfile", "FROM node\n")
    assert [f.rule.id for f in findings(BUILT)] == ["DS105"]


def test_a_pyproject_of_an_unexpected_shape_is_skipped() -> None:
    put("api/pyproject.toml", 'tool = 1\nproject = "x"\n')
    assert findings(BUILT) == []


def test_poetry_dependencies_count_too() -> None:
    put("api/pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.11"\nflask = "^3"\n')
    found = findings(BUILT)
    assert where(found) == [("api/pyproject.toml:1:1", "DS112", "services.api.build")]
