"""Real AWS emulators for the provider tests: MiniStack and moto, each a host process.

Each is started once per session, on a free port of 127.0.0.1, only when a test asks for
it; it is ready when it answers HTTP, and is terminated at the end of the session. Their
output goes to files, so an emulator that fails to start says why in the failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.providers.aws import AwsTarget
from helpers import free_port

START_TIMEOUT = 20.0
REGION = "us-east-1"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def _processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The emulators started this session, all stopped together at its end.

    Each takes a second or two to stop after SIGTERM; stopping them together halves that.
    """
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _start(
    name: str,
    argv: list[str],
    env: dict[str, str],
    port: int,
    health: str,
    logs: Path,
    started: list[subprocess.Popen[bytes]],
) -> str:
    """Starts the emulator; returns its endpoint once `health` answers there."""
    endpoint = f"http://127.0.0.1:{port}"
    log = logs / f"{name}.log"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=logs,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    started.append(proc)
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(endpoint + health):
        if proc.poll() is not None or time.monotonic() >= deadline:
            state = f"exited with {proc.returncode}" if proc.poll() is not None else "hung"
            tail = log.read_text(errors="replace")[-2000:]
            pytest.fail(f"{name} {state} before {endpoint + health} answered; its output:\n{tail}")
        time.sleep(0.05)
    return endpoint


@pytest.fixture(scope="session")
def ministack(
    tmp_path_factory: pytest.TempPathFactory, _processes: list[subprocess.Popen[bytes]]
) -> str:
    pytest.importorskip("ministack", reason="ministack is not installed (pip install ministack)")
    port = free_port()
    logs = tmp_path_factory.mktemp("ministack")
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        # It writes a pid file (and caches) under TMPDIR: keep them with the test's files.
        "TMPDIR": str(logs),
    }
    argv = [sys.executable, "-m", "ministack"]
    return _start("ministack", argv, env, port, "/_ministack/health", logs, _processes)


@pytest.fixture(scope="session")
def moto(
    tmp_path_factory: pytest.TempPathFactory, _processes: list[subprocess.Popen[bytes]]
) -> str:
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = free_port()
    logs = tmp_path_factory.mktemp("moto")
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return _start("moto", argv, dict(os.environ), port, "/moto-api/", logs, _processes)


@pytest.fixture(params=["ministack", "moto"])
def emulator(request: pytest.FixtureRequest) -> str:
    """The emulator's name; tests mark a param xfail with `parametrize(..., indirect=True)`."""
    return str(request.param)


@pytest.fixture
def target(request: pytest.FixtureRequest, emulator: str) -> AwsTarget:
    """An AwsTarget on the emulator this test runs against; on MiniStack, as the daemon
    makes it for a LocalStack-compatible provider (clients from localstack-client)."""
    endpoint: str = request.getfixturevalue(emulator)
    return AwsTarget(endpoint_url=endpoint, region=REGION, localstack=emulator == "ministack")
