"""The fake client's hand-written payloads are what a real daemon would send.

The TUI's fast tests (reconnect, errors, snapshots) run against tui_fakes.FakeClient: each
payload it returns is validated here against the response schema a real daemon publishes
at `/openapi.json`, strictly (no field the daemon does not declare), so a renamed or new
field in the API fails here instead of leaving the fake tests green on stale data.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from tui_fakes import BACKING, LINES, STATUS, FakeClient

from devstack.api.models import LogLineModel
from helpers import Stack, _UnixHTTPConnection, service

JSON = dict[str, Any]


def strict(schema: Any) -> Any:
    """The schema with every object closed: a field the daemon does not declare fails."""
    if isinstance(schema, dict):
        closed = {key: strict(value) for key, value in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def openapi() -> Iterator[JSON]:
    """The OpenAPI document of a real daemon (one trivial service), fetched over its socket."""
    # A short folder: the control socket's path must fit in sun_path.
    stack = Stack(Path(tempfile.mkdtemp(prefix="ds-contract-")))
    try:
        stack.write({"web": service("web", health=False)})
        stack.up()
        conn = _UnixHTTPConnection(str(stack.socket))
        try:
            conn.request("GET", "/openapi.json")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 200, body[:300]
        yield json.loads(body)
    finally:
        stack.cleanup()
        shutil.rmtree(stack.root, ignore_errors=True)


def validator(openapi: JSON, method: str, path: str) -> Draft202012Validator:
    """A validator for the 200 answer of `method path`, with the document's components."""
    schema = openapi["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    schema = schema["schema"]
    assert schema, f"{method.upper()} {path} declares no response schema"
    document = strict({**schema, "components": openapi["components"]})
    return Draft202012Validator(document)


def problems(check: Draft202012Validator, payload: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in check.iter_errors(payload)
    ]


def test_the_fakes_status_and_backing_match_the_daemons_schemas(openapi: JSON) -> None:
    status = validator(openapi, "get", "/v1/status")
    assert problems(status, STATUS) == []
    backing = validator(openapi, "get", "/v1/backing")
    assert problems(backing, BACKING) == []


def test_the_fakes_event_stream_matches_the_daemons_schemas(openapi: JSON) -> None:
    # /v1/events is NDJSON (no schema of its own): its status and backing events carry
    # the /v1/status and /v1/backing answers, its log events the lines of /v1/logs.
    status = validator(openapi, "get", "/v1/status")
    backing = validator(openapi, "get", "/v1/backing")
    line = Draft202012Validator(strict(LogLineModel.model_json_schema()))
    fake = FakeClient()
    events = fake.events()
    seen = [next(events) for _ in range(2 + len(LINES))]
    fake.close()
    assert [e["type"] for e in seen[:2]] == ["status", "backing"]
    assert problems(status, seen[0]["status"]) == []
    assert problems(backing, seen[1]["backing"]) == []
    for event in seen[2:]:
        assert set(event) == {"type", "line"}, event
        assert problems(line, event["line"]) == [], event


def test_the_fakes_answers_to_calls_match_the_daemons_schemas(openapi: JSON) -> None:
    fake = FakeClient()
    answers: list[tuple[str, str, Any]] = [
        ("get", "/v1/config/{name}", fake.config("api")),
        ("get", "/v1/config/{name}", fake.config("api", show_secrets=True)),
        ("post", "/v1/services/{name}/restart", fake.action("api", "restart")),
        ("post", "/v1/services/{name}/scale", fake.scale("api", 3)),
        ("post", "/v1/swap", fake.swap(dry_run=True)),
        ("post", "/v1/swap", fake.swap(dry_run=False)),
        ("post", "/v1/up", fake.up(dry_run=True)),
        ("get", "/v1/data/snapshots", fake.snapshots()),
        ("post", "/v1/data/snapshots", fake.snapshot(name="s1", backings=["uploads"])),
        ("post", "/v1/data/snapshots/{name}/restore", fake.restore("s1", dry_run=True)),
        ("post", "/v1/data/snapshots/{name}/restore", fake.restore("s1")),
    ]
    found = [
        f"{method.upper()} {path}: {problem}"
        for method, path, answer in answers
        for problem in problems(validator(openapi, method, path), copy.deepcopy(answer))
    ]
    assert found == []


def test_the_strict_check_catches_a_stale_field(openapi: JSON) -> None:
    # The control: a payload the daemon would no longer send is caught.
    status = validator(openapi, "get", "/v1/status")
    stale = copy.deepcopy(STATUS)
    stale["services"][0]["uptime"] = 12
    del stale["services"][1]["state"]
    found = problems(status, stale)
    assert any("uptime" in p for p in found), found
    assert any("'state' is a required property" in p for p in found), found
