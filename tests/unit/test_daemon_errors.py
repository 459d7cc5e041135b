"""The daemon API's error contract, route by route: the real FastAPI app (create_app) over
a daemon whose every attribute fails, called through every operation of its OpenAPI.

The CLI's side of the contract (`error: ... (details: .devstack/daemon.log)`, exit 1) is
checked against a real daemon in tests/integration/test_first_contact.py.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from devstack.daemon.server import create_app
from devstack.model.names import UnknownName

LOG = Path("/stack/.devstack/daemon.log")
# A valid body for the operations that need one; every other POST gets `{}`.
BODIES: dict[str, dict[str, Any]] = {
    "/v1/swap": {"backing": "uploads", "provider": "moto"},
    "/v1/services/{name}/scale": {"replicas": 2},
}
NEEDS_NO_DAEMON = {("GET", "/v1/health")}  # answers the daemon's pid, asks it nothing


class Failing:
    """A daemon whose every attribute raises what `error` makes of the attribute's name."""

    def __init__(self, error: Any) -> None:
        self._error = error

    def __getattr__(self, name: str) -> Any:
        raise self._error(name)


class Client:
    """HTTP to the app in process (httpx's ASGI transport), one request at a time."""

    def __init__(self, daemon: object) -> None:
        self.app = create_app(daemon, threading.Event(), log=LOG)  # type: ignore[arg-type]

    def request(self, method: str, url: str, json: Any = None) -> httpx.Response:
        async def send() -> httpx.Response:
            # Starlette re-raises after the handler answered (so that servers can log it);
            # the test wants the answer, as a client of the real server gets it.
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://d") as client:
                return await client.request(method, url, json=json)

        return asyncio.run(send())

    def get(self, url: str) -> httpx.Response:
        return self.request("GET", url)

    def post(self, url: str, json: Any) -> httpx.Response:
        return self.request("POST", url, json)


def client_over(daemon: object) -> Client:
    return Client(daemon)


def operations(client: Client) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def call(client: Client, method: str, path: str) -> httpx.Response:
    url = path.replace("{name}", "web")
    body = BODIES.get(path, {}) if method == "POST" else None
    return client.request(method, url, json=body)


def test_every_route_answers_an_unexpected_error_with_one_line_and_the_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = client_over(Failing(lambda name: RuntimeError(f"injected fault: {name}")))
    ops = operations(client)
    # Every route the app serves is in the OpenAPI description, hence called below.
    routes = {(m, r.path) for r in client.app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert set(ops) == routes and len(ops) >= 14

    for method, path in ops:
        response = call(client, method, path)
        if (method, path) in NEEDS_NO_DAEMON:
            assert response.status_code == 200
            continue
        where = f"{method} {path.replace('{name}', 'web')}"
        assert response.status_code == 500, where
        body = response.json()
        assert set(body) == {"error", "problems", "log"}, where
        assert body["error"].startswith(f"the daemon failed on {where}: RuntimeError: "), body
        assert "\n" not in body["error"]
        assert body["log"] == str(LOG)
        logged = capsys.readouterr().err
        assert f"unexpected error on {where}" in logged
        assert "Traceback (most recent call last)" in logged and "injected fault" in logged


def test_a_key_error_is_a_bug_not_a_404() -> None:
    client = client_over(Failing(KeyError))

    response = client.post("/v1/services/web/restart", json={})

    assert response.status_code == 500
    assert response.json()["error"].startswith("the daemon failed on POST /v1/services/web/")


def test_an_unknown_name_is_a_404_that_suggests_the_close_one() -> None:
    client = client_over(Failing(lambda _: UnknownName("service", "wbe", ["web", "jobs"])))

    response = client.post("/v1/services/wbe/restart", json={})

    assert response.status_code == 404
    assert response.json() == {
        "error": "unknown service 'wbe' (did you mean 'web'?)",
        "problems": [],
    }


def test_a_long_message_is_cut_to_one_short_line() -> None:
    client = client_over(Failing(lambda _: RuntimeError("x" * 5000 + "\nsecond line")))

    error = client.get("/v1/status").json()["error"]

    assert len(error) < 400 and error.endswith("...") and "second line" not in error
