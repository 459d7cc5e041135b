"""The first `up`: the daemon reconciles before its API exists, and reports over a pipe.

A cold `devstack up` used to validate the manifest in the CLI, spawn the daemon, wait for
its HTTP API (FastAPI and uvicorn: the largest import of all) and only then ask it to
`up`. Now the CLI spawns the daemon with the `up` intent and the write end of a pipe: the
daemon resolves (which validates: nothing starts for a bad manifest), starts reconciling,
and writes NDJSON messages to the pipe while the API is still being imported:

    {"kind": "build", "service": "api", "text": "building api ..."}   (zero or more)
    {"kind": "plan", "plan": <PlanResponse>}                           (success), or
    {"kind": "error", "status": 422, "error": "...", "problems": [...]}  (nothing started)

and, when the intent asks to wait, once the stack is up or has failed:

    {"kind": "ready", "count": 3}  or  {"kind": "failed", "services": [...], "logs": {...}}

then closes it. The CLI prints the plan as an API `up` would have, and reaches the API
afterwards for attaching or the UI (the socket is bound before the import, so those
calls queue instead of failing). With `--wait`, the API's import itself waits until
`ready` or `failed` was reported, or until a client connects (`until_settled`): run at
once, it took the CPU from the services `up` had just started.
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

from devstack.api.readiness import judge
from devstack.engine.events import LogLine, LogStore

BUILD_PREFIXES = ("build: ", "building ")  # the events `up --build` shows while it builds


class BootReport:
    """The daemon's end of the pipe. The CLI may leave (Ctrl-C): writes then do nothing."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd
        self._lock = threading.Lock()  # build lines come from the controller's threads

    def send(self, kind: str, **fields: Any) -> None:
        data = (json.dumps({"kind": kind, **fields}) + "\n").encode()
        with self._lock:
            if self._fd is None:
                return
            try:
                os.write(self._fd, data)  # small messages: one write each, no buffering
            except OSError:  # EPIPE: the CLI that launched us went away; we go on
                self._close()

    def build_line(self, line: LogLine) -> None:
        """A LogStore subscriber: forwards build progress while the first `up` builds."""
        if line.stream == "event" and line.text.startswith(BUILD_PREFIXES):
            self.send("build", service=line.service, text=line.text)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def problems_title(count: int) -> str:
    """The line above the located problems, the same for the CLI and the daemon."""
    return f"{count} problem{'s' if count != 1 else ''} in the manifest:"


def report_when_ready(
    status: Callable[[], list[dict[str, Any]]],
    last_lines: Callable[[str], list[str]],
    report: BootReport,
    store: LogStore,
) -> threading.Thread:
    """For `up --wait`: report `ready` or `failed` (with the culprits' last lines), then close.

    Judged by `api.readiness`, as the CLI judges status from the API. Every engine event
    (a health change, an exit) wakes the judgement; it looks again at least every 0.1 s.
    """
    woken = threading.Event()

    def wake(line: LogLine) -> None:
        if line.stream == "event":
            woken.set()

    def run() -> None:
        _, unsubscribe = store.subscribe(wake, since=float("inf"))
        try:
            while True:
                verdict, services = judge(status())
                if verdict == "ready":
                    report.send("ready", count=len(services))
                    return
                if verdict == "failed":
                    logs = {s["name"]: last_lines(s["name"]) for s in services}
                    report.send("failed", services=services, logs=logs)
                    return
                woken.wait(0.1)
                woken.clear()
        except Exception as exc:  # the CLI falls back to asking the API
            report.send("error", status=500, error=f"cannot judge readiness: {exc}", problems=[])
        finally:
            unsubscribe()
            report.close()

    thread = threading.Thread(target=run, name="boot-ready", daemon=True)
    thread.start()
    return thread


def until_settled(sock: socket.socket, settling: threading.Thread, poll: float = 0.05) -> None:
    """Until `settling` (the `ready`/`failed` report) ends or a client connects to the
    listening `sock` (a connection waits in its backlog: it reads as readable)."""
    while settling.is_alive():
        readable, _, _ = select.select([sock], [], [], poll)
        if readable:
            return
