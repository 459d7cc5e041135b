"""A fake daemon client for the TUI's fast tests and its snapshots: fixed data, no daemon.

It has the methods of `devstack.api.client.Client` the app uses (`tui.api.ApiClient`),
records every call, and can be told to fail. Its event stream sends the status and
backing snapshots and the log backlog, then whatever a test `push`es, until `close()`.
"""

from __future__ import annotations

import collections
import copy
import threading
from collections.abc import Iterator
from typing import Any

from devstack.api.client import ApiError

JSON = dict[str, Any]
NOW = 1_800_000_000.0  # the fixed clock of snapshot tests


def svc(name: str, state: str = "running", **extra: Any) -> JSON:
    entry: JSON = {
        "name": name,
        "runtime": "process",
        "state": state,
        "health": "healthy" if state == "running" else "none",
        "restarts": 0,
        "pid": 4242 if state == "running" else None,
        "ports": [],
        "spec_hash": f"hash-{name}",
        "url": None,
        "replicas": 0 if state == "stopped" else 1,
        "running": 1 if state in ("running", "starting") else 0,
        "started_at": NOW - 125 if state in ("running", "starting") else None,
        "exit_code": None,
        "reason": None,
    }
    entry.update(extra)
    if entry["ports"] and entry["url"] is None:
        entry["url"] = f"http://127.0.0.1:{entry['ports'][0]}"
    return entry


STATUS: JSON = {
    "stack": "shop",
    "environment": "dev",
    "manifest": "/srv/shop/devstack.yaml",
    "daemon_pid": 100,
    "services": [
        svc("ministack", ports=[4566]),
        svc("uploads", runtime="provision", health="none", pid=None),
        svc("api", ports=[8080], restarts=1, started_at=NOW - 3725, replicas=2, running=2),
        svc("worker", "starting", health="starting", started_at=NOW - 3, replicas=3),
        svc("mailer", "failed", restarts=3, exit_code=1, reason="exited with 1 (3 restarts)"),
        svc("cron", "stopped"),
        svc("front", "waiting", reason="waiting for api", ports=[8081]),
    ],
}

BACKING: list[JSON] = [
    {
        "name": "uploads",
        "kind": "s3",
        "provider": "ministack",
        "provider_type": "ministack",
        "endpoint": "http://127.0.0.1:4566",
        "region": "us-east-1",
        "health": "healthy",
        "state": "provisioned",
        "resources": {"bucket": "shop-uploads", "versioning": False},
        "consumers": ["api", "worker"],
        "swapped": False,
        "reason": None,
    },
    {
        "name": "jobs",
        "kind": "sqs",
        "provider": "moto",
        "provider_type": "moto",
        "endpoint": "http://127.0.0.1:5000",
        "region": "us-east-1",
        "health": "healthy",
        "state": "provisioned",
        "resources": {"queue": "shop-jobs"},
        "consumers": ["worker"],
        "swapped": True,
        "reason": None,
    },
]


def log(seq: int, service: str, text: str, stream: str = "stdout") -> JSON:
    return {
        "seq": seq,
        "ts": NOW - 60 + seq,
        "service": service,
        "replica": 0,
        "stream": stream,
        "text": text,
    }


LINES: list[JSON] = [
    log(1, "devstack", "up (dev): 5 step(s)", "event"),
    log(2, "ministack", "start service:ministack: not running", "event"),
    log(3, "ministack", "MiniStack ready on 127.0.0.1:4566"),
    log(4, "uploads", "[ministack] created bucket shop-uploads"),
    log(5, "api", "listening on 127.0.0.1:8080"),
    log(6, "worker", "polling shop-jobs"),
    log(7, "api", "POST /orders 201"),
    log(8, "worker", "order 17 done"),
    log(9, "mailer", "error: SMTP_HOST is not set", "stderr"),
    log(10, "api", "GET /health 200"),
]

CONFIG: dict[str, list[JSON]] = {
    "api": [
        {"name": "API_TOKEN", "value": "s3cr3t", "source": "devstack.yaml:12 (services.api.env)", "secret": True},
        {"name": "AWS_ENDPOINT_URL_S3", "value": "http://127.0.0.1:4566", "source": "uses uploads (ministack)", "secret": False},
        {"name": "LOG_LEVEL", "value": "debug", "source": ".env:2", "secret": False},
        {"name": "PORT", "value": "8080", "source": "services.api.ports[0]", "secret": False},
        {"name": "UPLOADS_BUCKET", "value": "shop-uploads", "source": "uses uploads (ministack)", "secret": False},
    ],
}  # fmt: skip

SWAP_PREVIEW: JSON = {
    "applied": False,
    "message": "dry run: nothing changed",
    "swaps": {"uploads": "moto"},
    "moves": {"uploads": ["ministack", "moto"]},
    "restarts": ["api", "worker"],
    "env_changes": [
        {"service": "api", "name": "AWS_ENDPOINT_URL_S3", "old": "http://127.0.0.1:4566", "new": "http://127.0.0.1:5000"},
        {"service": "worker", "name": "AWS_ENDPOINT_URL_S3", "old": "http://127.0.0.1:4566", "new": "http://127.0.0.1:5000"},
    ],
    "real": [],
    "plan": "#1 restart service:uploads, spec-hash changed: provider\n"
    "#2 restart service:api, spec-hash changed: env.AWS_ENDPOINT_URL_S3 (after uploads started)",
}  # fmt: skip

PLAN: JSON = {
    "steps": [{"kind": "restart", "target": "service:api", "cause": "spec-hash changed: env.GREETING", "after": []}],
    "waiting": [],
    "text": "#1 restart service:api, spec-hash changed: env.GREETING",
}  # fmt: skip


SNAPSHOTS: list[JSON] = [
    {"name": "before-migration", "created": "2027-01-15T09:30:00Z", "backings": {"uploads": "s3", "jobs": "sqs"}, "items": 12, "size": 4096, "include_secrets": False},
    {"name": "seeded", "created": "2027-01-16T10:00:00Z", "backings": {"uploads": "s3"}, "items": 3, "size": 300, "include_secrets": False},
]  # fmt: skip


def data_outcome(backing: str, **counts: Any) -> JSON:
    return {"backing": backing, "kind": "s3", "provider": "ministack", "items": 0, "bytes": 0,
            "seconds": 0.0, "add": 0, "change": 0, "delete": 0, "omitted": 0, "notes": [],
            **counts}  # fmt: skip


class FakeClient:
    def __init__(
        self,
        status: JSON | None = None,
        backing: list[JSON] | None = None,
        lines: list[JSON] | None = None,
    ) -> None:
        self._status = copy.deepcopy(status or STATUS)
        self._backing = copy.deepcopy(BACKING if backing is None else backing)
        self._lines = copy.deepcopy(LINES if lines is None else lines)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, ApiError] = {}
        self.pushed: collections.deque[JSON] = collections.deque()
        self.closed = threading.Event()
        self.streams = 0
        self.end_streams = threading.Event()  # set: the current stream ends (daemon gone)
        self.lock = threading.Lock()

    # -- test controls --

    def push(self, *events: JSON) -> None:
        self.pushed.extend(events)

    def close(self) -> None:
        self.closed.set()

    def _record(self, method: str, **args: Any) -> None:
        with self.lock:
            self.calls.append((method, args))
        if method in self.failures:
            raise self.failures[method]

    def called(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [args for name, args in self.calls if name == method]

    # -- the client --

    def status(self) -> JSON:
        self._record("status")
        return copy.deepcopy(self._status)

    def backing(self) -> list[JSON]:
        self._record("backing")
        return copy.deepcopy(self._backing)

    def events(self, logs: bool = True, tail: int = 500) -> Iterator[JSON]:
        self._record("events", logs=logs, tail=tail)
        self.streams += 1
        yield {"type": "status", "status": copy.deepcopy(self._status)}
        yield {"type": "backing", "backing": copy.deepcopy(self._backing)}
        for line in self._lines[-tail:]:
            yield {"type": "log", "line": line}
        while not self.closed.is_set():
            if self.end_streams.is_set():
                self.end_streams.clear()
                return
            if self.pushed:
                yield self.pushed.popleft()
            else:
                self.closed.wait(0.01)

    def config(self, service: str, show_secrets: bool = False) -> JSON:
        self._record("config", service=service, show_secrets=show_secrets)
        variables = []
        for var in CONFIG.get(service, []):
            masked = var["secret"] and not show_secrets
            variables.append(
                {**var, "value": "********" if masked else var["value"], "masked": masked}
            )
        return {
            "service": service,
            "environment": self._status["environment"],
            "variables": variables,
        }

    def action(self, name: str, verb: str) -> JSON:
        self._record("action", name=name, verb=verb)
        return {"ok": True, "message": f"{name} {verb}ed"}

    def swap(self, **request: object) -> JSON:
        self._record("swap", **request)
        answer = copy.deepcopy(SWAP_PREVIEW)
        if request.get("carry"):
            answer["carry"] = [
                {"backing": request["backing"], "kind": "s3", "source": "ministack",
                 "destination": request.get("provider") or "ministack", "items": 3, "bytes": 300}
            ]  # fmt: skip
        if not request.get("dry_run"):
            answer.update(applied=True, message="swapped uploads: ministack -> moto", plan="")
        return answer

    def up(
        self,
        environment: str | None = None,
        remove_orphans: bool = False,
        dry_run: bool = False,
        build: bool = False,
    ) -> JSON:
        self._record("up", environment=environment, dry_run=dry_run)
        return copy.deepcopy(PLAN)

    def snapshots(self) -> list[JSON]:
        self._record("snapshots")
        return copy.deepcopy(SNAPSHOTS)

    def snapshot(self, **request: Any) -> JSON:
        self._record("snapshot", **request)
        name = request.get("name") or "20270116-100000"
        (backing,) = request.get("backings") or ["uploads"]
        return {
            "snapshot": name,
            "message": f"snapshot {name}: 3 item(s) of 1 backing service(s) in 0.2s",
            "dry_run": False,
            "backings": [data_outcome(backing, items=3, bytes=300, seconds=0.2)],
        }

    def restore(self, name: str, **request: Any) -> JSON:
        self._record("restore", name=name, **request)
        (backing,) = request.get("backings") or ["uploads"]
        dry_run = bool(request.get("dry_run"))
        message = (
            "dry run: nothing changed"
            if dry_run
            else f"restored {name}: {backing} +2 ~1 -4 (checked)"
        )
        return {
            "snapshot": name,
            "message": message,
            "dry_run": dry_run,
            "backings": [data_outcome(backing, add=2, change=1, delete=4)],
        }

    def logs(
        self,
        services: list[str] | None = None,
        since: float | None = None,
        tail: int | None = None,
        follow: bool = False,
    ) -> Iterator[JSON]:
        self._record("logs", services=services, since=since, tail=tail, follow=follow)
        lines = [line for line in self._lines if services is None or line["service"] in services]
        return iter(copy.deepcopy(lines[-tail:] if tail else lines))

    def scale(self, service: str, replicas: int) -> JSON:
        """Records the call; the next status (pushed) has the new desired count."""
        self._record("scale", service=service, replicas=replicas)
        with self.lock:
            for entry in self._status["services"]:
                if entry["name"] == service:
                    entry["replicas"] = replicas
            self.push({"type": "status", "status": copy.deepcopy(self._status)})
        return {"ok": True, "message": f"{service} scaled to {replicas}"}
