"""One contract, two runtimes: a host process and a busybox container must behave alike.

Each test writes the same manifest shape for both runtimes (a command, maybe a port and an
HTTP healthcheck); only the program differs: `sh`/python on the host, busybox in docker.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request
from typing import Any

import pytest
from dockerstack import HTTP_HEALTH, DockerStack, busybox, web

from helpers import alive, free_port, wait_for

pytestmark = pytest.mark.timeout(60)

RUNTIMES = ["process", "docker"]

# SIGTERM ends the loop at once (sh runs the trap between two 0.1 s sleeps).
POLITE = (
    "trap 'echo got-term; exit 0' TERM; "
    "echo to-stdout; echo to-stderr >&2; "
    "while :; do sleep 0.1; done"
)


def entry(runtime: str, script: str, **extra: Any) -> dict[str, Any]:
    """`sh -c SCRIPT` as a host process or in a busybox container."""
    if runtime == "docker":
        return busybox(script, **extra)
    return {"command": ["sh", "-c", script], **extra}


def http_entry(runtime: str, stack: DockerStack) -> dict[str, Any]:
    """An HTTP server whose /health answers `ok`, with an HTTP healthcheck."""
    if runtime == "docker":
        return web()
    (stack.root / "www").mkdir(exist_ok=True)
    (stack.root / "www" / "health").write_text("ok\n")
    server = f'exec {sys.executable} -m http.server "$PORT" --bind 127.0.0.1 --directory www'
    return {
        "command": ["sh", "-c", server],
        "ports": [str(free_port())],
        "healthcheck": dict(HTTP_HEALTH),
    }


def instance(runtime: str, stack: DockerStack, service: str) -> str | int:
    """What identifies the running instance: its container id, or its pid."""
    if runtime == "docker":
        return stack.container(service).id or ""
    pid = stack.services()[service]["pid"]
    assert isinstance(pid, int)
    return pid


def instances(runtime: str, stack: DockerStack) -> int:
    """How many instances of the stack exist, running or not."""
    if runtime == "docker":
        return len(stack.containers())
    return len(stack.group_leaders())


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_starts_and_turns_healthy(dstack: DockerStack, runtime: str) -> None:
    dstack.write({"web": http_entry(runtime, dstack)})
    dstack.up()

    s = dstack.services()["web"]
    assert s["runtime"] == runtime
    assert (s["state"], s["health"], s["restarts"]) == ("running", "healthy", 0)
    assert s["url"] == f"http://127.0.0.1:{s['ports'][0]}"
    assert get(f"{s['url']}/health").strip() == "ok"
    if runtime == "docker":
        assert s["pid"] is None
        assert dstack.container("web").status == "running"
    else:
        assert isinstance(s["pid"], int) and alive(s["pid"])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_stdout_and_stderr_reach_the_logs_and_stop_is_graceful(
    dstack: DockerStack, runtime: str
) -> None:
    # A 10 s grace: a stop that falls back to SIGKILL would take 10 s, not a few tenths.
    dstack.write({"svc": entry(runtime, POLITE, stop_grace="10s")})
    dstack.up()

    def both() -> str:
        text = dstack.log_text("svc")
        return text if "to-stdout" in text and "to-stderr" in text else ""

    text = wait_for(both, 10.0, "stdout and stderr lines in `devstack logs svc`")
    lines = [line for line in text.splitlines() if "to-std" in line]
    assert all(line.startswith("svc ") for line in lines), lines

    began = time.monotonic()
    dstack.ok("stop", "svc")
    took = time.monotonic() - began
    assert took < 2.0, f"a service that traps SIGTERM took {took:.2f}s to stop"
    wait_for(lambda: "got-term" in dstack.log_text("svc"), 5.0, "the trap's output in the logs")
    s = dstack.services()["svc"]
    assert (s["state"], s["pid"]) == ("stopped", None)
    assert instances(runtime, dstack) == 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exit_code_is_reported_and_restart_no_keeps_it_down(
    dstack: DockerStack, runtime: str
) -> None:
    dstack.write({"once": entry(runtime, "echo leaving; exit 3", restart="no")})
    dstack.ok("up", "-d")

    s = dstack.wait_state("once", "exited")
    assert s["exit_code"] == 3
    assert (s["restarts"], s["pid"]) == (0, None)
    wait_for(lambda: "leaving" in dstack.log_text("once"), 5.0, "the output of `once`")
    # Still down a moment later: `no` never restarts.
    again = dstack.services()["once"]
    assert (again["state"], again["exit_code"], again["restarts"]) == ("exited", 3, 0)


@pytest.mark.parametrize("runtime", ["process", "docker"])
def test_on_failure_restarts_a_crashing_service(dstack: DockerStack, runtime: str) -> None:
    dstack.write({"crashy": entry(runtime, "echo crashing; exit 1", restart="on-failure")})
    dstack.ok("up", "-d")

    # Backoff 0.5 s, 1 s, 2 s: three restarts take about 4 s plus the starts themselves.
    wait_for(lambda: dstack.live()["crashy"]["restarts"] >= 3, 10.0, "crashy to restart 3 times")
    assert dstack.log_text("crashy").count("crashing") >= 3
    assert instances(runtime, dstack) <= 1


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_new_daemon_adopts_the_running_instance(dstack: DockerStack, runtime: str) -> None:
    dstack.write({"web": http_entry(runtime, dstack), "idle": entry(runtime, POLITE)})
    dstack.up()
    before = {name: instance(runtime, dstack, name) for name in ("web", "idle")}
    daemon = dstack.status()["daemon_pid"]

    os.kill(daemon, signal.SIGKILL)
    wait_for(lambda: not alive(daemon), 5.0, "the daemon to die")

    dstack.up()
    status = dstack.status()
    assert status["daemon_pid"] != daemon
    after = {name: instance(runtime, dstack, name) for name in ("web", "idle")}
    assert after == before, "a service was restarted instead of adopted"
    assert all(s["restarts"] == 0 for s in status["services"])
    assert instances(runtime, dstack) == 2, "duplicate instances after adoption"
    assert len(dstack.daemons()) == 1
