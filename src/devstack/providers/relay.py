"""A TCP relay from the Docker bridge gateway to an emulator listening on 127.0.0.1.

Containers reach the host as host.docker.internal, which Docker maps to the bridge
gateway address (docker0). Emulators listen on 127.0.0.1 only, so nothing of the stack
is exposed on other interfaces; this relay listens on the gateway address alone and
forwards each connection to the emulator.

    python -m devstack.providers.relay PORT TARGET_HOST:TARGET_PORT [--listen ADDRESS]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import signal
import socket
import struct
import sys
import threading

SIOCGIFADDR = 0x8915
BRIDGE = "docker0"


def interface_address(name: str) -> str:
    """The IPv4 address of a network interface (no third-party library needed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        packed = struct.pack("256s", name.encode()[:15])
        info = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, packed)
    return socket.inet_ntoa(info[20:24])


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        # Half-close so the other direction can finish (HTTP bodies after the request).
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                sock.shutdown(how)


def _serve_one(client: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=5)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("target")
    parser.add_argument("--listen", help=f"address to listen on (default: {BRIDGE}'s)")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    try:
        listen = args.listen or interface_address(BRIDGE)
    except OSError as exc:
        print(f"relay: no {BRIDGE} interface ({exc}); is Docker running?", file=sys.stderr)
        return 1
    server = socket.create_server((listen, args.port), reuse_port=False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"relay: {listen}:{args.port} -> {host}:{port}", flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=_serve_one, args=(client, (host, int(port))), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
