"""A Docker engine over SSH: one connection, noticed when lost, reconnected with backoff,
and the containers' published ports forwarded through it (see forwards.py).

The docker runtime asks `api()` for a client on every call. While the connection is lost
that raises at once (no call waits on a dead connection), status carries `problem()`, and
a watcher thread reconnects with a growing delay. The containers are not ours to stop: they
keep running on the engine, and the runtime shows them as last seen until it can look again.

On the engine the containers publish on its 127.0.0.1, on ports it picks (`bindings`); the
port each should have here travels in a label (`labels`), so forwards are rebuilt from the
containers alone, after a reconnection or by a daemon that re-adopts them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from docker import APIClient

from devstack.engine.ports import RuntimeError_
from devstack.model.desired import PortBinding
from devstack.runtimes.docker_engine import LABEL, connect
from devstack.runtimes.engine_target import EngineTarget
from devstack.runtimes.forwards import Channel, Forwards, Local

PORTS_LABEL = f"{LABEL}.ports"  # [[container port, address here, port here], ...]
REMOTE_ADDRESS = "127.0.0.1"  # where containers publish on the engine's machine
WATCH_INTERVAL = 0.5  # how often the watcher looks at the connection
BACKOFF_FIRST = 0.5  # the first reconnection waits this long, then twice as long...
BACKOFF_MAX = 30.0  # ...up to this
KEEPALIVE = 5  # seconds between SSH keepalives: a silent peer is noticed sooner
CHANNEL_TIMEOUT = 10.0  # opening one forwarded connection
# Each HTTP connection to the engine is an SSH session (`docker system dial-stdio`), and
# sshd allows 10 sessions per connection (MaxSessions). Container output streams last, two
# per container: they go over connections of their own, this many on each, so the main
# connection keeps room for the events stream and the calls.
STREAMS_PER_CONNECTION = 8


class RemoteEngine:
    def __init__(
        self,
        target: EngineTarget,
        on_event: Callable[[str], None],
        on_change: Callable[[], None],
        connector: Callable[[EngineTarget], APIClient] = connect,
    ) -> None:
        self.target = target
        self._event = on_event
        self._changed = on_change
        self._connector = connector
        self._lock = threading.Lock()
        self._client: APIClient | None = None
        self._watching = False
        self._closed = threading.Event()
        self._problem: str | None = None
        self._lost_at: float | None = None  # wall clock, for the status line
        self._attempts = 0
        self._next_attempt = 0.0  # monotonic
        self.forwards = Forwards(self._open_channel, on_event)
        # paramiko logs each refused forward ("channel open FAILED": a service not
        # listening yet, probed by its health check) to stderr; devstack says what matters.
        logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)
        self._streams: dict[APIClient, int] = {}  # stream connection -> streams on it

    # -- the connection ----------------------------------------------------------------

    def api(self) -> APIClient:
        """The connected client. Raises RuntimeError_ (the problem) while there is none."""
        with self._lock:
            client, first = self._client, not self._watching
            self._watching = True
        if client is not None and _alive(client):
            return client
        if first:  # the first connection is made by the caller: an `up` waits for it
            self._attempt()
            threading.Thread(target=self._watch, name="ssh-engine", daemon=True).start()
            with self._lock:
                if self._client is not None:
                    return self._client
        raise RuntimeError_(self.problem() or f"not connected to {self.target.host}")

    def connected(self) -> bool:
        with self._lock:
            client = self._client
        return client is not None and _alive(client)

    def problem(self) -> str | None:
        """The status line while the engine cannot be reached, else None."""
        with self._lock:
            return self._problem

    def stream_client(self) -> APIClient:
        """A client for one long stream (a container's output), on a connection that has
        room for it. Raises RuntimeError_ while the engine cannot be reached."""
        self.api()  # not while the main connection is lost: the streams would fail too
        with self._lock:
            dead = [c for c in self._streams if not _alive(c)]
            for client in dead:
                del self._streams[client]
            roomy = [c for c, count in self._streams.items() if count < STREAMS_PER_CONNECTION]
            if roomy:
                self._streams[roomy[0]] += 1
        for client in dead:
            client.close()
        if roomy:
            return roomy[0]
        fresh = self._connector(self.target)
        with self._lock:
            if self._closed.is_set():
                fresh.close()
                raise RuntimeError_("the engine connection is closed")
            self._streams[fresh] = 1
        return fresh

    def release_stream(self, client: APIClient) -> None:
        with self._lock:
            count = self._streams.get(client)
            if count is None:
                return
            if count > 1:
                self._streams[client] = count - 1
                return
            del self._streams[client]
        client.close()  # the last stream on it ended: do not keep a login open for nothing

    def close(self) -> None:
        self._closed.set()
        self.forwards.close()
        with self._lock:
            client, self._client = self._client, None
            streams, self._streams = list(self._streams), {}
        for each in [*streams, *([client] if client is not None else [])]:
            each.close()

    def _watch(self) -> None:
        while not self._closed.wait(WATCH_INTERVAL):
            with self._lock:
                client = self._client
            if client is not None and _alive(client):
                continue
            if client is not None:
                self._lose(client)
            if time.monotonic() >= self._next_attempt:
                self._attempt()

    def _lose(self, client: APIClient) -> None:
        with self._lock:
            if self._client is not client:
                return
            self._client = None
            self._lost_at = time.time()
            self._attempts = 0
            self._next_attempt = time.monotonic() + BACKOFF_FIRST
            self._problem = (
                f"lost the SSH connection to the engine {self.target.host}; its containers "
                "keep running there; reconnecting"
            )
        self._event(self._problem)
        client.close()
        self._changed()

    def _attempt(self) -> None:
        try:
            client = self._connector(self.target)
        except RuntimeError_ as exc:
            with self._lock:
                self._attempts += 1
                delay = min(BACKOFF_FIRST * 2 ** (self._attempts - 1), BACKOFF_MAX)
                self._next_attempt = time.monotonic() + delay
                lost = self._lost_at is not None
                what = (
                    f"lost the SSH connection to the engine {self.target.host}"
                    if lost
                    else f"cannot reach the engine {self.target.host}"
                )
                self._problem = (
                    f"{what}: {_reason(exc)}; "
                    + ("its containers keep running there; " if lost else "")
                    + f"retrying in {delay:g}s (attempt {self._attempts})"
                )
                problem = self._problem
            if self._attempts == 1 or self._attempts % 10 == 0:
                self._event(problem)  # the log says so now and then, status always
            self._changed()
            return
        transport = _transport(client)
        if transport is not None:
            transport.set_keepalive(KEEPALIVE)
        with self._lock:
            if self._closed.is_set():
                client.close()
                return
            self._client = client
            was_lost, self._lost_at = self._lost_at, None
            had_problem, self._problem = self._problem, None
            self._attempts = 0
        if was_lost is not None:
            self._event(
                f"reconnected to the engine {self.target.host} after {time.time() - was_lost:.0f}s"
            )
        elif had_problem is not None:
            self._event(f"reached the engine {self.target.host}")
        self._changed()

    def _open_channel(self, remote_port: int, peer: tuple[str, int]) -> Channel:
        with self._lock:
            client = self._client
        transport = _transport(client) if client is not None else None
        if transport is None or not transport.is_active():
            raise RuntimeError_("not connected")
        channel: Channel = transport.open_channel(
            "direct-tcpip", (REMOTE_ADDRESS, remote_port), peer, timeout=CHANNEL_TIMEOUT
        )
        return channel

    # -- what the docker runtime asks ---------------------------------------------------

    def bindings(self, ports: Iterable[PortBinding]) -> dict[int | str, Any]:
        """Publish on the engine's loopback, on ports the engine picks: the ports chosen
        here are free here, and say nothing of that machine."""
        return {p.key(): (REMOTE_ADDRESS, None) for p in ports}

    def labels(self, ports: Iterable[PortBinding]) -> dict[str, str]:
        # SSH forwards TCP only: a udp port stays published on the engine's loopback.
        tcp = [[p.container, p.host_ip, p.host] for p in ports if p.protocol == "tcp"]
        return {PORTS_LABEL: json.dumps(tcp)}

    def started(self, api: APIClient, cid: str) -> None:
        """Forward a container's ports as soon as it runs (its health check connects here)."""
        try:
            details = api.inspect_container(cid)
        except Exception:  # gone already, or the connection: the next listing retries
            return
        labels = details.get("Config", {}).get("Labels") or {}
        published = details.get("NetworkSettings", {}).get("Ports") or {}
        remote = {
            int(key.split("/")[0]): int(bindings[0]["HostPort"])
            for key, bindings in published.items()
            if key.endswith("/tcp") and bindings and bindings[0].get("HostPort")
        }
        self.forwards.ensure(cid, _wanted(labels, remote))

    def observed(self, containers: list[dict[str, Any]], listed_at: float) -> None:
        """After each listing: forwards for the running containers, none for the others."""
        running: dict[str, dict[Local, int]] = {}
        for item in containers:
            if item.get("State") != "running":
                continue
            remote = {
                int(p["PrivatePort"]): int(p["PublicPort"])
                for p in item.get("Ports") or []
                if p.get("Type") == "tcp" and p.get("PublicPort")
            }
            running[str(item["Id"])] = _wanted(item.get("Labels") or {}, remote)
        self.forwards.sync(running, listed_at)


def _wanted(labels: dict[str, str], remote: dict[int, int]) -> dict[Local, int]:
    """(address here, port here) -> port on the engine, for one container."""
    try:
        declared = json.loads(labels.get(PORTS_LABEL, "[]"))
    except ValueError:
        return {}
    wanted: dict[Local, int] = {}
    for container_port, address, port in declared:
        if int(container_port) in remote:
            wanted[(str(address), int(port))] = remote[int(container_port)]
    return wanted


def _transport(client: APIClient) -> Any:
    """The paramiko Transport under the SDK's ssh adapter (None for another engine)."""
    try:
        adapter = client.get_adapter("http+docker://ssh")
    except Exception:  # requests: no adapter for that prefix
        return None
    ssh = getattr(adapter, "ssh_client", None)
    return ssh.get_transport() if ssh is not None else None


def _alive(client: APIClient) -> bool:
    transport = _transport(client)
    return transport is not None and bool(transport.is_active())


def _reason(exc: Exception) -> str:
    """What failed underneath (connection refused, authentication failed...)."""
    cause = exc.__cause__
    return f"{cause}" if cause is not None and str(cause) else str(exc)
