"""`devstack run` and `devstack exec` on container services: a real engine, the docker CLI.

A one-off is a new container of the service's image (built first when missing) with the
service's env and volumes, on the stack network; its exit code is propagated and it is
removed afterwards. It is not part of the stack: a reconcile neither adopts nor removes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from dockerstack import DockerStack, busybox, web

from docker_images import BUSYBOX_IMAGE
from helpers import describe, wait_for

pytestmark = pytest.mark.timeout(120)

BACKING = {"payments": {"kind": "url", "url": "http://payments.example:9/pay"}}
SLEEP = "exec sleep 3600"


def one_offs(dstack: DockerStack) -> list[str]:
    """Names of the stack's one-off containers, running or not."""
    found = dstack.engine.containers.list(
        all=True, filters={"label": "devstack.oneoff=1", "name": f"^/{dstack.name}-"}
    )
    return [c.name or "" for c in found]


@contextmanager
def attached(dstack: DockerStack, *args: str) -> Iterator[subprocess.Popen[str]]:
    """The CLI in the background with pipes, in its own process group (as a terminal's
    foreground job); killed with its group if a test fails."""
    with subprocess.Popen(
        [sys.executable, "-m", "devstack.cli.main", *args],
        cwd=dstack.root,
        env=dstack.cli_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            yield child
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def write_tool(dstack: DockerStack) -> None:
    """`tool` is built (WORKDIR /srv), binds `payments`, has env and a volume; `web` runs
    busybox httpd on the same volume."""
    (dstack.root / "tool").mkdir()
    (dstack.root / "tool" / "Dockerfile").write_text(
        f'FROM {BUSYBOX_IMAGE}\nWORKDIR /srv\nCMD ["sh", "-c", "{SLEEP}"]\n'
    )
    dstack.write(
        {
            "web": web(volumes=["data:/data"]),
            "tool": {
                "build": "tool",
                "ports": ["9000"],
                "uses": ["payments"],
                "env": {"MSG": "hello, world", "DB_PASSWORD": "pw"},
                "volumes": ["data:/data"],
            },
        },
        volumes={"data": {}},
        backing=BACKING,
    )


def test_run_without_a_command_runs_the_services_own(dstack: DockerStack) -> None:
    dstack.write({"job": busybox("echo own command; exit 6")})

    result = dstack.run("run", "job")

    assert result.returncode == 6, describe(result, dstack)
    assert result.stdout == "own command\n"


@pytest.mark.parametrize(("script", "code"), [("exit 0", 0), ("exit 3", 3), ("kill -9 $$", 137)])
def test_run_propagates_the_containers_exit_code_and_removes_it(
    dstack: DockerStack, script: str, code: int
) -> None:
    dstack.write({"app": busybox(SLEEP)})

    result = dstack.run("run", "app", "--", "sh", "-c", script)

    assert result.returncode == code, describe(result, dstack)
    assert one_offs(dstack) == []


def test_run_builds_a_missing_image_and_gives_the_one_off_the_services_config(
    dstack: DockerStack,
) -> None:
    write_tool(dstack)
    script = 'pwd; echo "$MSG|$PAYMENTS_URL|$PORT|$DB_PASSWORD"'

    result = dstack.run("run", "tool", "--", "sh", "-c", script)

    assert result.returncode == 0, describe(result, dstack)
    assert result.stdout.splitlines() == [
        "/srv",
        "hello, world|http://payments.example:9/pay|9000|pw",
    ]
    assert f"building {dstack.name}/tool:" in result.stderr
    assert "pw" not in result.stderr  # no secret in what devstack itself prints
    assert dstack.engine.images.list(name=f"{dstack.name}/tool")
    assert one_offs(dstack) == []


def test_a_one_off_joins_the_stack_and_leaves_it_untouched(dstack: DockerStack) -> None:
    write_tool(dstack)
    dstack.up()
    ids = dstack.ids()
    # On the stack network (web by name) and on the stack's volume (a file web serves).
    script = (
        "echo $(wget -qO- http://web:8080/health); echo shared > /data/from-one-off; "
        "echo ready; read line; exit 5"
    )

    with attached(dstack, "run", "tool", "--", "sh", "-c", script) as one_off:
        assert one_off.stdout is not None and one_off.stdin is not None
        assert one_off.stdout.readline() == "ok\n"
        assert one_off.stdout.readline() == "ready\n"
        (name,) = one_offs(dstack)
        assert name.startswith(f"{dstack.name}-tool-run-")
        assert dstack.exec("web", "cat /data/from-one-off") == (0, "shared\n")
        # A reconcile while it runs neither adopts it nor removes it as an orphan.
        dstack.up("--remove-orphans")
        assert set(dstack.services()) == {"web", "tool"}
        assert one_offs(dstack) == [name]
        one_off.stdin.write("done\n")
        one_off.stdin.close()
        assert one_off.wait(timeout=30) == 5, one_off.stderr.read() if one_off.stderr else ""

    assert one_offs(dstack) == []
    assert dstack.ids() == ids
    assert {s["name"]: s["state"] for s in dstack.live().values()} == {
        "web": "running",
        "tool": "running",
    }


def test_ctrl_c_reaches_the_one_off_container(dstack: DockerStack) -> None:
    dstack.write({"app": busybox(SLEEP)})
    script = "trap 'echo got INT; exit 42' INT; echo ready; while :; do sleep 0.05; done"

    with attached(dstack, "run", "app", "--", "sh", "-c", script) as one_off:
        assert one_off.stdout is not None
        assert one_off.stdout.readline() == "ready\n"
        os.killpg(one_off.pid, signal.SIGINT)  # what Ctrl-C does to the foreground job
        assert one_off.wait(timeout=30) == 42
        assert one_off.stdout.read() == "got INT\n"

    wait_for(lambda: one_offs(dstack) == [], 10.0, "the one-off container to be removed")


def test_exec_runs_a_command_in_the_running_container(dstack: DockerStack) -> None:
    dstack.write({"web": web(env={"MSG": "from the service"})})
    dstack.up()
    container = dstack.container("web")

    result = dstack.run("exec", "web", "--", "sh", "-c", 'echo "$MSG $PORT $(hostname)"; exit 4')

    assert result.returncode == 4, describe(result, dstack)
    assert result.stdout == f"from the service 8080 {(container.id or '')[:12]}\n"
    assert dstack.ids() == {"web": container.id}


def test_exec_into_a_stopped_container_service_is_refused(dstack: DockerStack) -> None:
    dstack.write({"web": web()})
    dstack.up()
    dstack.ok("stop", "web")

    result = dstack.run("exec", "web", "--", "true")

    assert result.returncode == 1, describe(result, dstack)
    assert "web is not running" in result.stderr and "stopped" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_the_docker_cli_exec_says_so(dstack: DockerStack) -> None:
    dstack.write({"web": web()})
    dstack.up()

    result = dstack.run("exec", "web", "--", "true", env={"PATH": "/nonexistent"})

    assert result.returncode == 1, describe(result, dstack)
    assert "the docker CLI is not installed" in result.stderr


def test_exec_with_replica_enters_that_replicas_container(dstack: DockerStack) -> None:
    dstack.write({"app": busybox(SLEEP, replicas=2)})
    dstack.up()
    by_replica = {c.labels["devstack.replica"]: c for c in dstack.containers("app")}
    assert set(by_replica) == {"0", "1"}

    result = dstack.run("exec", "--replica", "1", "app", "--", "hostname")

    assert result.returncode == 0, describe(result, dstack)
    assert result.stdout == f"{(by_replica['1'].id or '')[:12]}\n"
