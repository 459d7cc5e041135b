"""`devstack data` and `swap --carry` on Postgres and Redis served by the `process`
provider, end to end: a real daemon, the CLI as users run it, the data read back with psql
and redis-py, then carried to another `process` server of each. The database password
never appears in the CLI's output, the daemon's logs or the snapshot.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from components import needs
from devstack.config.servers import find_binary
from helpers import Stack, service

pytestmark = pytest.mark.timeout(180)

CANARY = "canary-Db-4Kq-s3cr3t"

needs_servers = needs(
    find_binary("initdb", None) is None
    or shutil.which("psql") is None
    or shutil.which("redis-server") is None,
    "postgres or redis-server is not installed (scripts/servers-setup.sh installs them)",
)


def app_env(stack: Stack) -> dict[str, str]:
    shown = json.loads(stack.ok("config", "show", "app", "--json", "--show-secrets").stdout)
    return {str(v["name"]): str(v["value"]) for v in shown["variables"]}


def psql(url: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", url, "-X", "-tAc", sql], capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@needs_servers
def test_snapshot_restore_and_carry_postgres_and_redis_through_the_cli(stack: Stack) -> None:
    import redis

    backing = {
        "db": {"kind": "postgres", "database": "shop", "user": "shop", "password": CANARY,
               "provider": "local"},
        "cache": {"kind": "redis", "database": 3, "provider": "local"},
    }  # fmt: skip
    stack.write(
        {"app": service("app", uses=["db", "cache"])},
        providers={"local": {"type": "process"}, "other": {"type": "process"}},
        backing=backing,
    )
    stack.up()
    outputs: list[str] = []

    def ok(*args: str) -> Any:
        result = stack.ok(*args)
        outputs.extend([result.stdout, result.stderr])
        return result

    env = app_env(stack)
    db_url, cache = env["DATABASE_URL"], redis.Redis.from_url(env["REDIS_URL"])
    psql(db_url, "CREATE TABLE items (id int PRIMARY KEY, name text);"
                 "INSERT INTO items VALUES (1, 'tea'), (2, 'coffee')")  # fmt: skip
    cache.set("greeting", "hello")
    cache.set("session", "alive", px=600_000)
    cache.rpush("queue", "a", "b")

    ok("data", "snapshot", "s1")

    psql(db_url, "DELETE FROM items WHERE id = 2; CREATE TABLE junk (x int)")
    cache.delete("queue")
    cache.set("greeting", "changed")
    cache.set("stray", "1")
    preview = json.loads(ok("data", "restore", "s1", "--dry-run", "--json").stdout)
    counts = {b["backing"]: (b["add"], b["change"], b["delete"]) for b in preview["backings"]}
    assert counts == {"db": (0, 1, 1), "cache": (1, 1, 1)}
    assert psql(db_url, "SELECT count(*) FROM items") == "1"  # the dry run changed nothing

    ok("data", "restore", "s1")

    assert psql(db_url, "SELECT string_agg(name, ',' ORDER BY id) FROM items") == "tea,coffee"
    assert psql(db_url, "SELECT count(*) FROM pg_tables WHERE tablename = 'junk'") == "0"
    assert sorted(cache.keys()) == [b"greeting", b"queue", b"session"]
    assert cache.get("greeting") == b"hello" and cache.lrange("queue", 0, -1) == [b"a", b"b"]
    assert cache.pttl("session") > 0
    assert "all match the manifest" in ok("data", "verify", "s1").stdout

    snapshot = stack.root / ".devstack" / "snapshots" / "s1"
    stored = b"".join(p.read_bytes() for p in snapshot.rglob("*") if p.is_file())
    logs = b"".join(
        p.read_bytes() for p in (stack.root / ".devstack").rglob("*.log") if p.is_file()
    )
    assert CANARY.encode() not in stored
    assert CANARY.encode() not in logs
    assert all(CANARY not in text for text in outputs)
    assert snapshot.stat().st_mode & 0o777 == 0o700

    # Carried to another process server of each: the data comes along.
    preview = ok("swap", "cache", "other", "--carry", "--dry-run").stdout
    assert "carry cache: would copy 3 item(s) local -> other" in preview
    ok("swap", "db", "other", "--carry")
    ok("swap", "cache", "other", "--carry")

    moved = app_env(stack)
    assert moved["DATABASE_URL"] != db_url and moved["REDIS_URL"] != env["REDIS_URL"]
    assert psql(moved["DATABASE_URL"], "SELECT string_agg(name, ',' ORDER BY id) FROM items") == (
        "tea,coffee"
    )
    carried = redis.Redis.from_url(moved["REDIS_URL"])
    assert sorted(carried.keys()) == [b"greeting", b"queue", b"session"]
    assert carried.pttl("session") > 0
    logs = b"".join(
        p.read_bytes() for p in (stack.root / ".devstack").rglob("*.log") if p.is_file()
    )
    assert CANARY.encode() not in logs
    assert all(CANARY not in text for text in outputs)
