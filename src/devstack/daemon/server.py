"""The daemon's HTTP+JSON API (FastAPI, so the OpenAPI description comes for free).

It listens on a Unix socket only, created with mode 0600: the file mode is the access
control, as for dockerd's socket. Handlers are thin; the Daemon does the work.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, cast

import uvicorn
from fastapi import FastAPI, Query, Request
from fastapi.responses import StreamingResponse

from devstack.api.models import (
    ActionResponse,
    BackingStatus,
    DataResponse,
    ErrorResponse,
    LogLineModel,
    PlanResponse,
    RestoreRequest,
    ScaleRequest,
    ServiceConfig,
    SnapshotInfo,
    SnapshotRequest,
    StackStatus,
    SwapRequest,
    SwapResponse,
    UpRequest,
)
from devstack.daemon import errors
from devstack.daemon.listen import bind_socket
from devstack.daemon.peercred import guarded_http
from devstack.daemon.service import Daemon
from devstack.daemon.snapshots import DataJobs
from devstack.engine.events import LogLine
from devstack.model.names import UnknownName

STOP_TIMEOUT = 120.0
FOLLOW_QUEUE_LIMIT = 10_000
FOLLOW_POLL = 0.2  # how often a follower checks for shutdown while idle
EVENT_STATUS_INTERVAL = 0.25  # how often an event stream looks for status changes
# Lines queued for a follower go out as one chunk of at most this many. A flood then costs
# one write per chunk, not per line, and the stream returns to the event loop between
# chunks, where a client that went away is noticed (otherwise a full queue is written to
# a closed socket line by line, each write logging "socket.send() raised exception").
CHUNK_LINES = 500


def create_app(daemon: Daemon, shutdown: threading.Event, log: Path | None = None) -> FastAPI:
    """The API over `daemon`; unexpected errors are reported as written to `log` (the
    daemon's log, where its stderr goes)."""
    app = FastAPI(
        title="devstack daemon",
        version="1",
        docs_url=None,
        redoc_url=None,
        responses={500: {"model": ErrorResponse, "description": "Unexpected; see `log`"}},
    )
    errors.install(app, log or daemon.paths.daemon_log)
    data = DataJobs(daemon)  # one snapshot or restore at a time, per daemon

    @app.post("/v1/swap", responses=_errors(400, 404, 409, 422))
    def swap(request: SwapRequest) -> SwapResponse:
        """Swap a backing service's provider (or undo/reset); `dry_run` only previews."""
        return daemon.swap(request)

    @app.get("/v1/backing")
    def backing() -> list[BackingStatus]:
        """Each backing service: its provider, endpoint, state and consumers."""
        return daemon.backing()

    # Plain `def`s, as every route that does work: they run in the thread pool, so a
    # snapshot or restore of minutes leaves the event loop (status, events) answering.
    @app.get("/v1/data/snapshots")
    def snapshots() -> list[SnapshotInfo]:
        """The stack's snapshots (as `devstack data list`), oldest first."""
        return data.list()

    @app.post("/v1/data/snapshots", responses=_errors(400, 404, 409, 422))
    def snapshot(request: SnapshotRequest) -> DataResponse:
        """Snapshot backing services from the providers serving them now (secret values left
        out unless `include_secrets`); progress goes to each one's log."""
        return data.snapshot(request)

    @app.post("/v1/data/snapshots/{name}/restore", responses=_errors(400, 404, 409, 422))
    def restore(name: str, request: RestoreRequest) -> DataResponse:
        """Make backing services equal to snapshot `name` on their providers now, then check;
        with `dry_run`, only the counts to add, change and delete."""
        return data.restore(name, request)

    @app.get("/v1/health")
    def health() -> ActionResponse:
        """The daemon answers (its pid in the message)."""
        return ActionResponse(message=f"devstack daemon {os.getpid()}")

    @app.get("/v1/status")
    def status() -> StackStatus:
        """Each service's state, health, restarts, replicas and ports; the stack's problems."""
        return daemon.status()

    @app.post("/v1/up", responses=_errors(400, 404, 409, 422))
    def up(request: UpRequest) -> PlanResponse:
        """Bring the stack in line with the manifest (or a release); answers the plan.
        With `dry_run`, only the plan; an invalid manifest is a 422 with its problems."""
        if request.dry_run:
            return daemon.plan(
                request.environment, request.remove_orphans, request.release, request.profiles
            )
        return daemon.up(
            request.environment,
            request.remove_orphans,
            request.build,
            request.release,
            request.engine,
            request.profiles,
        )

    @app.post("/v1/down")
    def down(volumes: bool = False) -> ActionResponse:
        """Stop everything, remove the stack network (and volumes); then the daemon exits."""
        ok = daemon.down(STOP_TIMEOUT, volumes)
        shutdown.set()
        return ActionResponse(
            ok=ok, message="stack stopped" if ok else "some services did not stop"
        )

    @app.post("/v1/services/{name}/stop", responses=_errors(404))
    def stop(name: str) -> ActionResponse:
        """Stop a service; it stays stopped until `start` or `up`."""
        ok = daemon.stop_service(name, STOP_TIMEOUT)
        return ActionResponse(ok=ok, message=f"{name} stopped" if ok else f"{name} did not stop")

    @app.post("/v1/services/{name}/start", responses=_errors(404))
    def start(name: str) -> ActionResponse:
        """Start a service stopped by `stop`."""
        daemon.start_service(name)
        return ActionResponse(message=f"{name} starting")

    @app.post("/v1/services/{name}/restart", responses=_errors(404))
    def restart(name: str) -> ActionResponse:
        """Restart a service: graceful stop, then start."""
        ok = daemon.restart_service(name, STOP_TIMEOUT)
        return ActionResponse(ok=ok, message=f"{name} restarted")

    @app.post("/v1/services/{name}/scale", responses=_errors(400, 404, 409, 422))
    def scale(name: str, request: ScaleRequest) -> ActionResponse:
        """Run `replicas` instances of a service (kept as an override, like a swap)."""
        daemon.scale_service(name, request.replicas)
        return ActionResponse(message=f"{name} scaled to {request.replicas}")

    @app.get("/v1/config/{name}", responses=_errors(404))
    def config(name: str, show_secrets: bool = False) -> ServiceConfig:
        """A service's effective environment, each value with its source (secrets masked)."""
        return daemon.config(name, show_secrets)

    @app.get("/v1/events", response_model=None)
    async def events(request: Request, logs: bool = True, tail: int = 500) -> StreamingResponse:
        """NDJSON events for UIs: a `status` and a `backing` snapshot first, the last `tail`
        log lines, then live `log` lines and a fresh `status`/`backing` on every change.
        Log lines carry `seq`: the snapshot and the live part neither miss nor repeat one."""
        # The first snapshots are taken now, so that a failure is a JSON error (500)
        # rather than a stream cut short after its 200.
        first = await asyncio.to_thread(_views, daemon)
        return StreamingResponse(
            _event_stream(daemon, shutdown, request, logs, tail, first),
            media_type="application/x-ndjson",
        )

    @app.post("/v1/services/{name}/rebuild", responses=_errors(400, 404, 409))
    def rebuild(name: str) -> ActionResponse:
        """Rebuild a service's image and restart it (services with `build:` only)."""
        ok = daemon.rebuild_service(name, STOP_TIMEOUT)
        return ActionResponse(ok=ok, message=f"{name} rebuilt and restarted")

    @app.get("/v1/logs", response_model=None, responses=_errors(404))
    async def logs(
        request: Request,
        service: Annotated[list[str] | None, Query()] = None,
        since: float | None = None,
        tail: int | None = None,
        follow: bool = False,
    ) -> StreamingResponse:
        """NDJSON: one LogLineModel per line; with follow, live lines after the backlog."""
        for name in service or []:
            known = daemon.loaded.stack.services.keys() | daemon.desired().services.keys()
            if name not in known and name != "devstack":
                raise UnknownName("service", name, known)
        # Without follow the lines are read now, so that a failure is a JSON error (500)
        # rather than a stream cut short after its 200.
        backlog = None if follow else daemon.logs.snapshot(service, since)
        return StreamingResponse(
            _log_stream(daemon, shutdown, request, service, since, tail, backlog),
            media_type="application/x-ndjson",
        )

    return app


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, made without a daemon or a socket: no route runs, so
    none needs one (docs/architecture.md's route table is generated from it)."""
    app = create_app(cast("Daemon", None), threading.Event(), log=Path(os.devnull))
    return app.openapi()


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route's error answers (all shaped as ErrorResponse)."""
    return {status: {"model": ErrorResponse} for status in statuses}


async def _log_stream(
    daemon: Daemon,
    shutdown: threading.Event,
    request: Request,
    services: list[str] | None,
    since: float | None,
    tail: int | None,
    snapshot: list[LogLine] | None,
) -> AsyncIterator[bytes]:
    """`snapshot`: the lines to send, without following; None: follow."""
    if snapshot is not None:
        lines = snapshot[-tail:] if tail is not None else snapshot
        async for chunk in _chunked(lines, _ndjson):
            yield chunk
        return
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[LogLine] = asyncio.Queue()
    wanted = set(services) if services else None

    def deliver(line: LogLine) -> None:
        if (wanted is None or line.service in wanted) and queue.qsize() < FOLLOW_QUEUE_LIMIT:
            loop.call_soon_threadsafe(queue.put_nowait, line)

    backlog, unsubscribe = daemon.logs.subscribe(deliver, services, since)
    try:
        async for chunk in _chunked(backlog[-tail:] if tail is not None else backlog, _ndjson):
            yield chunk
        # Followers end when the daemon shuts down (`down`), so they see the stream close
        # and the server's graceful shutdown is not held open by them.
        while not shutdown.is_set():
            try:
                line = await asyncio.wait_for(queue.get(), timeout=FOLLOW_POLL)
            except TimeoutError:
                if await request.is_disconnected():
                    return  # the client went away: stop following (and unsubscribe)
                continue
            yield b"".join(_ndjson(queued) for queued in _with_queued(line, queue))
            await asyncio.sleep(0)
        while not queue.empty():
            yield _ndjson(queue.get_nowait())
    finally:
        unsubscribe()


def _views(daemon: Daemon) -> tuple[bytes, bytes]:
    """The `status` and `backing` events: what an event stream sends first and on change."""
    status = daemon.status().model_dump(mode="json")
    backing = [b.model_dump(mode="json") for b in daemon.backing()]
    return (
        _event({"type": "status", "status": status}),
        _event({"type": "backing", "backing": backing}),
    )


async def _event_stream(
    daemon: Daemon,
    shutdown: threading.Event,
    request: Request,
    logs: bool,
    tail: int,
    first: tuple[bytes, bytes],
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[LogLine] = asyncio.Queue()

    def deliver(line: LogLine) -> None:
        if queue.qsize() < FOLLOW_QUEUE_LIMIT:
            loop.call_soon_threadsafe(queue.put_nowait, line)

    backlog, unsubscribe = (
        daemon.logs.subscribe(deliver, None, None) if logs else ([], lambda: None)
    )
    try:
        last = first
        yield last[0]
        yield last[1]
        async for chunk in _chunked(backlog[-tail:] if tail else [], _log_event):
            yield chunk
        next_check = loop.time() + EVENT_STATUS_INTERVAL
        while not shutdown.is_set():
            timeout = max(0.0, next_check - loop.time())
            try:
                line = await asyncio.wait_for(queue.get(), timeout=timeout)
                yield b"".join(_log_event(queued) for queued in _with_queued(line, queue))
                await asyncio.sleep(0)
                continue
            except TimeoutError:
                pass
            next_check = loop.time() + EVENT_STATUS_INTERVAL
            if await request.is_disconnected():
                return
            current = await asyncio.to_thread(_views, daemon)
            for before, now in zip(last, current, strict=True):
                if now != before:
                    yield now
            last = current
    finally:
        unsubscribe()


async def _chunked(
    lines: list[LogLine], render: Callable[[LogLine], bytes]
) -> AsyncIterator[bytes]:
    """A backlog as chunks of CHUNK_LINES lines, back to the event loop after each."""
    for start in range(0, len(lines), CHUNK_LINES):
        yield b"".join(render(line) for line in lines[start : start + CHUNK_LINES])
        await asyncio.sleep(0)


def _with_queued(first: LogLine, queue: asyncio.Queue[LogLine]) -> list[LogLine]:
    """`first` and the lines queued behind it, up to a chunk's worth, in order."""
    lines = [first]
    while len(lines) < CHUNK_LINES and not queue.empty():
        lines.append(queue.get_nowait())
    return lines


def _event(data: dict[str, object]) -> bytes:
    return (json.dumps(data) + "\n").encode()


def _line_dict(line: LogLine) -> dict[str, object]:
    return LogLineModel(
        seq=line.seq,
        ts=line.ts,
        service=line.service,
        replica=line.replica,
        stream=line.stream,
        text=line.text,
    ).model_dump()


def _ndjson(line: LogLine) -> bytes:
    return _event(_line_dict(line))


def _log_event(line: LogLine) -> bytes:
    return _event({"type": "log", "line": _line_dict(line)})


def serve(daemon: Daemon, path: Path, sock: socket.socket | None = None) -> None:
    """Serve until `down` asks to stop or the process gets SIGTERM/SIGINT.

    `sock` is the socket already bound at `path` (the daemon binds it before importing
    this module); without it, it is bound here."""
    shutdown = threading.Event()
    app = create_app(daemon, shutdown)
    config = uvicorn.Config(
        app,
        http=guarded_http(),  # serve only our own uid and root (SO_PEERCRED)
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)

    def watch_shutdown() -> None:
        shutdown.wait()
        server.should_exit = True

    threading.Thread(target=watch_shutdown, name="shutdown", daemon=True).start()
    if sock is None:
        sock = bind_socket(path)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        path.unlink(missing_ok=True)
