"""Nothing of a stack listens beyond 127.0.0.1 unless its manifest says so.

Checked from the kernel's socket table (sockettable.py), not from what devstack reports:
every TCP listener held by a process of the stack (found by its DEVSTACK_OWNER label),
every port Docker publishes for its containers (docker-proxy's sockets), and the daemon,
which listens on its Unix socket only. By design, one exception: `<provider>-relay`
listens on the Docker bridge address (docker0), so that containers reach a host emulator
that itself listens on 127.0.0.1 only.
"""

from __future__ import annotations

from typing import Any

import pytest
from sockettable import Listener, cmdline, listeners_of, listening_on

from components import unavailable
from devstack.providers.relay import BRIDGE, interface_address
from helpers import Stack, free_ports, service

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
pytest.importorskip("moto.server", reason="moto is not installed (pip install 'moto[server]')")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BACKING = {
    "uploads": {"kind": "s3", "bucket": "t-uploads"},  # MiniStack, the default
    "jobs": {"kind": "sqs", "queue": "t-jobs", "provider": "moto"},
}


def stack_listeners(stack: Stack) -> dict[int, list[Listener]]:
    """pid -> TCP listeners, for every live process of the stack and its daemon."""
    return listeners_of(set(stack.owned()) | set(stack.daemons()))


def exposed(found: dict[int, list[Listener]], allowed: set[str] | None = None) -> list[str]:
    """Listeners not on loopback (nor on an allowed address), described for a message."""
    allowed = allowed or set()
    return [
        f"pid {pid} ({cmdline(pid)[:80]}) listens on {listener}"
        for pid, held in sorted(found.items())
        for listener in held
        if not listener.loopback and str(listener.host) not in allowed
    ]


def port_of(status: dict[str, Any], name: str) -> int:
    return int(status[name]["ports"][0])


def test_host_processes_and_emulators_listen_on_loopback_only(stack: Stack) -> None:
    (port,) = free_ports(1)
    stack.write({"api": service("api", port=port, uses=["uploads", "jobs"])}, backing=BACKING)
    stack.up()
    status = stack.live()

    found = stack_listeners(stack)

    assert not exposed(found), exposed(found)
    for name in ("api", "ministack", "moto"):
        wanted = port_of(status, name)
        held = [listener for listeners in found.values() for listener in listeners]
        assert any(listener.port == wanted for listener in held), (
            f"no process of the stack listens on {name}'s port {wanted}: {found}"
        )
        everyone = listening_on(wanted)
        assert all(listener.loopback for listener in everyone), (name, everyone)
    for pid in stack.daemons():
        assert pid not in found, f"the daemon listens on TCP: {found[pid]}"


def published(container: Any) -> dict[str, list[dict[str, str]]]:
    ports: dict[str, list[dict[str, str]]] = container.attrs["NetworkSettings"]["Ports"] or {}
    return {spec: bindings for spec, bindings in ports.items() if bindings}


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "with_localstack",
    [
        pytest.param(False, id="containers"),
        # LocalStack's container takes a while to start: a long variant.
        pytest.param(True, marks=pytest.mark.long, id="localstack"),
    ],
)
def test_published_ports_the_relay_and_localstack_stay_local_unless_declared(
    dstack: Any, with_localstack: bool
) -> None:
    from docker_images import LOCALSTACK_IMAGE, localstack_image_missing

    (open_port,) = free_ports(1)
    httpd = ["httpd", "-f", "-p", "8080", "-h", "/"]
    image = "devstack-test/busybox:1"
    backing: dict[str, Any] = dict(BACKING)
    top: dict[str, Any] = {}
    uses = ["uploads"]
    if with_localstack:
        reason = localstack_image_missing()
        if reason:
            unavailable(reason)
        top["providers"] = {"localstack": {"type": "localstack", "image": LOCALSTACK_IMAGE}}
        backing["events"] = {"kind": "sqs", "queue": "t-events", "provider": "localstack"}
        uses.append("events")
    dstack.write(
        {
            "web": {"image": image, "command": httpd, "ports": ["8080"], "uses": uses},
            "open": {"image": image, "command": httpd, "ports": [f"0.0.0.0:{open_port}:8080"]},
        },
        backing=backing,
        **top,
    )
    dstack.ok("up", "-d", "--wait", timeout=180)

    # Containers: what Docker was asked to publish, and what docker-proxy listens on.
    containers = dstack.containers()
    services = {c.labels["devstack.service"] for c in containers}
    assert {"web", "open"} <= services, services
    if with_localstack:
        assert "localstack" in services, services
    for container in containers:
        service_name = container.labels["devstack.service"]
        for spec, bindings in published(container).items():
            for binding in bindings:
                host_ip, host_port = binding["HostIp"], int(binding["HostPort"])
                listeners = listening_on(host_port)
                if service_name == "open":
                    assert host_ip in ("0.0.0.0", ""), binding
                    assert host_port == open_port, binding
                    assert any(not listener.loopback for listener in listeners), listeners
                else:
                    assert host_ip == "127.0.0.1", (service_name, spec, binding)
                    assert all(listener.loopback for listener in listeners), (
                        service_name,
                        spec,
                        listeners,
                    )

    # Host processes: the emulators on loopback; the relay on the bridge address only.
    bridge = interface_address(BRIDGE)
    found = stack_listeners(dstack)
    relays = {pid for pid in found if "devstack.providers.relay" in cmdline(pid)}
    assert relays, f"no relay runs for the container consumer of MiniStack: {found}"
    for pid in relays:
        assert {str(listener.host) for listener in found[pid]} == {bridge}, found[pid]
        assert {listener.port for listener in found[pid]} == {
            port_of(dstack.live(), "ministack")
        }, found[pid]
    others = {pid: held for pid, held in found.items() if pid not in relays}
    assert not exposed(others), exposed(others)


@pytest.mark.timeout(240)
def test_localstacks_published_ports_stay_on_loopback(dstack: Any) -> None:
    """The CI-sized variant of the `localstack` case above: a real LocalStack container
    (the local image, never pulled), alone with one queue, its published ports checked on
    Docker's side and in the kernel's socket table."""
    from docker_images import LOCALSTACK_IMAGE, localstack_image_missing

    reason = localstack_image_missing()
    if reason:
        unavailable(reason)
    from dockerstack import busybox

    dstack.write(
        {"bg": busybox("exec sleep 3600", uses=["events"], stop_grace="1s")},
        backing={"events": {"kind": "sqs", "queue": "t-events", "provider": "localstack"}},
        providers={"localstack": {"type": "localstack", "image": LOCALSTACK_IMAGE}},
    )
    dstack.ok("up", "-d", "--wait", "--wait-timeout", "150", timeout=200)

    localstack = [c for c in dstack.containers() if c.labels["devstack.service"] == "localstack"]
    assert len(localstack) == 1, [c.name for c in dstack.containers()]
    bindings = [b for spec in published(localstack[0]).values() for b in spec]
    assert bindings, f"LocalStack publishes no port: {localstack[0].attrs['NetworkSettings']}"
    for binding in bindings:
        assert binding["HostIp"] == "127.0.0.1", binding
        listeners = listening_on(int(binding["HostPort"]))
        assert listeners, f"nothing listens on LocalStack's published port {binding}"
        assert all(listener.loopback for listener in listeners), (binding, listeners)
    # `up --wait` returned: LocalStack answered its health check on the port checked.
    assert dstack.live()["localstack"]["health"] == "healthy", dstack.live()["localstack"]
