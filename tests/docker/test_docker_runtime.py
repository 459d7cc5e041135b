"""The docker runtime against a real engine: what devstack creates, and what it leaves alone.

What devstack says (status, logs, exit codes) is checked against what the engine has
(`docker inspect` through the SDK): labels, port bindings, networks, volumes and images.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from typing import Any

import pytest
from dockerstack import HEALTH, HTTP_HEALTH, DockerStack, busybox, web

from devstack.api.client import Client
from helpers import environ, free_port, free_ports, service, wait_for

pytestmark = pytest.mark.timeout(90)

IDLE = "trap 'exit 0' TERM; echo up; while :; do sleep 0.1; done"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


def plan_lines(result: Any) -> list[str]:
    """The `» kind target: cause` lines `up` prints for the steps it takes."""
    return [line for line in result.stderr.splitlines() if line.startswith("» ")]


# -- what a container carries -----------------------------------------------------------


def test_container_is_named_labelled_and_wired_as_documented(dstack: DockerStack) -> None:
    dstack.write({"web": web(env={"GREETING": "hi"})})
    dstack.up()
    status = dstack.services()["web"]

    c = dstack.container("web")
    assert c.name == f"{dstack.name}-web-1"
    labels = c.labels
    assert labels["devstack.stack"] == dstack.stack_id
    assert labels["devstack.service"] == "web"
    assert labels["devstack.replica"] == "0"
    assert labels["devstack.spec-hash"] == status["spec_hash"]
    spec = json.loads(labels["devstack.spec"])
    assert {"image", "command", "ports", "volumes", "env.GREETING", "env.PORT"} <= spec.keys()

    host_config = c.attrs["HostConfig"]
    assert host_config["Init"] is True
    assert "host.docker.internal:host-gateway" in (host_config["ExtraHosts"] or [])
    assert "GREETING=hi" in c.attrs["Config"]["Env"]
    assert "PORT=8080" in c.attrs["Config"]["Env"]  # the container port, not the host one
    networks = c.attrs["NetworkSettings"]["Networks"]
    assert list(networks) == [dstack.network]
    assert "web" in (networks[dstack.network]["Aliases"] or [])
    network = dstack.engine.networks.get(dstack.network)
    assert network.attrs["Labels"].get("devstack.stack") == dstack.stack_id


def test_published_ports_bind_loopback_unless_the_manifest_says_otherwise(
    dstack: DockerStack,
) -> None:
    fixed, public = free_ports(2)
    dstack.write(
        {"web": web(ports=["8080", f"{fixed}:8081", f"0.0.0.0:{public}:8082"])},
    )
    dstack.up()

    assigned = dstack.read_json(".devstack/ports.json")["web:8080"]
    bindings = dstack.container("web").attrs["NetworkSettings"]["Ports"]
    assert bindings["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(assigned)}]
    assert bindings["8081/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(fixed)}]
    assert bindings["8082/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": str(public)}]
    status = dstack.services()["web"]
    assert status["ports"][0] == assigned
    assert get(f"{status['url']}/health").strip() == "ok"

    # The assigned host port is kept: a new daemon, same URL and no restart.
    dstack.ok("down")
    dstack.up()
    again = dstack.container("web").attrs["NetworkSettings"]["Ports"]["8080/tcp"]
    assert again == [{"HostIp": "127.0.0.1", "HostPort": str(assigned)}]


# -- idempotent up --------------------------------------------------------------------


def test_noop_up_recreates_nothing_and_an_env_change_recreates_one(dstack: DockerStack) -> None:
    dstack.write({"a": busybox(IDLE, env={"X": "1"}), "b": busybox(IDLE, env={"X": "1"})})
    dstack.up()
    first = dstack.ids()
    assert first.keys() == {"a", "b"}

    again = dstack.up()
    assert plan_lines(again) == []
    assert dstack.ids() == first

    dstack.write({"a": busybox(IDLE, env={"X": "2"}), "b": busybox(IDLE, env={"X": "1"})})
    changed = dstack.up()
    assert plan_lines(changed) == ["» restart service:a: spec-hash changed: env.X"]
    second = dstack.ids()
    assert second["b"] == first["b"]
    assert second["a"] != first["a"]
    assert "X=2" in dstack.container("a").attrs["Config"]["Env"]
    assert len(dstack.containers()) == 2


# -- builds ---------------------------------------------------------------------------

DOCKERFILE = f"""\
FROM devstack-test/busybox:1
COPY page.txt /www/page.txt
CMD {json.dumps(["httpd", "-f", "-p", "8080", "-h", "/www"])}
"""


def write_app(dstack: DockerStack, page: str = "v1") -> None:
    app = dstack.root / "app"
    app.mkdir(exist_ok=True)
    (app / "Dockerfile").write_text(DOCKERFILE)
    (app / "page.txt").write_text(page)
    (app / ".dockerignore").write_text("*.log\n")
    (app / "notes.log").write_text("ignored\n")
    dstack.write({"app": {"build": "./app", "ports": ["8080"], "healthcheck": dict(HTTP_HEALTH)}})


def app_tags(dstack: DockerStack) -> list[str]:
    return sorted(t for i in dstack.engine.images.list(name=f"{dstack.name}/app") for t in i.tags)


def builds(dstack: DockerStack) -> int:
    """How many builds devstack started for `app` (its `building IMAGE` events)."""
    return dstack.log_text("app").count(f"building {dstack.name}/app:")


def test_build_happens_once_and_again_only_when_the_context_changes(dstack: DockerStack) -> None:
    write_app(dstack)
    dstack.up()
    (tag,) = app_tags(dstack)
    assert tag.startswith(f"{dstack.name}/app:")
    image_id = dstack.engine.images.get(tag).id
    container = dstack.container("app")
    assert container.image.id == image_id
    url = dstack.services()["app"]["url"]
    assert get(f"{url}/page.txt") == "v1"
    assert builds(dstack) == 1

    # Nothing changed: no build, same image, same container.
    dstack.up()
    assert app_tags(dstack) == [tag]
    assert dstack.engine.images.get(tag).id == image_id
    assert dstack.container("app").id == container.id
    assert builds(dstack) == 1

    # A file .dockerignore excludes is not part of the context.
    (dstack.root / "app" / "notes.log").write_text("changed, and still ignored\n")
    dstack.up()
    assert app_tags(dstack) == [tag]
    assert dstack.container("app").id == container.id
    assert builds(dstack) == 1

    # A file the build reads changed: a new image, and the container runs it.
    (dstack.root / "app" / "page.txt").write_text("v2")
    rebuilt = dstack.up()
    assert builds(dstack) == 2
    (new_tag,) = (t for t in app_tags(dstack) if t != tag)
    assert any("restart service:app" in line for line in plan_lines(rebuilt)), rebuilt.stderr
    fresh = dstack.container("app")
    assert fresh.id != container.id
    assert fresh.image.id == dstack.engine.images.get(new_tag).id
    assert get(f"{dstack.services()['app']['url']}/page.txt") == "v2"


def test_a_failing_build_is_reported_and_keeps_the_old_container(dstack: DockerStack) -> None:
    write_app(dstack)
    dstack.up()
    before = dstack.container("app").id
    url = dstack.services()["app"]["url"]

    (dstack.root / "app" / "Dockerfile").write_text(DOCKERFILE + "RUN false\n")
    began = time.monotonic()
    result = dstack.run("up", "-d", "--wait", "--wait-timeout", "8")
    took = time.monotonic() - began

    # The old container keeps serving.
    assert dstack.container("app").id == before
    assert dstack.container("app").status == "running"
    assert get(f"{url}/page.txt") == "v1"
    assert result.returncode == 1, result
    assert "Step 4/5 : RUN false" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    # A build that failed is a failure now, not after the wait timeout.
    reason = dstack.services()["app"]["reason"] or ""
    assert "RUN false" in reason, reason
    assert took < 7.0, f"`up --wait` took {took:.1f}s to report a failed build"


# -- orphans and volumes --------------------------------------------------------------


def test_orphan_container_is_reported_then_removed_by_remove_orphans(dstack: DockerStack) -> None:
    dstack.write({"keep": busybox(IDLE), "gone": busybox(IDLE)})
    dstack.up()
    ids = dstack.ids()

    dstack.write({"keep": busybox(IDLE)})
    dstack.up()
    orphan = dstack.services()["gone"]
    assert (orphan["state"], orphan["runtime"]) == ("orphan", "docker")
    assert dstack.container("gone").id == ids["gone"]

    dstack.up("--remove-orphans")
    wait_for(lambda: dstack.containers("gone") == [], 10.0, "the orphan's container to go")
    assert "gone" not in dstack.services()
    assert dstack.ids() == {"keep": ids["keep"]}


def test_named_volume_outlives_down_and_bind_mounts_honour_ro(dstack: DockerStack) -> None:
    shared = dstack.root / "shared"
    shared.mkdir()
    (shared / "in.txt").write_text("from the host\n")
    dstack.write(
        {"box": busybox(IDLE, volumes=["data:/data", "./shared:/shared:ro"])},
        volumes={"data": {}},
    )
    dstack.up()
    volume = dstack.engine.volumes.get(f"{dstack.name}_data")
    assert volume.attrs["Labels"].get("devstack.stack") == dstack.stack_id

    assert dstack.exec("box", "echo kept > /data/file") == (0, "")
    assert dstack.exec("box", "cat /shared/in.txt") == (0, "from the host\n")
    code, _ = dstack.exec("box", "touch /shared/new")
    assert code != 0, "a :ro bind mount was writable"

    dstack.ok("down")
    assert dstack.containers() == []
    dstack.engine.volumes.get(f"{dstack.name}_data")  # still there

    dstack.up()
    assert dstack.exec("box", "cat /data/file") == (0, "kept\n")


def test_down_removes_the_network_and_down_v_the_volumes(dstack: DockerStack) -> None:
    dstack.write({"box": busybox(IDLE, volumes=["data:/data"])}, volumes={"data": {}})
    dstack.up()
    assert dstack.engine.networks.list(names=[dstack.network])
    dstack.engine.volumes.get(f"{dstack.name}_data")

    dstack.ok("down", "-v")
    assert dstack.containers() == []
    volumes = [v.name for v in dstack.engine.volumes.list()]
    networks = [n.name for n in dstack.engine.networks.list(names=[dstack.network])]
    assert (volumes.count(f"{dstack.name}_data"), networks) == (0, [])


# -- one stack, both runtimes -----------------------------------------------------------

API = """\
import http.server, os, urllib.request

web = os.environ["WEB_URL"]
with urllib.request.urlopen(web + "/health", timeout=5) as reply:
    print(f"api fetched {web}: {reply.read().decode().strip()}", flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"api-ok")

    def log_message(self, *_):
        pass


# 0.0.0.0, not loopback: a container reaches the host through host.docker.internal, the
# bridge's gateway address, which a server bound to 127.0.0.1 does not answer on.
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""

CLIENT = (
    "trap 'exit 0' TERM; "
    'until timeout 3 wget -qO- "$API_URL/health" > /tmp/api; do sleep 0.2; done; '
    'echo "client reached api: $(cat /tmp/api)"; '
    "while :; do sleep 0.1; done"
)


def test_host_process_and_containers_reach_each_other(dstack: DockerStack) -> None:
    (dstack.root / "api.py").write_text(API)
    api_port = free_port()
    dstack.write(
        {
            "web": web(),
            "api": {
                "command": [sys.executable, "api.py"],
                "ports": [str(api_port)],
                "env": {"WEB_URL": "${services.web.url}"},
                "depends_on": ["web"],
                "healthcheck": dict(HTTP_HEALTH),
            },
            "client": busybox(
                CLIENT,
                env={"API_URL": "${services.api.url}", "WEB_URL": "${services.web.url}"},
                depends_on=["api", "web"],
                # Container to container, by service name on the stack network.
                healthcheck={"command": "timeout 3 wget -qO- http://web:8080/health", **HEALTH},
            ),
        }
    )
    dstack.up()
    services = dstack.services()
    web_port = services["web"]["ports"][0]

    # The host process gets the published port on loopback, and reached it.
    assert environ(services["api"]["pid"])["WEB_URL"] == f"http://127.0.0.1:{web_port}"
    wait_for(
        lambda: f"api fetched http://127.0.0.1:{web_port}: ok" in dstack.log_text("api"),
        10.0,
        "the api process's fetch of web",
    )

    # A container gets the service name for a container, the host gateway for a process.
    env = dstack.container("client").attrs["Config"]["Env"]
    assert "WEB_URL=http://web:8080" in env
    assert f"API_URL=http://host.docker.internal:{api_port}" in env
    assert services["client"]["health"] == "healthy"  # wget http://web:8080 from inside
    wait_for(
        lambda: "client reached api: api-ok" in dstack.log_text("client"),
        15.0,
        "the container to reach the host process through host.docker.internal",
    )


def test_config_show_gives_the_url_the_process_got(dstack: DockerStack) -> None:
    dstack.write(
        {
            "web": busybox(ports=["8080"]),
            "api": {"command": ["sleep", "300"], "env": {"WEB_URL": "${services.web.url}"}},
        }
    )
    dstack.up()
    pid = dstack.services()["api"]["pid"]
    got = environ(pid)["WEB_URL"]
    assert got == f"http://127.0.0.1:{dstack.read_json('.devstack/ports.json')['web:8080']}"
    shown = json.loads(dstack.ok("config", "show", "api", "--json").stdout)
    values = {v["name"]: v["value"] for v in shown["variables"]}
    assert values["WEB_URL"] == got


def test_first_up_of_several_containers_creates_one_network(dstack: DockerStack) -> None:
    """Regression: containers started in parallel each created `<stack>_default`, and
    every start then failed with 'network ... is ambiguous'."""
    dstack.write({name: busybox(IDLE) for name in ("one", "two", "three")})
    dstack.up()
    networks = dstack.engine.networks.list(names=[dstack.network])
    assert [n.name for n in networks] == [dstack.network]
    assert len(dstack.containers()) == 3


def test_a_network_removed_behind_our_back_is_created_again_for_the_next_start(
    dstack: DockerStack,
) -> None:
    """The daemon remembers that it ensured the stack network (parallel starts no longer
    list it each time); one removed by hand meanwhile must not fail the next start.

    `restart: "no"`: the network can only be removed while no container is on it, and
    with a restart policy the daemon may start `one` again in between (a CI run lost
    that race: "network ... has active endpoints")."""
    dstack.write({"one": busybox(IDLE, restart="no")})
    dstack.up()
    dstack.container("one").remove(force=True)
    wait_for(lambda: not dstack.containers("one"), 10.0, "one's container to be gone")
    dstack.engine.networks.get(dstack.network).remove()
    dstack.write({"one": busybox(IDLE, restart="no"), "two": busybox(IDLE)})
    dstack.up()
    assert {s["name"]: s["state"] for s in dstack.services().values()} == {
        "one": "running",
        "two": "running",
    }
    networks = dstack.engine.networks.list(names=[dstack.network])
    assert [n.name for n in networks] == [dstack.network]


# -- the engine -------------------------------------------------------------------------

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent.sock"}


def mixed(dstack: DockerStack) -> None:
    dstack.write({"api": service("api", port=free_port()), "box": busybox(IDLE)})


def test_unreachable_engine_fails_containers_clearly_and_spares_processes(
    dstack: DockerStack,
) -> None:
    mixed(dstack)
    result = dstack.run("up", "-d", "--wait", "--wait-timeout", "3", env=NO_ENGINE)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr + result.stdout
    naming = [line for line in result.stderr.splitlines() if "unix:///nonexistent.sock" in line]
    assert naming, result.stderr
    assert any(line.startswith("  box:") for line in naming), result.stderr
    assert "cannot reach the Docker engine" in naming[0]

    status = dstack.services()
    assert (status["api"]["state"], status["api"]["runtime"]) == ("running", "process")
    assert status["box"]["state"] != "running"
    assert "nonexistent.sock" in (status["box"]["reason"] or "")
    assert dstack.containers() == []


def test_unreachable_engine_fails_the_service_at_once_and_backs_off(dstack: DockerStack) -> None:
    mixed(dstack)
    dstack.ok("up", "-d", env=NO_ENGINE)
    wait_for(
        lambda: dstack.live()["box"]["state"] in ("failed", "restarting", "exited"),
        4.0,
        "box to be reported failed",
    )
    # The restart policy backs off: by the time it is reported, a start failed once or twice.
    attempts = dstack.log_text("box").count("start service:box failed")
    assert attempts <= 3, f"{attempts} start attempts before box was reported: no backoff"


def test_an_exit_is_told_at_the_engine_s_time_of_the_death(dstack: DockerStack) -> None:
    # The restart backoff counts from the exit; the `exited` event carries the engine's
    # time of the `die`, not when the daemon got round to logging it.
    dstack.write({"box": busybox("sleep 0.3; exit 3", restart="no")})
    dstack.ok("up", "-d")
    told = wait_for(
        lambda: [
            line
            for line in Client(dstack.socket).logs(services=["box"])
            if line["stream"] == "event" and line["text"] == "box exited with code 3"
        ],
        20.0,
        "box's exit to be told",
    )
    cid = dstack.container("box").id
    deaths = [
        e["timeNano"] / 1e9
        for e in dstack.engine.api.events(
            since=int(time.time()) - 60, until=int(time.time()) + 1, decode=True,
            filters={"container": cid, "event": "die"},
        )
    ]  # fmt: skip
    assert [line["ts"] for line in told] == deaths
