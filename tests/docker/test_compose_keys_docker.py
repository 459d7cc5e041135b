"""Compose's container keys on a real engine: one stack whose services use them all, then
the created containers inspected and exec'd into (user, folders, mounts, secrets, limits,
hooks, a shared network, the image's own HEALTHCHECK)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest
from dockerstack import DockerStack, busybox, inspect, running_stack

from docker_images import BUSYBOX_IMAGE
from helpers import wait_for

pytestmark = pytest.mark.timeout(180)

TOKEN = "tok-5f1e9a-never-shown"  # an environment-sourced secret's value
FAST = {"interval": "200ms", "start_interval": "50ms", "timeout": "2s", "retries": 100}
HEALTHCHECKED_IMAGE = f"""\
FROM {BUSYBOX_IMAGE}
HEALTHCHECK --interval=300ms --timeout=2s CMD test -f /tmp/ok
"""


def manifest() -> dict[str, Any]:
    main = busybox(
        None,
        entrypoint=["/bin/sh", "-c"],
        command=["touch /tmp/by-entrypoint; exec sleep 3600"],
        user="1000:1000",
        working_dir="/srv/app",
        cap_add=["NET_ADMIN"],
        cap_drop=["MKNOD"],
        ulimits={"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512},
        tmpfs="/scratch",
        shm_size="32m",
        extra_hosts=["somehost:10.1.2.3"],
        ports=["9000-9001"],
        volumes=[
            "/anonymous",
            {"type": "volume", "source": "data", "target": "/data"},
            {
                "type": "volume",
                "source": "data",
                "target": "/part",
                "read_only": True,
                "volume": {"subpath": "part"},
            },
            {"type": "bind", "source": "./conf", "target": "/conf", "read_only": True},
            {"type": "tmpfs", "target": "/fast", "tmpfs": {"size": 1048576}},
        ],
        secrets=[
            "db_password",
            {"source": "api_token", "target": "token", "uid": "1000", "mode": "0400"},
        ],
        configs=[
            "motd",
            {"source": "app_conf", "target": "/etc/app.conf"},
            {"source": "motd", "target": "/tmp/motd"},  # into a folder that exists: kept as is
        ],
        healthcheck={"test": ["CMD-SHELL", "test -f /tmp/by-entrypoint"], **FAST},
        post_start=[
            {
                "command": "sh -c 'echo $GREETING > /tmp/post'",
                "user": "root",
                "environment": {"GREETING": "hello"},
            }
        ],
        pre_stop=[{"command": ["sh", "-c", "echo bye > /data/pre-stop"], "user": "root"}],
    )
    return {
        "main": main,
        "sidecar": busybox("exec sleep 3600", network_mode="service:main"),
        "imagehc": {"build": "./hc", "command": ["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 3600"]},
        "after": busybox("exec sleep 3600", depends_on=["imagehc"]),
    }  # fmt: skip


# The stack's top-level sections: the environment, secrets, configs and volumes it uses.
TOP: dict[str, Any] = {
    "environments": {"dev": {"vars": {"API_TOKEN": {"value": TOKEN, "secret": True}}}},
    "secrets": {"db_password": {"file": "./db_password.txt"},
                "api_token": {"environment": "API_TOKEN"}},
    "configs": {"motd": {"content": "welcome"}, "app_conf": {"file": "./app.conf"}},
    "volumes": {"data": None},
}  # fmt: skip


def prepare(stack: DockerStack) -> None:
    root, engine = stack.root, stack.engine
    (root / "conf").mkdir()
    (root / "conf" / "app.ini").write_text("mode=dev\n")
    (root / "db_password.txt").write_text("file-secret\n")
    (root / "app.conf").write_text("listen 80\n")
    (root / "hc").mkdir()
    (root / "hc" / "Dockerfile").write_text(HEALTHCHECKED_IMAGE)
    # The subpath must exist in the volume: made by a container, as an app would.
    volume = f"{stack.name}_data"
    engine.volumes.create(volume, labels={"devstack.stack": stack.stack_id})
    engine.containers.run(BUSYBOX_IMAGE, ["sh", "-c", "mkdir /v/part && echo inside > /v/part/f"],
                          volumes={volume: {"bind": "/v"}}, remove=True)  # fmt: skip
    stack.write(manifest(), **TOP)


@pytest.fixture(scope="module")
def up(engine: docker.DockerClient) -> Iterator[DockerStack]:
    with running_stack(engine, "ds-ck-", prepare) as stack:
        yield stack


def test_the_container_runs_as_the_compose_keys_say(up: DockerStack) -> None:
    attrs = inspect(up, "main")
    config, host = attrs["Config"], attrs["HostConfig"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"]
    assert config["User"] == "1000:1000"
    assert host["CapAdd"] == ["NET_ADMIN"] and host["CapDrop"] == ["MKNOD"]
    assert host["ShmSize"] == 32 * 1024 * 1024
    assert "somehost:10.1.2.3" in host["ExtraHosts"]
    assert sorted(host["PortBindings"]) == ["9000/tcp", "9001/tcp"]
    assert up.exec("main", "id -u; id -g; pwd; test -f /tmp/by-entrypoint && echo entry") == (
        0,
        "1000\n1000\n/srv/app\nentry\n",
    )
    # The limits the service runs with (PID 1 is the init process it runs under).
    code, limits = up.exec("main", "grep -E 'open files|processes' /proc/1/limits")
    assert code == 0
    assert [line.split()[-3:-1] for line in limits.splitlines()] == [
        ["512", "512"],
        ["1024", "2048"],
    ]
    code, mounts = up.exec("main", "cat /proc/mounts")
    assert code == 0
    assert " /scratch tmpfs " in mounts and " /fast tmpfs " in mounts
    assert "size=1024k" in next(line for line in mounts.splitlines() if " /fast " in line)
    assert any(m["Destination"] == "/anonymous" and m["Type"] == "volume" for m in attrs["Mounts"])


def test_volumes_binds_and_subpaths_are_mounted(up: DockerStack) -> None:
    assert up.exec("main", "cat /conf/app.ini /part/f") == (0, "mode=dev\ninside\n")
    assert up.exec("main", "touch /conf/x 2>/dev/null || echo read-only")[1] == "read-only\n"
    assert up.exec("main", "touch /part/x 2>/dev/null || echo read-only")[1] == "read-only\n"


def test_secrets_and_configs_are_where_compose_puts_them(up: DockerStack) -> None:
    code, text = up.exec(
        "main",
        "cat /run/secrets/db_password /run/secrets/token /motd /etc/app.conf; "
        "stat -c '%a %u' /run/secrets/token; cat /tmp/motd; stat -c ' %a' /tmp",
    )
    assert (code, text) == (
        0,
        f"file-secret\n{TOKEN}welcome" + "listen 80\n400 1000\nwelcome 1777\n",
    )


def test_an_environment_sourced_secret_is_never_shown(up: DockerStack) -> None:
    for args in (("status", "--json"), ("config", "show", "main"), ("logs", "main"),
                 ("export", "compose"), ("up", "--dry-run")):  # fmt: skip
        result = up.ok(*args)
        assert TOKEN not in result.stdout + result.stderr, args


def test_post_start_ran_and_the_healthcheck_test_judges_readiness(up: DockerStack) -> None:
    assert up.exec("main", "cat /tmp/post") == (0, "hello\n")
    assert up.services()["main"]["health"] == "healthy"
    assert inspect(up, "main")["Config"]["Healthcheck"]["Test"] == [
        "CMD-SHELL",
        "test -f /tmp/by-entrypoint",
    ]


def test_a_one_off_runs_with_the_services_compose_keys(up: DockerStack) -> None:
    # main's entrypoint is [/bin/sh, -c]: the one-off's command is its shell line.
    result = up.ok("run", "main", "--", "id -u; pwd; cat /run/secrets/token /motd; ulimit -Hn")
    assert result.stdout == f"1000\n/srv/app\n{TOKEN}welcome2048\n"


def test_a_sidecar_shares_the_services_network(up: DockerStack) -> None:
    main_id = up.container("main").id
    assert inspect(up, "sidecar")["HostConfig"]["NetworkMode"] == f"container:{main_id}"
    assert up.exec("sidecar", "cat /etc/hostname") == up.exec("main", "cat /etc/hostname")


def test_the_images_own_healthcheck_is_the_readiness_fallback(up: DockerStack) -> None:
    # `up --wait` returned: imagehc healthy (Docker's status), so its dependent started.
    status = up.services()
    assert status["imagehc"]["health"] == "healthy"
    assert status["after"]["state"] == "running"
    assert inspect(up, "imagehc")["State"]["Health"]["Status"] == "healthy"


def test_a_changed_key_recreates_only_that_container(up: DockerStack) -> None:
    before = up.ids()
    changed = manifest()
    changed["after"]["user"] = "65534"
    up.write(changed, **TOP)
    result = up.ok("up", "-d", "--wait")
    assert "service:after: spec-hash changed: user" in result.stdout + result.stderr
    after = up.ids()
    assert after["after"] != before["after"]
    assert {k: v for k, v in after.items() if k != "after"} == {
        k: v for k, v in before.items() if k != "after"
    }
    assert up.exec("after", "id -u") == (0, "65534\n")


def test_a_sidecar_follows_its_network_owner_into_a_new_container(up: DockerStack) -> None:
    old = up.container("main").id
    up.ok("restart", "main")

    def rejoined() -> bool:
        main = [c for c in up.containers("main") if c.status == "running"]
        side = [c for c in up.containers("sidecar") if c.status == "running"]
        if len(main) != 1 or len(side) != 1 or main[0].id == old:
            return False
        return bool(side[0].attrs["HostConfig"]["NetworkMode"] == f"container:{main[0].id}")

    wait_for(rejoined, 60.0, "sidecar to join the new main container's network")
    assert up.exec("sidecar", "cat /etc/hostname") == up.exec("main", "cat /etc/hostname")


def test_pre_stop_runs_before_the_container_stops(
    up: DockerStack, engine: docker.DockerClient
) -> None:
    up.ok("stop", "main")
    wait_for(lambda: not up.containers("main"), 30.0, "main to be removed")
    volume = f"{up.name}_data"
    output = engine.containers.run(
        BUSYBOX_IMAGE, ["cat", "/v/pre-stop"], volumes={volume: {"bind": "/v"}}, remove=True
    )
    assert output == b"bye\n"


def test_a_failing_or_hanging_hook_is_one_line(engine: docker.DockerClient) -> None:
    from devstack.model.container_options import HookSpec
    from devstack.runtimes.docker_options import run_hooks

    container = engine.containers.run(BUSYBOX_IMAGE, ["sleep", "60"], detach=True, init=True)
    try:
        api = engine.api
        ok = HookSpec(("sh", "-c", "test $(id -u) = 0 && test $X = y"), env=(("X", "y"),))
        assert run_hooks(api, container.id, (ok,), "post_start", 10.0) is None
        failing = HookSpec(("sh", "-c", "exit 3"))
        assert run_hooks(api, container.id, (ok, failing), "post_start", 10.0) == (
            "post_start[1] (sh -c exit 3) exited with code 3"
        )
        hanging = HookSpec(("sleep", "30"))
        assert run_hooks(api, container.id, (hanging,), "pre_stop", 0.5) == (
            "pre_stop[0] (sleep 30) did not finish within 0.5s"
        )
    finally:
        container.remove(force=True)
