"""Postgres and Redis served by the `process` provider: Debian's binaries, run by devstack
on free ports on 127.0.0.1, the database created and seeded once, data kept across `down`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components import needs
from devstack.config.servers import find_binary
from helpers import Stack, describe, service, wait_for

pytestmark = pytest.mark.timeout(120)

needs_postgres = needs(
    find_binary("initdb", None) is None or shutil.which("psql") is None,
    "postgres is not installed (scripts/servers-setup.sh installs it as root on Debian)",
)
needs_redis = needs(
    shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
    "redis-server is not installed (scripts/servers-setup.sh installs it)",
)


def consumer(uses: list[str]) -> dict[str, Any]:
    return service("app", flags=["--dump-env"], uses=uses)


def app_env(stack: Stack) -> dict[str, str]:
    """The env the app's current process started with (it writes app.env at start)."""
    found: dict[str, str] = wait_for(
        lambda: stack.has_file("app.env") and stack.read_json("app.env"), 10.0, "app.env"
    )
    return found


def psql(url: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", url, "-tAc", sql], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@needs_postgres
def test_postgres_is_created_seeded_once_and_keeps_its_data(stack: Stack) -> None:
    (stack.root / "seed.sql").write_text(
        "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2);\n"
    )
    backing = {
        "db": {
            "kind": "postgres",
            "database": "shop",
            "user": "shop",
            "password": "pw",
            "provider": "local",
            "seed": {"sql": "seed.sql"},
        }
    }
    stack.write(
        {"app": consumer(["db"])}, providers={"local": {"type": "process"}}, backing=backing
    )

    stack.up()

    url = app_env(stack)["DATABASE_URL"]
    assert url.startswith("postgresql://shop:pw@127.0.0.1:") and url.endswith("/shop")
    assert app_env(stack)["DB_URL"] == url
    assert psql(url, "SELECT count(*) FROM items") == "2"
    shown = stack.ok("config", "show", "app").stdout
    assert "DATABASE_URL=********" in shown  # it holds the password
    psql(url, "INSERT INTO items VALUES (3)")

    stack.ok("down")
    stack.up()

    # Same data, and the seed did not run again.
    assert psql(url, "SELECT count(*) FROM items") == "3"
    log = stack.ok("logs", "db").stdout
    assert "database shop exists" in log, describe(stack.run("status"), stack)

    stack.ok("down", "--volumes")
    stack.up()
    assert psql(url, "SELECT count(*) FROM items") == "2"  # recreated, seeded afresh


@needs_redis
def test_redis_runs_on_loopback_and_is_injected(stack: Stack) -> None:
    stack.write(
        {"app": consumer(["cache"])},
        providers={"local": {"type": "process"}},
        backing={"cache": {"kind": "redis", "provider": "local", "database": 2}},
    )

    stack.up()

    url = app_env(stack)["REDIS_URL"]
    assert url.startswith("redis://127.0.0.1:") and url.endswith("/2")
    done = subprocess.run(
        ["redis-cli", "-u", url, "ping"], capture_output=True, text=True, timeout=10, check=False
    )
    assert done.stdout.strip() == "PONG"
    assert stack.services()["local-cache"]["state"] == "running"


@needs_redis
def test_a_redis_backing_runs_with_its_own_server_options(stack: Stack) -> None:
    # As compose's `command: redis-server --appendonly no --maxmemory 5mb` would run it:
    # the backing's options come after devstack's own, so they win.
    args = ["--appendonly", "no", "--maxmemory", "5mb"]
    stack.write(
        {"app": consumer(["cache"])},
        providers={"local": {"type": "process"}},
        backing={"cache": {"kind": "redis", "provider": "local", "args": args}},
    )

    stack.up()

    url = app_env(stack)["REDIS_URL"]
    found = {}
    for name in ("appendonly", "maxmemory"):
        done = subprocess.run(["redis-cli", "-u", url, "config", "get", name],
                              capture_output=True, text=True, timeout=10, check=False)  # fmt: skip
        found[name] = done.stdout.split()[1:]
    assert found == {"appendonly": ["no"], "maxmemory": [str(5 * 1024 * 1024)]}


def test_a_missing_server_binary_is_a_clear_error_before_anything_starts(stack: Stack) -> None:
    stack.write(
        {"app": consumer(["cache"])},
        providers={"local": {"type": "process", "bin_dir": str(Path("/nonexistent"))}},
        backing={"cache": {"kind": "redis", "provider": "local"}},
    )

    result = stack.run("up", "-d")

    assert result.returncode == 2, describe(result, stack)
    assert "redis-server not found" in result.stderr
    assert "apt-get install redis-server" in result.stderr
    assert "devstack.yaml:" in result.stderr
    assert not stack.daemons()
