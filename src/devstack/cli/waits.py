"""Waiting until a stack is healthy (`up --wait`, `swap --wait`), and saying what failed,
with each failed service's last log lines."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from devstack.api.client import JSON, Client
from devstack.api.readiness import judge
from devstack.cli.output import (
    EXIT_FAILURE,
    fail,
    info,
)
from devstack.trace import mark

if TYPE_CHECKING:
    pass


def wait_healthy(client: Client, timeout: float, deadline: float | None = None) -> None:
    deadline = time.monotonic() + timeout if deadline is None else deadline
    while True:
        verdict, services = judge(client.status()["services"])
        if verdict == "failed":
            report_failed(client, services, "failed")
        if verdict == "ready":
            mark("cli.wait.done")
            info(f"{len(services)} service(s) running and healthy")
            return
        if time.monotonic() >= deadline:
            report_failed(client, services, f"not healthy within {timeout:g}s")
        time.sleep(0.02)


def report_failed(client: Client, services: list[JSON], why: str) -> None:
    def last_lines(name: str) -> list[str]:
        return [line["text"] for line in client.logs([name], tail=10)]

    fail_with_logs(services, why, last_lines)


def fail_with_logs(
    services: list[JSON], why: str, last_lines: Callable[[str], list[str]]
) -> NoReturn:
    details = []
    for s in services:
        reason = f" ({s['reason']})" if s.get("reason") else ""
        code = f", exit code {s['exit_code']}" if s.get("exit_code") is not None else ""
        details.append(f"{s['name']}: {s['state']}{code}{reason}")
        details.extend(f"  {s['name']} | {text}" for text in last_lines(s["name"]))
    fail(f"{', '.join(s['name'] for s in services)} {why}", EXIT_FAILURE, details)
