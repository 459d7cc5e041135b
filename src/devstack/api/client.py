"""The daemon API client used by the CLI (and the TUI): HTTP over the stack's Unix socket.

Built on `wire.py`, a minimal HTTP/1.1 reader, on purpose: every CLI call pays the
client's import time, and `devstack status` / a no-op `up` should feel instant. Responses are
returned as plain JSON data shaped like the models in `devstack.api.models`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from devstack.api.wire import Connection, ProtocolError, Response

# Neither typing nor pathlib at run time: `devstack status` imports this module, and those
# two (with urllib.parse, which pathlib imports) were a fifth of its time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from os import PathLike
    from typing import Any

    JSON = dict[str, Any]
else:
    JSON = dict

DATA_TIMEOUT = 3660.0  # a snapshot or restore answers when done, as a carry does


class DaemonNotRunning(Exception):
    """No daemon answers on the stack's socket."""


__all__ = ["JSON", "ApiError", "Client", "DaemonNotRunning", "ProtocolError"]


class ApiError(Exception):
    """An error answer (see devstack.daemon.errors): `log` is set for an unexpected one."""

    def __init__(
        self, status: int, error: str, problems: list[str], log: str | None = None
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.problems, self.log = status, error, problems, log


class Client:
    def __init__(self, socket_path: str | PathLike[str], timeout: float = 30.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def close(self) -> None:
        """Nothing to release: each call uses its own connection."""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _open(
        self, method: str, path: str, body: JSON | None, timeout: float | None
    ) -> tuple[Connection, Response]:
        conn = Connection(self.socket_path, timeout)
        payload = json.dumps(body).encode() if body is not None else None
        try:
            response = conn.request(method, path, payload, "application/json")
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            conn.close()
            raise DaemonNotRunning(str(self.socket_path)) from exc
        except OSError:
            conn.close()
            raise
        if response.status >= 400:
            raw = response.read()
            conn.close()
            raise _api_error(response.status, raw)
        return conn, response

    def _call(
        self, method: str, path: str, body: JSON | None = None, timeout: float | None = None
    ) -> JSON:
        conn, response = self._open(method, path, body, timeout or self.timeout)
        try:
            data = json.loads(response.read() or b"{}")
        finally:
            conn.close()
        return data if isinstance(data, dict) else {"value": data}

    def ping(self) -> bool:
        try:
            self._call("GET", "/v1/health", timeout=2.0)
        except (DaemonNotRunning, ApiError, OSError):  # OSError covers ProtocolError
            return False
        return True

    def status(self) -> JSON:
        return self._call("GET", "/v1/status")

    def up(
        self,
        environment: str | None = None,
        remove_orphans: bool = False,
        dry_run: bool = False,
        build: bool = False,
        release: str | None = None,
        engine: JSON | None = None,
        profiles: list[str] | None = None,
    ) -> JSON:
        body = {
            "environment": environment,
            "remove_orphans": remove_orphans,
            "dry_run": dry_run,
            "build": build,
            "release": release,
            "engine": engine,
            "profiles": profiles,
        }
        # Long: `up` builds images before it answers, as compose does.
        return self._call("POST", "/v1/up", body, timeout=900.0)

    def down(self, volumes: bool = False) -> JSON:
        path = "/v1/down?volumes=true" if volumes else "/v1/down"
        return self._call("POST", path, {}, timeout=300.0)

    def swap(self, **request: object) -> JSON:
        """`backing`, `provider`, `undo`, `reset`, `dry_run`, `timeout` (see SwapRequest)."""
        wait = float(request.get("timeout", 120.0))  # type: ignore[arg-type]
        if request.get("carry") and not request.get("dry_run"):
            wait += 3600.0  # the data is copied before the answer: a large bucket takes long
        return self._call("POST", "/v1/swap", dict(request), timeout=wait + 60.0)

    def snapshots(self) -> list[JSON]:
        """The stack's snapshots (SnapshotInfo), oldest first."""
        data = self._call("GET", "/v1/data/snapshots")
        return list(data.get("value", []))

    def snapshot(self, **request: object) -> JSON:
        """`name`, `backings`, `include_secrets`, `include_messages` (see SnapshotRequest)."""
        # The daemon answers once the data is read: a large bucket takes long.
        return self._call("POST", "/v1/data/snapshots", dict(request), timeout=DATA_TIMEOUT)

    def restore(self, name: str, **request: object) -> JSON:
        """`backings`, `dry_run` (see RestoreRequest)."""
        from urllib.parse import quote

        path = f"/v1/data/snapshots/{quote(name, safe='')}/restore"
        return self._call("POST", path, dict(request), timeout=DATA_TIMEOUT)

    def backing(self) -> list[JSON]:
        data = self._call("GET", "/v1/backing")
        return list(data.get("value", []))

    def config(self, service: str, show_secrets: bool = False) -> JSON:
        query = "?show_secrets=true" if show_secrets else ""
        return self._call("GET", f"/v1/config/{service}{query}")

    def events(self, logs: bool = True, tail: int = 500) -> Iterator[JSON]:
        """The daemon's event stream (see /v1/events): snapshots, then live changes."""
        path = f"/v1/events?logs={'true' if logs else 'false'}&tail={tail}"
        return self._ndjson(path)

    def scale(self, service: str, replicas: int) -> JSON:
        return self._call("POST", f"/v1/services/{service}/scale", {"replicas": replicas})

    def action(self, name: str, verb: str) -> JSON:
        return self._call("POST", f"/v1/services/{name}/{verb}", {}, timeout=300.0)

    def logs(
        self,
        services: list[str] | None = None,
        since: float | None = None,
        tail: int | None = None,
        follow: bool = False,
    ) -> Iterator[JSON]:
        """Log lines as they come (NDJSON); with follow, until the daemon goes away."""
        params: list[tuple[str, str]] = [("follow", "true" if follow else "false")]
        params += [("service", name) for name in services or []]
        if since is not None:
            params.append(("since", repr(since)))
        if tail is not None:
            params.append(("tail", str(tail)))
        return self._ndjson(f"/v1/logs?{_query(params)}")

    def _ndjson(self, path: str) -> Iterator[JSON]:
        """One JSON object per line of a streamed answer, until the daemon ends it."""
        conn, response = self._open("GET", path, None, None)
        lines = response.lines()
        try:
            while True:
                try:
                    raw = next(lines)
                except (StopIteration, OSError):  # OSError: the daemon went away (down)
                    return
                if raw.strip():
                    yield json.loads(raw)
        finally:
            conn.close()


def _api_error(status: int, raw: bytes) -> ApiError:
    try:
        body = json.loads(raw)
    except ValueError:
        body = {"error": raw.decode(errors="replace")}
    detail = body.get("error") or body.get("detail") or f"HTTP {status}"
    if not isinstance(detail, str):
        detail = json.dumps(detail)
    log = body.get("log")
    return ApiError(
        status, detail, list(body.get("problems", [])), log if isinstance(log, str) else None
    )


def _query(params: list[tuple[str, str]]) -> str:
    """The query string; urllib.parse (7 ms to import) only for a value that needs quoting,
    which the usual `follow`, `since` and `tail` never do."""
    plain = (v.replace(".", "").replace("-", "").replace("_", "") for _, v in params)
    if all(value.isascii() and value.isalnum() for value in plain):
        return "&".join(f"{name}={value}" for name, value in params)
    from urllib.parse import urlencode

    return urlencode(params)
