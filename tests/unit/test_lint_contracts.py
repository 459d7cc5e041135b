"""DS113: what a service's code reads (or its image sets) that its contract leaves out."""

from __future__ import annotations

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


def put(relative: str, text: str) -> None:
    path = Path.cwd() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def ds113(manifest: str) -> list[Finding]:
    put("devstack.yaml", manifest)
    return [f for f in lint(load_stack(Path("devstack.yaml")), {}) if f.rule.id == "DS113"]


CODE = """\
    import os
    from os import environ, getenv

    url = os.environ["DATABASE_URL"]
    host = os.environ.get("HOST", "127.0.0.1")
    level = getenv("LOG_LEVEL")
    token = environ["API_TOKEN"]
    for name in ("COMPUTED",):
        os.environ[name]  # a computed name is not followed
    """


def test_reads_left_out_of_the_contract_are_located_in_the_code() -> None:
    put("api/app.py", CODE)
    found = ds113(
        "name: t\nservices:\n  api:\n    command: python3 api/app.py\n"
        "    needs: {DATABASE_URL: url}\n"
    )
    assert [(str(f.location), f.field, f.message) for f in found] == [
        ("api/app.py:5:8", "services.api.needs", "api reads HOST, which its contract (needs:) "
         "does not declare"),
        ("api/app.py:6:9", "services.api.needs", "api reads LOG_LEVEL, which its contract "
         "(needs:) does not declare"),
        ("api/app.py:7:9", "services.api.needs", "api reads API_TOKEN, which its contract "
         "(needs:) does not declare"),
    ]  # fmt: skip
    assert found[0].fix.startswith("declare it: `HOST: {type: str, optional: true}` under")
    assert found[1].fix.startswith("declare it: `LOG_LEVEL: str` under services.api.needs")


def test_a_service_without_a_contract_is_not_asked_for_one() -> None:
    put("api/app.py", CODE)
    assert ds113("name: t\nservices:\n  api:\n    command: python3 api/app.py\n") == []


def test_an_image_setting_config_is_reported_but_not_its_interpreter_settings() -> None:
    put(
        "api/Dockerfile",
        """\
        FROM python:3.11-slim
        ENV PYTHONUNBUFFERED=1 HOST=0.0.0.0 \\
            LC_ALL=C.UTF-8
        ENV MODE fast
        """,
    )
    found = ds113("name: t\nservices:\n  api:\n    build: ./api\n    needs: {PORT: port}\n")
    assert [(str(f.location), f.message.split(",")[0]) for f in found] == [
        ("api/Dockerfile:2:24", "api's image sets HOST (ENV)"),
        ("api/Dockerfile:4:5", "api's image sets MODE (ENV)"),
    ]


def test_code_that_does_not_parse_is_skipped() -> None:
    put("app.py", "def broken(:\n")
    assert (
        ds113("name: t\nservices:\n  api:\n    command: python3 app.py\n    needs: {A: str}\n")
        == []
    )
