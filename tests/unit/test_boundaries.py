"""Package boundaries, checked in a fresh interpreter (as kopf and harlequin do with contracts)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def loaded_after(imports: list[str], watched: list[str]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {imports!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


@pytest.mark.parametrize(
    "module",
    [
        "devstack.model.manifest",
        "devstack.model.desired",
        "devstack.config.loader",
        "devstack.config.resolve",
        "devstack.engine.reconcile",
        "devstack.engine.controller",
        "devstack.engine.executor",
    ],
)
def test_the_core_imports_no_runtime_or_ui_library(module: str) -> None:
    watched = ["subprocess", "docker", "textual", "watchdog", "fastapi", "uvicorn", "httpx"]
    assert loaded_after([module], watched) == []


def test_everyday_commands_load_no_model_or_server_code() -> None:
    """`status`, `logs`, `down` and a no-op `up` stay fast: no pydantic, no server."""
    watched = ["pydantic", "fastapi", "uvicorn", "yaml", "textual", "docker"]
    commands = ["devstack.cli.main", "devstack.cli.stack_cmds", "devstack.cli.up_cmd"]
    assert loaded_after(commands, watched) == []


def test_the_daemon_loads_the_docker_sdk_only_for_container_services() -> None:
    assert loaded_after(["devstack.daemon.service", "devstack.daemon.server"], ["docker"]) == []
