"""The daemon API client used by the CLI (and the TUI): HTTP over the stack's Unix socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from devstack.api.models import (
    ActionResponse,
    LogLineModel,
    PlanResponse,
    StackStatus,
    UpRequest,
)


class DaemonNotRunning(Exception):
    """No daemon answers on the stack's socket."""


class ApiError(Exception):
    def __init__(self, status: int, error: str, problems: list[str]) -> None:
        super().__init__(error)
        self.status, self.error, self.problems = status, error, problems


class Client:
    def __init__(self, socket_path: Path, timeout: float = 30.0) -> None:
        self.socket_path = socket_path
        transport = httpx.HTTPTransport(uds=str(socket_path))
        self._http = httpx.Client(transport=transport, base_url="http://devstack", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        if not self.socket_path.exists():
            raise DaemonNotRunning(str(self.socket_path))
        try:
            if timeout is not None:
                kwargs["timeout"] = timeout
            response = self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, FileNotFoundError, ConnectionRefusedError) as exc:
            raise DaemonNotRunning(str(self.socket_path)) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": response.text}
            detail = body.get("error") or body.get("detail") or response.text
            raise ApiError(response.status_code, str(detail), list(body.get("problems", [])))
        return response.json()

    def ping(self) -> bool:
        try:
            self._call("GET", "/v1/health", timeout=2.0)
        except (DaemonNotRunning, httpx.HTTPError, ApiError):
            return False
        return True

    def status(self) -> StackStatus:
        return StackStatus.model_validate(self._call("GET", "/v1/status"))

    def up(self, request: UpRequest) -> PlanResponse:
        return PlanResponse.model_validate(self._call("POST", "/v1/up", json=request.model_dump()))

    def down(self) -> ActionResponse:
        return ActionResponse.model_validate(self._call("POST", "/v1/down", timeout=300.0))

    def action(self, name: str, verb: str) -> ActionResponse:
        data = self._call("POST", f"/v1/services/{name}/{verb}", timeout=300.0)
        return ActionResponse.model_validate(data)

    def logs(
        self,
        services: list[str] | None = None,
        since: float | None = None,
        tail: int | None = None,
        follow: bool = False,
    ) -> Iterator[LogLineModel]:
        params: dict[str, Any] = {"follow": follow}
        if services:
            params["service"] = services
        if since is not None:
            params["since"] = since
        if tail is not None:
            params["tail"] = tail
        if not self.socket_path.exists():
            raise DaemonNotRunning(str(self.socket_path))
        try:
            with self._http.stream("GET", "/v1/logs", params=params, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    body = response.json()
                    raise ApiError(response.status_code, str(body.get("error")), [])
                for raw in response.iter_lines():
                    if raw:
                        yield LogLineModel.model_validate(json.loads(raw))
        except httpx.ConnectError as exc:
            raise DaemonNotRunning(str(self.socket_path)) from exc
        except httpx.RemoteProtocolError:
            return  # the daemon went away (down): the stream simply ends
