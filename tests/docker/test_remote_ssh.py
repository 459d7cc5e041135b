"""A stack whose containers run on an engine reached over SSH: a real sshd on loopback (keys
made for the test) in front of this machine's real dockerd, as a remote machine would be.

Checked from this side: ports reach 127.0.0.1 here through the forwards, and nothing of the
stack listens on another address; forwards come and go with the containers; the engine is
kept with the stack across a daemon restart; a lost connection is a status line, the
containers keep running, and the daemon reconnects by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from dockerstack import DockerStack, busybox, web
from sshd import Sshd, sshd_missing

from components import needs, unavailable
from docker_images import LOCALSTACK_IMAGE, localstack_image_missing
from helpers import Stack, describe, listening_addresses, port_busy, service, wait_for

MISSING = sshd_missing()
pytestmark = [needs(MISSING is not None, MISSING or ""), pytest.mark.timeout(120)]

HOOKS = Path(__file__).resolve().parent.parent / "hooks"
REMOTE_HINT = "pip install 'devstack[remote]' (or: pip install 'docker[ssh]')"


@pytest.fixture
def sshd() -> Iterator[Sshd]:
    root = Path(tempfile.mkdtemp(prefix="dss-"))
    server = Sshd(root)
    try:
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def remote(sshd: Sshd, dstack: DockerStack) -> DockerStack:
    """The test's stack, its every CLI call (and so its daemon) using the engine over SSH.
    Set up after the server, so torn down (`down` through it) before the server stops."""
    plain = dstack.cli_env

    def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
        return plain({**sshd.env(), **(extra or {})})

    dstack.cli_env = cli_env  # type: ignore[method-assign]
    return dstack


def get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
        return str(reply.read().decode())


def answers(port: int) -> bool:
    try:
        return get(port).strip() == "ok"
    except OSError:
        return False


def engine_problems(stack: Stack) -> list[str]:
    return [p for p in stack.status()["problems"] if "engine" in p]


def test_containers_run_over_ssh_and_their_ports_come_back_here(
    remote: DockerStack, sshd: Sshd
) -> None:
    remote.write({"web": web()})
    remote.up()  # --wait: its http health check already went through the forward

    status = remote.status()
    engine = status["engine"]
    assert (engine["host"], engine["kind"], engine["source"], engine["connected"]) == (
        sshd.docker_host, "ssh", "DOCKER_HOST", True,
    )  # fmt: skip
    (port,) = status["services"][0]["ports"]
    assert status["services"][0]["url"] == f"http://127.0.0.1:{port}"
    assert get(port).strip() == "ok"

    # On the engine the container publishes on its loopback, on a port the engine picked.
    published = remote.container("web").attrs["NetworkSettings"]["Ports"]["8080/tcp"]
    assert {b["HostIp"] for b in published} == {"127.0.0.1"}
    remote_port = int(published[0]["HostPort"])
    assert remote_port != port
    assert engine["forwards"] == [f"127.0.0.1:{port} -> engine 127.0.0.1:{remote_port}"]
    # Nothing of the stack listens on another address, here or there.
    assert listening_addresses(port) == {"127.0.0.1"}
    assert listening_addresses(remote_port) == {"127.0.0.1"}
    text = remote.ok("status").stdout
    assert f"engine: {sshd.docker_host} (ssh, from DOCKER_HOST), 1 port forwarded here" in text

    # Forwards come and go with the containers.
    remote.ok("stop", "web")
    wait_for(lambda: not port_busy(port), 10, "the forward to close with its container")
    remote.ok("start", "web")
    wait_for(lambda: answers(port), 20, "the forward to come back with the container")


def test_the_engine_is_kept_with_the_stack_across_a_daemon_restart(
    remote: DockerStack, sshd: Sshd
) -> None:
    remote.write({"web": web()})
    remote.up()
    (port,) = remote.services()["web"]["ports"]
    cid = remote.container("web").id
    (daemon,) = remote.daemons()
    os.kill(daemon, signal.SIGKILL)
    wait_for(lambda: not remote.daemons(), 10, "the daemon to die")
    assert answers(port) is False  # the forwards were the daemon's

    # A plain `up` (no DOCKER_HOST) re-adopts the containers where they run: on the engine
    # kept with the stack, not on the default socket; the forward is back.
    result = remote.ok("up", "-d", "--wait", env={"DOCKER_HOST": ""})
    status = remote.status()
    assert status["engine"]["host"] == sshd.docker_host, describe(result, remote)
    assert remote.container("web").id == cid
    wait_for(lambda: answers(port), 20, "the forward of the re-adopted container")


def test_a_lost_connection_is_reported_and_the_daemon_reconnects(
    remote: DockerStack, sshd: Sshd, engine: docker.DockerClient
) -> None:
    remote.write({"web": web()})
    remote.up()
    (port,) = remote.services()["web"]["ports"]
    cid = remote.container("web").id

    sshd.kill()
    (problem,) = wait_for(lambda: engine_problems(remote), 15, "the lost connection in status")
    assert problem.startswith(f"lost the SSH connection to the engine {sshd.docker_host}")
    assert "its containers keep running there" in problem
    assert "lost the SSH connection" in remote.ok("status").stdout
    assert remote.status()["engine"]["connected"] is False
    # The container was not stopped: the engine runs it, the daemon only lost sight of it.
    assert engine.containers.get(cid).status == "running"
    assert port_busy(port)  # the forward keeps its port here, so nothing else takes it
    assert not answers(port)

    sshd.start()
    wait_for(lambda: not engine_problems(remote), 40, "the daemon to reconnect")
    wait_for(lambda: answers(port), 20, "the forward to work again")
    web_status = remote.services()["web"]
    assert (web_status["restarts"], remote.container("web").id) == (0, cid)
    log = (remote.state_dir / "logs").glob("*")
    assert any("reconnected to the engine" in p.read_text(errors="replace") for p in log)


def test_an_ssh_engine_without_paramiko_is_one_line(dstack: DockerStack) -> None:
    dstack.write({"web": web()})
    path = os.pathsep.join(p for p in (str(HOOKS), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        "PYTHONPATH": path,
        "DEVSTACK_TEST_HIDE": "paramiko",  # as if the `remote` extra were not installed
        "DOCKER_HOST": "ssh://someone@127.0.0.1:1",
    }
    result = dstack.run("up", "-d", env=env)
    assert result.returncode == 2, describe(result, dstack)
    assert "Traceback" not in result.stderr, describe(result, dstack)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: DOCKER_HOST names an engine over SSH (ssh://someone@127.0.0.1:1), which needs "
        f"paramiko, not installed here: {REMOTE_HINT}"
    ], describe(result, dstack)
    assert not dstack.containers()
    wait_for(lambda: not dstack.daemons(), 10, "the refused daemon to exit")


def test_an_unknown_context_is_one_line(dstack: DockerStack, tmp_path: Path) -> None:
    dstack.write({"web": web()})
    result = dstack.run("up", "-d", "--context", "nope", env={"DOCKER_CONFIG": str(tmp_path)})
    assert result.returncode == 2, describe(result, dstack)
    assert result.stderr.strip() == (
        "error: no Docker context named 'nope' (`docker context ls` lists them)"
    )
    assert not dstack.daemons()


def test_a_context_names_the_engine(remote: DockerStack, sshd: Sshd, tmp_path: Path) -> None:
    """`up --context NAME` with a context made by the Docker CLI itself."""
    config = tmp_path / "docker-config"
    made = subprocess.run(
        ["docker", "context", "create", "box", "--docker", f"host={sshd.docker_host}"],
        env={**os.environ, "DOCKER_CONFIG": str(config)}, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    remote.write({"web": web()})
    remote.up("--context", "box", env={"DOCKER_HOST": "", "DOCKER_CONFIG": str(config)})
    engine = remote.status()["engine"]
    assert (engine["host"], engine["source"]) == (sshd.docker_host, "--context box")
    (port,) = remote.services()["web"]["ports"]
    assert answers(port)


@pytest.mark.timeout(240)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # boto3's, as in test_backing_docker
def test_backing_says_where_each_emulator_runs(remote: DockerStack, sshd: Sshd) -> None:
    """LocalStack runs on the engine, MiniStack here; a host process here reaches both (the
    container's port through the forward), and provisioning went through it too."""
    reason = localstack_image_missing()
    if reason:
        unavailable(reason)
    boto3 = pytest.importorskip("boto3")
    remote.write(
        {"api": service("api", flags=["--dump-env"], uses=["uploads", "jobs"])},
        providers={"localstack": {"type": "localstack", "image": LOCALSTACK_IMAGE}},
        backing={
            "uploads": {"kind": "s3", "bucket": "ssh-uploads", "provider": "localstack"},
            "jobs": {"kind": "sqs", "queue": "ssh-jobs", "provider": "ministack"},
        },
    )
    remote.up("--wait-timeout", "180", timeout=240)

    rows = {r["name"]: r for r in json.loads(remote.ok("backing", "--json").stdout)}
    assert (rows["uploads"]["runs_on"], rows["jobs"]["runs_on"]) == (
        sshd.docker_host, "this machine",
    )  # fmt: skip
    header = remote.ok("backing").stdout.splitlines()[0]
    assert header.split()[-2:] == ["RUNS", "ON"]
    env = wait_for(lambda: remote.has_file("api.env") and remote.read_json("api.env"), 10, "env")
    s3 = boto3.client(
        "s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    assert env["AWS_ENDPOINT_URL_S3"].startswith("http://127.0.0.1:")
    assert "ssh-uploads" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_container_there_using_an_emulator_here_is_a_problem_line(
    remote: DockerStack, sshd: Sshd
) -> None:
    """host.docker.internal on the engine is the remote machine: status says so."""
    remote.write(
        {"worker": busybox("exec sleep 600", uses=["jobs"])},
        backing={"jobs": {"kind": "sqs", "queue": "ssh-jobs", "provider": "ministack"}},
    )
    remote.ok("up", "-d")
    assert engine_problems(remote) == [
        f"ministack runs on this machine; containers on the engine {sshd.docker_host} cannot "
        "reach it (give it a container provider, e.g. localstack)"
    ]
