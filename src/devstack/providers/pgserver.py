"""Run a Postgres server for one backing service: initdb once, then postgres on 127.0.0.1.

    python -m devstack.providers.pgserver --bin-dir DIR --data DIR --port N --user NAME

Postgres refuses to run as root, so as root this drops to the `postgres` user (Debian's
package creates it) after handing it the data folder. SIGTERM becomes a *fast* shutdown
(SIGINT to postgres): the default "smart" one waits for every client to disconnect, which
would turn each restart into the full stop grace period.
"""

from __future__ import annotations

import argparse
import os
import pwd
import signal
import subprocess
import sys
from pathlib import Path


def _drop_to(user: str, data: Path) -> None:
    entry = pwd.getpwnam(user)
    data.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    data.parent.chmod(0o755)
    data.mkdir(exist_ok=True, mode=0o700)
    for path in [data, *data.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--user", required=True, help="the database superuser to create")
    args = parser.parse_args(argv)
    data: Path = args.data
    if os.geteuid() == 0:
        try:
            _drop_to("postgres", data)
        except KeyError:
            print("pgserver: running as root needs a 'postgres' user", file=sys.stderr)
            return 1
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    data.chmod(0o700)
    if not (data / "PG_VERSION").exists():
        print(f"pgserver: initdb {data} (superuser {args.user})", flush=True)
        subprocess.run(
            [f"{args.bin_dir}/initdb", "-D", str(data), "-U", args.user, "--auth=trust",
             "-E", "UTF8", "--no-instructions"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    server = subprocess.Popen(
        [f"{args.bin_dir}/postgres", "-D", str(data), "-p", str(args.port),
         "-c", "listen_addresses=127.0.0.1", "-k", str(data)],
    )  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: server.send_signal(signal.SIGINT))
    signal.signal(signal.SIGINT, lambda *_: server.send_signal(signal.SIGINT))
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
