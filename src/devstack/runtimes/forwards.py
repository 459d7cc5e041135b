"""A remote engine's published ports, forwarded to 127.0.0.1 on this machine over SSH.

On an engine reached over SSH, a container publishes its ports on the remote machine's
127.0.0.1 (on a port the engine picks: the laptop's port allocator knows nothing of that
machine). Here a listener on this machine's declared address and port (127.0.0.1 unless the
manifest says otherwise) takes each connection and carries it through the SSH connection to
the remote port, so `curl localhost:PORT`, host processes and `${services.X.url}` work as
with a local engine.

Why paramiko `direct-tcpip` channels rather than `ssh -L` processes: the Docker SDK already
holds a logged-in paramiko connection to the engine, and a channel per accepted connection
rides that same connection. One login, one place that notices the connection is lost (the
link reconnects it and these listeners use the new one), no `ssh` binary or ControlMaster
set-up needed here, and forwards come and go in-process as containers start and stop, where
`ssh -L` would be one more process per port to supervise, each logging in again.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

CHUNK = 65536
LISTEN_BACKLOG = 64


class Channel(Protocol):
    """What a forward needs of a paramiko Channel."""

    def fileno(self) -> int: ...
    def recv(self, nbytes: int) -> bytes: ...
    def sendall(self, data: bytes) -> None: ...
    def shutdown_write(self) -> None: ...
    def close(self) -> None: ...


# Opens a channel to the remote machine's 127.0.0.1:port for a connection from `peer`;
# raises (any exception) when it cannot: the connection is then closed at once.
Opener = Callable[[int, tuple[str, int]], Channel]
Local = tuple[str, int]  # (address, port) listened on here


class Forward:
    """One listening socket here, forwarding each connection to one remote port."""

    def __init__(self, local: Local, remote_port: int, opener: Opener) -> None:
        self.local = local
        self.remote_port = remote_port  # a container started again gets another one
        self._opener = opener
        self._closed = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(local)
            sock.listen(LISTEN_BACKLOG)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        name = f"forward-{local[1]}"
        threading.Thread(target=self._accept, name=name, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept
        self._sock.close()
        with self._lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return  # closed
            threading.Thread(
                target=self._serve, args=(conn, peer), name=f"forward-{self.local[1]}-conn",
                daemon=True,
            ).start()  # fmt: skip

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        try:
            channel = self._opener(self.remote_port, peer)
        except Exception:  # not connected, or nothing listens there (yet): hang up, as a proxy
            conn.close()
            return
        with self._lock:
            self._open.add(conn)
        try:
            _pump(conn, channel, self._closed)
        finally:
            with self._lock:
                self._open.discard(conn)
            channel.close()
            conn.close()


def _pump(conn: socket.socket, channel: Channel, closed: threading.Event) -> None:
    """Copy both ways until both sides finished sending (a half-close is passed on)."""
    local_done = remote_done = False
    while not (local_done and remote_done) and not closed.is_set():
        watched: list[socket.socket | Channel] = []
        if not local_done:
            watched.append(conn)
        if not remote_done:
            watched.append(channel)
        ready, _, _ = select.select(watched, [], [], 1.0)  # wakes to see `closed`
        try:
            if conn in ready:
                data = conn.recv(CHUNK)
                if data:
                    channel.sendall(data)
                else:
                    local_done = True
                    channel.shutdown_write()
            if channel in ready:
                data = channel.recv(CHUNK)
                if data:
                    conn.sendall(data)
                else:
                    remote_done = True
                    conn.shutdown(socket.SHUT_WR)
        except OSError:
            return
        except Exception:  # the SSH connection went away under the channel
            return


class Forwards:
    """The forwards of one engine, kept equal to the ports its running containers publish."""

    def __init__(self, opener: Opener, on_event: Callable[[str], None]) -> None:
        self._opener = opener
        self._event = on_event
        self._lock = threading.Lock()
        self._forwards: dict[Local, Forward] = {}
        self._owner: dict[Local, tuple[str, float]] = {}  # -> (container id, added at)
        self._failed: dict[Local, str] = {}  # could not listen: said once, retried quietly

    def ensure(self, owner: str, wanted: dict[Local, int]) -> None:
        """Forward each local address of container `owner` to its remote port."""
        with self._lock:
            for local, remote_port in wanted.items():
                self._owner[local] = (owner, time.monotonic())
                current = self._forwards.get(local)
                if current is not None:
                    current.remote_port = remote_port
                    continue
                try:
                    self._forwards[local] = Forward(local, remote_port, self._opener)
                except OSError as exc:
                    if self._failed.get(local) != str(exc):
                        self._event(
                            f"cannot forward {local[0]}:{local[1]} from the engine: "
                            f"{exc.strerror or exc}"
                        )
                    self._failed[local] = str(exc)
                    continue
                if self._failed.pop(local, None) is not None:
                    self._event(f"forwarding {local[0]}:{local[1]} from the engine again")

    def sync(self, running: dict[str, dict[Local, int]], listed_at: float) -> None:
        """After listing containers (begun at `listed_at`, monotonic): forward the ports of
        the running ones; drop those of containers no longer running. A forward added
        while the list was made (a container that just started) is kept."""
        for owner, wanted in running.items():
            self.ensure(owner, wanted)
        with self._lock:
            kept = {local for wanted in running.values() for local in wanted}
            gone = [
                local
                for local, (_, added) in self._owner.items()
                if local not in kept and added < listed_at
            ]
            closing = [self._forwards.pop(local) for local in gone if local in self._forwards]
            for local in gone:
                self._owner.pop(local, None)
                self._failed.pop(local, None)
        for forward in closing:
            forward.close()

    def listening(self) -> dict[Local, int]:
        with self._lock:
            return {local: f.remote_port for local, f in self._forwards.items()}

    def close(self) -> None:
        with self._lock:
            closing, self._forwards = list(self._forwards.values()), {}
            self._owner.clear()
        for forward in closing:
            forward.close()
