"""The compose keys an import used to drop (issue 16's last notes), on a real engine: one
stack, then what the engine made of each key checked from outside and from inside.

A UDP port is tested the only way that counts: a datagram sent to the published port on
127.0.0.1 comes back from the service (an echo server), within a deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest
from dockerstack import DockerStack, busybox, inspect, running_stack

from docker_images import BUSYBOX_IMAGE, PYTHON_IMAGE, ensure_image

pytestmark = pytest.mark.timeout(180)

# Answers every datagram with "echo:" and the datagram; one line so `sh -c` needs no file.
UDP_ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', 514))\n"
    "while True:\n"
    "    data, peer = s.recvfrom(2048)\n"
    "    s.sendto(b'echo:' + data, peer)\n"
)


def manifest() -> dict[str, Any]:
    return {
        "syslog": {
            "image": PYTHON_IMAGE,
            "command": ["python3", "-u", "-c", UDP_ECHO],
            "ports": ["514/udp"],  # a free host port, published as udp
            "use_api_socket": True,
        },
        "es": busybox(
            "exec sleep 3600",
            env={"discovery.type": "single-node"},
            aliases=["search.internal"],
            devices=["/dev/null:/dev/devstack-null:r"],
        ),
    }


@pytest.fixture(scope="module")
def up(engine: docker.DockerClient) -> Iterator[DockerStack]:
    ensure_image(PYTHON_IMAGE)
    with running_stack(engine, "ds-cn-", lambda stack: stack.write(manifest())) as stack:
        yield stack


def test_a_udp_port_is_published_and_a_datagram_comes_back(up: DockerStack) -> None:
    published = inspect(up, "syslog")["NetworkSettings"]["Ports"]
    assert "514/tcp" not in published
    (binding,) = published["514/udp"]
    assert binding["HostIp"] == "127.0.0.1"
    address = ("127.0.0.1", int(binding["HostPort"]))

    # UDP may lose a datagram while the server starts: send again until the deadline.
    reply = b""
    deadline = time.monotonic() + 20.0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline and not reply:
            sock.sendto(b"<14>hello", address)
            try:
                reply = sock.recv(2048)
            except TimeoutError:
                continue
    assert reply == b"echo:<14>hello"


def test_a_variable_with_dots_reaches_the_container(up: DockerStack) -> None:
    assert "discovery.type=single-node" in inspect(up, "es")["Config"]["Env"]


def test_an_alias_resolves_on_the_stack_network(up: DockerStack) -> None:
    networks = inspect(up, "es")["NetworkSettings"]["Networks"]
    assert "search.internal" in networks[up.network]["Aliases"]
    code, output = up.exec(
        "syslog", "python3 -c \"import socket; print(socket.gethostbyname('search.internal'))\""
    )
    assert (code, output.strip()) == (0, networks[up.network]["IPAddress"])


def test_a_device_is_in_the_container(up: DockerStack) -> None:
    (device,) = inspect(up, "es")["HostConfig"]["Devices"]
    assert device == {
        "PathOnHost": "/dev/null",
        "PathInContainer": "/dev/devstack-null",
        "CgroupPermissions": "r",
    }
    assert up.exec("es", "test -c /dev/devstack-null && echo char") == (0, "char\n")


PING = (
    "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/var/run/docker.sock'); "
    "s.sendall(b'GET /_ping HTTP/1.0\\r\\n\\r\\n'); print(s.recv(4096).decode())"
)


def test_the_api_socket_reaches_the_engine(up: DockerStack) -> None:
    # An HTTP request to the engine through the mounted socket: its /_ping answers OK.
    code, output = up.exec("syslog", f'python3 -c "{PING}"')
    assert code == 0 and output.strip().endswith("OK"), output


def test_a_gpu_request_reaches_the_engine(dstack: DockerStack) -> None:
    # No GPU here: the engine refuses the request, as it does for compose, and up says so.
    dstack.write({"ollama": busybox("exec sleep 3600", gpus=[{"driver": "nvidia", "count": 1}])})

    result = dstack.run("up", "-d", "--wait", "--wait-timeout", "20")

    assert result.returncode != 0
    assert 'could not select device driver "nvidia" with capabilities: [[gpu]]' in (
        result.stdout + result.stderr
    ), result.stdout + result.stderr


def test_additional_contexts_reach_the_build(dstack: DockerStack) -> None:
    # A folder, another service's image and an image by reference, as compose names them;
    # the engine's classic builder knows none of them: devstack makes each an image.
    root = dstack.root
    (root / "app").mkdir()
    (root / "app" / "Dockerfile").write_text(
        "FROM base\nCOPY --from=assets /greeting /greeting\nCOPY --from=ext /built /built\n"
    )
    (root / "assets").mkdir()
    (root / "assets" / "greeting").write_text("hello from a folder\n")
    (root / "ext").mkdir()
    (root / "ext" / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\nRUN echo built > /built\n")
    contexts = {
        "assets": "./assets",
        "ext": "service:ext",
        "base": f"docker-image://{BUSYBOX_IMAGE}",
    }
    dstack.write(
        {
            "app": {"build": {"context": "./app", "additional_contexts": contexts},
                    "command": ["sh", "-c", "exec sleep 3600"]},
            "ext": {"build": "./ext", "command": ["sh", "-c", "exec sleep 3600"]},
        }
    )  # fmt: skip

    dstack.up()

    assert dstack.exec("app", "cat /greeting /built") == (0, "hello from a folder\nbuilt\n")
    # Built again only when a context changes: the folder's content names the tag.
    first = dstack.container("app").image.id
    (root / "assets" / "greeting").write_text("changed\n")
    dstack.up()
    assert dstack.container("app").image.id != first
    assert dstack.exec("app", "cat /greeting") == (0, "changed\n")
