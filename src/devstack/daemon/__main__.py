"""`python -m devstack.daemon --file MANIFEST --env NAME`: the per-stack daemon process.

Started by `devstack up` in its own session, output to `.devstack/daemon.log`. One daemon
per stack: an exclusive lock on `.devstack/daemon.lock` makes a second one exit at once.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from pathlib import Path

from devstack.config.problems import ManifestError
from devstack.daemon.paths import StackPaths

EXIT_ALREADY_RUNNING = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack-daemon")
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--env", default=None)
    args = parser.parse_args(argv)
    manifest = args.file.resolve()
    paths = StackPaths(manifest.parent)
    paths.ensure()
    lock = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("devstack: a daemon already runs for this stack", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())

    from devstack.daemon.server import serve
    from devstack.daemon.service import Daemon

    try:
        daemon = Daemon(manifest, args.env)
    except ManifestError as exc:
        print(f"devstack: invalid manifest:\n{exc}", file=sys.stderr)
        return 2
    daemon.start()
    try:
        serve(daemon, paths.socket)
    finally:
        daemon.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
