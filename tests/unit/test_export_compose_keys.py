"""`export compose` writes compose's container keys back in compose's shapes.

The pinned schema (docker-compose 1.29.2, tests/data/compose-spec.json) predates a few keys
the compose specification has since gained; `current_schema()` adds exactly those, as the
specification defines them, and every other key is checked as before.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from devstack.config.loader import load_stack
from devstack.export.compose import render
from devstack.export.view import export_view

DATA = Path(__file__).resolve().parents[1] / "data"
KEYS = DATA / "export" / "compose-keys" / "devstack.yaml"


def current_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((DATA / "compose-spec.json").read_text())
    d = schema["definitions"]
    hook = {
        "type": "object",
        "properties": {
            "command": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "user": {"type": "string"},
            "privileged": {"type": "boolean"},
            "working_dir": {"type": "string"},
            "environment": {"$ref": "#/definitions/list_or_dict"},
        },
        "required": ["command"],
        "additionalProperties": False,
    }  # fmt: skip
    service = d["service"]["properties"]
    service["post_start"] = {"type": "array", "items": hook}
    service["pre_stop"] = {"type": "array", "items": hook}
    long_volume = service["volumes"]["items"]["oneOf"][1]["properties"]
    long_volume["volume"]["properties"]["subpath"] = {"type": "string"}
    long_volume["bind"]["properties"]["create_host_path"] = {"type": "boolean"}
    long_volume["tmpfs"]["properties"]["size"] = {
        "oneOf": [{"type": "integer"}, {"type": "string"}]
    }
    service["use_api_socket"] = {"type": "boolean"}
    watch = {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "action": {"enum": ["rebuild", "sync", "restart", "sync+restart", "sync+exec"]},
            "target": {"type": "string"},
            "ignore": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["path", "action"],
        "additionalProperties": False,
    }
    service["develop"] = {
        "type": "object",
        "properties": {"watch": {"type": "array", "items": watch}},
    }
    build = service["build"]["oneOf"][1]["properties"]
    build["additional_contexts"] = {"$ref": "#/definitions/list_or_dict"}
    service["gpus"] = {"oneOf": [{"enum": ["all"]}, {"$ref": "#/definitions/devices"}]}
    d["secret"]["properties"]["environment"] = {"type": "string"}
    d["config"]["properties"]["environment"] = {"type": "string"}
    d["config"]["properties"]["content"] = {"type": "string"}
    return schema


def schema_errors(document: Any) -> list[str]:
    validator = jsonschema.Draft201909Validator(current_schema())
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]


def exported(base: Path | None = None) -> tuple[dict[str, Any], str]:
    view = export_view(load_stack(KEYS), "dev", {}, "compose")
    text = render(view, base or KEYS.parent)
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document, text


def test_the_added_keys_are_only_the_newer_specifications() -> None:
    # Guards the overlay: the pinned schema refuses these, the current one takes them.
    old = json.loads((DATA / "compose-spec.json").read_text())
    hooked = {"services": {"a": {"image": "x", "post_start": [{"command": "true"}]}}}
    assert list(jsonschema.Draft201909Validator(old).iter_errors(hooked))
    assert not schema_errors(hooked)
    assert schema_errors({"services": {"a": {"image": "x", "post_start": [{"user": "root"}]}}})


def test_every_key_is_exported_and_the_file_is_valid_compose() -> None:
    document, text = exported()
    assert schema_errors(document) == []
    main = document["services"]["main"]
    assert main["entrypoint"] == ["/bin/sh", "-c"]
    assert (main["user"], main["working_dir"], main["shm_size"]) == ("1000:1000", "/srv", "64m")
    assert (main["cap_add"], main["cap_drop"]) == (["NET_ADMIN"], ["MKNOD"])
    assert main["ulimits"] == {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512}
    assert main["tmpfs"] == ["/scratch"]
    assert main["extra_hosts"] == ["host.docker.internal:host-gateway", "somehost:10.1.2.3"]
    assert main["ports"] == [
        "127.0.0.1:8000:9000",
        "127.0.0.1:8001:9001",
        "127.0.0.1::7000",
        "127.0.0.1::7001",
    ]
    assert main["volumes"] == [
        "data:/data",
        "/anonymous",
        {"type": "volume", "source": "data", "target": "/part", "read_only": True,
         "volume": {"subpath": "part"}},
        {"type": "bind", "source": "./conf", "target": "/conf",
         "bind": {"create_host_path": False}},
        {"type": "tmpfs", "target": "/fast", "tmpfs": {"size": 1048576}},
    ]  # fmt: skip
    assert main["secrets"] == [
        "db_password",
        {"source": "api_token", "target": "token", "uid": "1000", "mode": 0o400},
    ]
    assert main["configs"] == ["motd", {"source": "app_conf", "target": "/etc/app.conf"}]
    assert main["healthcheck"]["test"] == ["CMD-SHELL", "test -f /tmp/ready"]
    assert main["post_start"] == [{"command": "touch /tmp/started", "user": "root"}]
    assert main["pre_stop"] == [{"command": ["sh", "-c", "echo bye"], "environment": {"A": "1"}}]
    assert document["secrets"] == {
        "db_password": {"file": "./db_password.txt"},
        "api_token": {"environment": "API_TOKEN"},
    }
    assert document["configs"] == {
        "motd": {"content": "welcome, $$USER"},
        "app_conf": {"file": "./app.conf"},
    }
    assert "tok-never-exported" not in text


def test_a_shared_network_and_a_disabled_check_are_exported_as_compose_says() -> None:
    document, _ = exported()
    sidecar = document["services"]["sidecar"]
    assert sidecar["network_mode"] == "service:main"
    assert "extra_hosts" not in sidecar and "ports" not in sidecar
    assert sidecar["healthcheck"] == {"disable": True}
    assert sidecar["depends_on"] == {"main": {"condition": "service_started"}}


def test_paths_are_relative_to_the_compose_files_folder(tmp_path: Path) -> None:
    document, _ = exported(tmp_path)
    bind = copy.deepcopy(document["services"]["main"]["volumes"][3])
    assert (tmp_path / bind["source"]).resolve() == (KEYS.parent / "conf").resolve()
    secret = document["secrets"]["db_password"]["file"]
    assert (tmp_path / secret).resolve() == (KEYS.parent / "db_password.txt").resolve()


def test_a_release_records_a_mounted_secret_by_digest_and_reads_it_again(tmp_path: Path) -> None:
    from devstack.config.resolve import resolve
    from devstack.release.record import ReleaseError, freeze, thaw

    state = resolve(load_stack(KEYS), "dev", {})
    frozen = json.loads(json.dumps(freeze(state)))
    assert "tok-never-exported" not in json.dumps(frozen)
    assert thaw(frozen, state).services["main"].spec == state.services["main"].spec
    rotated = tmp_path / "keys"
    shutil.copytree(KEYS.parent, rotated)
    manifest = rotated / "devstack.yaml"
    manifest.write_text(manifest.read_text().replace("tok-never-exported", "tok-rotated"))
    with pytest.raises(ReleaseError, match="changed since this release"):
        thaw(frozen, resolve(load_stack(manifest), "dev", {}))
