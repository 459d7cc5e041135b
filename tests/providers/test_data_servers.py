"""Snapshot and restore of Postgres and Redis against real servers (Debian's binaries, run
as the `process` provider runs them): round trips compare the data row by row and key by
key; a restore adds, changes and deletes; the Postgres password stays out of snapshots.

One Postgres and one Redis serve the whole module; each test works in a database of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components import needs
from devstack.config.servers import find_binary
from devstack.data.adapter import DataError, DataOptions, DataTarget
from devstack.data.progress import Meter
from devstack.data.run import restore, take_snapshot
from devstack.data.snapshot import SnapshotStore
from helpers import free_port

PASSWORD = "canary-Pg-9Zt-s3cr3t"
USER = "shop"

needs_postgres = needs(
    find_binary("initdb", None) is None or shutil.which("psql") is None,
    "postgres is not installed (scripts/servers-setup.sh installs it as root on Debian)",
)
needs_redis = needs(
    shutil.which("redis-server") is None,
    "redis-server is not installed (scripts/servers-setup.sh installs it)",
)


def _wait(ready: Any, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _stop_postgres(proc: subprocess.Popen[bytes], data: Path) -> None:
    """An immediate shutdown (SIGQUIT to the postmaster): the data is thrown away, so the
    checkpoint of a fast one is wasted seconds."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGQUIT)
    except (OSError, ValueError, IndexError):
        pass
    _stop(proc)


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    """A Postgres server as the `process` provider runs it; its port."""
    bin_dir = str(Path(find_binary("postgres", None) or "").resolve().parent)
    # As root the server runs as `postgres`, which cannot enter pytest's root-only tmp.
    base = Path("/var/lib/devstack") if os.geteuid() == 0 else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="test-data-", dir=base))
    home.chmod(0o755)
    port = free_port()
    log = home / "pg.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.providers.pgserver", "--bin-dir", bin_dir,
             "--data", str(home / "data"), "--port", str(port), "--user", USER],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    ready = [f"{bin_dir}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", USER]
    _wait(lambda: subprocess.run(ready, check=False).returncode == 0, proc, log, "postgres")
    yield port
    _stop_postgres(proc, home / "data")
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    import redis

    home = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = home / "redis.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home),
             "--save", ""],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def ready() -> bool:
        try:
            return bool(redis.Redis(port=port, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    _wait(ready, proc, log, "redis-server")
    yield port
    _stop(proc)


def quiet() -> Meter:
    return Meter(quiet=True)


class Interrupt(Exception):
    """Stands for a Ctrl-C in the middle of a restore."""


class StopsWhileRestoring(Meter):
    """A meter whose first report during a restore's writing raises: the restore stops
    after its first step."""

    def __init__(self) -> None:
        super().__init__(quiet=True)

    def advance(self, items: int = 1, size: int = 0) -> None:
        if self.label.startswith("restore"):
            raise Interrupt
        super().advance(items, size)


# --- postgres ------------------------------------------------------------------------


def psql(port: int, database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", USER, "-d", database, "-X", "-q",
         "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env={**os.environ, "PGPASSWORD": PASSWORD}, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def pg_target(port: int, database: str, user: str = USER, provider: str = "local") -> DataTarget:
    psql(port, "postgres", f'CREATE DATABASE "{database}"')
    return DataTarget(
        backing="db", kind="postgres", provider=provider, provider_type="process",
        resources={"kind": "postgres", "database": database, "user": user, "password": PASSWORD},
        url=f"postgresql://127.0.0.1:{port}",
    )  # fmt: skip


def pg_rows(port: int, database: str) -> dict[str, str]:
    """Every table's rows as text, in a stable order."""
    tables = psql(
        port, database,
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    ).splitlines()  # fmt: skip
    return {t: psql(port, database, f"SELECT t::text FROM {t} t ORDER BY 1") for t in tables}


def seed_shop(port: int, database: str) -> None:
    psql(
        port, database,
        "CREATE TABLE items (id int PRIMARY KEY, name text, note text);"
        "INSERT INTO items VALUES (1, 'tea', NULL), (2, 'line one\nline two', 'tab\there'),"
        " (3, 'café ☕', '');"
        "CREATE SCHEMA billing;"
        "CREATE TABLE billing.invoices (id serial PRIMARY KEY, item int REFERENCES items(id),"
        " total numeric(10,2));"
        "INSERT INTO billing.invoices (item, total) VALUES (1, 3.50), (3, 12.00);"
        "CREATE TABLE gone (x int); INSERT INTO gone VALUES (7);",
    )  # fmt: skip


def db_name() -> str:
    return f"d{uuid.uuid4().hex[:10]}"


@needs_postgres
def test_postgres_restores_row_by_row_and_previews_by_table(postgres: int, tmp_path: Path) -> None:
    source = pg_target(postgres, db_name())
    seed_shop(postgres, source.resources["database"])
    before = pg_rows(postgres, source.resources["database"])
    store = SnapshotStore(tmp_path)

    take_snapshot(store, "s1", {"db": source}, DataOptions(), quiet(), {})

    # The target drifts: a row changed, a table dropped, a table the snapshot lacks.
    db = source.resources["database"]
    psql(postgres, db, "UPDATE items SET name = 'coffee' WHERE id = 1; DROP TABLE gone;"
                       "CREATE TABLE extra (y int); INSERT INTO extra VALUES (1);")  # fmt: skip
    snap = store.open("s1")
    [preview] = restore(snap, {"db": source}, DataOptions(), quiet(), dry_run=True)
    assert (preview.add, preview.change, preview.delete) == (1, 1, 1)
    assert "tables: 3 in the snapshot, 6 rows" in preview.notes
    assert "public.extra" in pg_rows(postgres, db)  # a dry run changes nothing

    restore(snap, {"db": source}, DataOptions(), quiet())

    assert pg_rows(postgres, db) == before
    # Run again: nothing left to do.
    [again] = restore(snap, {"db": source}, DataOptions(), quiet(), dry_run=True)
    assert (again.add, again.change, again.delete) == (0, 0, 0)


@needs_postgres
def test_postgres_restores_onto_another_database_owned_by_another_user(
    postgres: int, tmp_path: Path
) -> None:
    source = pg_target(postgres, db_name())
    seed_shop(postgres, source.resources["database"])
    other = f"u{uuid.uuid4().hex[:8]}"
    psql(postgres, "postgres", f"CREATE ROLE {other} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    dest = pg_target(postgres, db_name(), user=other, provider="elsewhere")
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "s1", {"db": source}, DataOptions(), quiet(), {})

    [outcome] = restore(store.open("s1"), {"db": dest}, DataOptions(), quiet())

    assert outcome.add == 3
    assert pg_rows(postgres, dest.resources["database"]) == pg_rows(
        postgres, source.resources["database"]
    )
    owner = psql(
        postgres, dest.resources["database"],
        "SELECT tableowner FROM pg_tables WHERE tablename = 'items'",
    )  # fmt: skip
    assert owner == other  # the target's user owns what was restored
    # The serial's position came along: the next invoice does not collide.
    psql(postgres, dest.resources["database"], "INSERT INTO billing.invoices (item) VALUES (2)")


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


@needs_postgres
def test_the_postgres_password_stays_out_unless_asked_for(
    postgres: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = pg_target(postgres, db_name())
    seed_shop(postgres, source.resources["database"])
    store = SnapshotStore(tmp_path)
    # Every psql, pg_dump and pg_restore started (for real) is seen: its argv is in `ps`.
    argvs: list[list[str]] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def run(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        argvs.append(list(argv))
        return real_run(argv, *args, **kwargs)

    def popen(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        argvs.append(list(argv))
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr("devstack.data.postgres.subprocess.run", run)
    monkeypatch.setattr("devstack.data.postgres.subprocess.Popen", popen)

    plain, _ = take_snapshot(store, "plain", {"db": source}, DataOptions(), quiet(), {})
    with_secrets, _ = take_snapshot(
        store, "full", {"db": source}, DataOptions(include_secrets=True), quiet(), {}
    )

    assert PASSWORD.encode() not in _all_bytes(plain)
    assert store.open("plain").backings()["db"].omitted == ["password"]
    assert PASSWORD.encode() in _all_bytes(with_secrets)
    modes = {p.stat().st_mode & 0o777 for p in with_secrets.rglob("*") if p.is_file()}
    assert modes == {0o600}
    assert PASSWORD not in repr(source)
    psql(postgres, source.resources["database"], "DROP TABLE gone")  # something to restore
    restore(store.open("full"), {"db": source}, DataOptions(), quiet())
    tools = {Path(argv[0]).name for argv in argvs}
    assert {"psql", "pg_dump", "pg_restore"} <= tools
    assert not [argv for argv in argvs if any(PASSWORD in arg for arg in argv)]


@needs_postgres
def test_a_missing_database_is_one_line_without_the_password(postgres: int, tmp_path: Path) -> None:
    source = pg_target(postgres, db_name())
    wrong = DataTarget(
        backing="db", kind="postgres", provider="local", provider_type="process",
        resources={**source.resources, "database": "nosuchdb"}, url=source.url,
    )  # fmt: skip

    with pytest.raises(DataError) as caught:
        take_snapshot(SnapshotStore(tmp_path), "s1", {"db": wrong}, DataOptions(), quiet(), {})

    message = str(caught.value)
    assert "\n" not in message and PASSWORD not in message
    assert message.startswith("psql on 127.0.0.1:")
    assert message.endswith('database "nosuchdb" does not exist')
    assert not list((tmp_path / "snapshots").iterdir())  # nothing half-written


@needs_postgres
def test_an_interrupted_postgres_restore_converges_when_run_again(
    postgres: int, tmp_path: Path
) -> None:
    target = pg_target(postgres, db_name())
    db = target.resources["database"]
    seed_shop(postgres, db)
    before = pg_rows(postgres, db)
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "s1", {"db": target}, DataOptions(), quiet(), {})
    psql(postgres, db, "DELETE FROM items WHERE id = 2; CREATE TABLE extra (y int)")

    with pytest.raises(Interrupt):  # stopped once the extra table was dropped
        restore(store.open("s1"), {"db": target}, DataOptions(), StopsWhileRestoring())
    assert "public.extra" not in pg_rows(postgres, db)

    restore(store.open("s1"), {"db": target}, DataOptions(), quiet())

    assert pg_rows(postgres, db) == before


# --- redis ---------------------------------------------------------------------------


_used_databases: list[int] = []


def redis_target(port: int, provider: str = "local") -> DataTarget:
    database = len(_used_databases) + 1  # database 0 is left alone
    _used_databases.append(database)
    return DataTarget(
        backing="cache", kind="redis", provider=provider, provider_type="process",
        resources={"kind": "redis", "database": database},
        url=f"redis://127.0.0.1:{port}/{database}",
    )  # fmt: skip


def client(port: int, target: DataTarget) -> Any:
    import redis

    return redis.Redis(port=port, db=int(target.resources["database"]))


def redis_state(port: int, target: DataTarget) -> dict[bytes, tuple[str, Any, bool]]:
    """Every key's type, value and whether it expires."""
    r = client(port, target)
    found: dict[bytes, tuple[str, Any, bool]] = {}
    for key in r.scan_iter():
        kind = r.type(key).decode()
        value: Any = {
            "string": r.get,
            "list": lambda k: r.lrange(k, 0, -1),
            "set": lambda k: sorted(r.smembers(k)),
            "zset": lambda k: r.zrange(k, 0, -1, withscores=True),
            "hash": lambda k: sorted(r.hgetall(k).items()),
            "stream": lambda k: [(f, sorted(v.items())) for f, v in r.xrange(k)],
        }[kind](key)
        found[key] = (kind, value, r.pttl(key) > 0)
    return found


def seed_cache(port: int, target: DataTarget) -> None:
    r = client(port, target)
    r.set("greeting", "hello")
    r.set(b"bin\xff\x00key", b"\x00\x01\xfe")
    r.set("base64:literal", "a key that looks encoded")
    r.set("session:1", "alive", px=600_000)
    r.rpush("queue", "a", "b", "a")
    r.sadd("tags", "x", "y")
    r.zadd("scores", {"ann": 1.5, "bob": -2})
    r.hset("user:1", mapping={"name": "Ann", "age": "41"})
    r.xadd("events", {"type": "created"})


@needs_redis
def test_redis_round_trip_keeps_every_type_binary_keys_and_ttls(
    redis_port: int, tmp_path: Path
) -> None:
    source, dest = redis_target(redis_port), redis_target(redis_port, "elsewhere")
    seed_cache(redis_port, source)
    client(redis_port, dest).set("stale", "not in the snapshot")
    store = SnapshotStore(tmp_path)

    take_snapshot(store, "s1", {"cache": source}, DataOptions(), quiet(), {})
    [outcome] = restore(store.open("s1"), {"cache": dest}, DataOptions(), quiet())

    assert (outcome.add, outcome.change, outcome.delete) == (9, 0, 1)
    assert redis_state(redis_port, dest) == redis_state(redis_port, source)
    assert client(redis_port, dest).pttl("session:1") > 500_000
    assert client(redis_port, dest).pttl("greeting") == -1


@needs_redis
def test_redis_restore_previews_then_makes_the_database_equal(
    redis_port: int, tmp_path: Path
) -> None:
    target = redis_target(redis_port)
    seed_cache(redis_port, target)
    before = redis_state(redis_port, target)
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "s1", {"cache": target}, DataOptions(), quiet(), {})
    r = client(redis_port, target)
    r.delete("tags")
    r.rpush("queue", "c")
    r.persist("session:1")  # no longer expires: a change
    r.set("new", "1")

    [preview] = restore(store.open("s1"), {"cache": target}, DataOptions(), quiet(), dry_run=True)
    assert (preview.add, preview.change, preview.delete) == (1, 2, 1)
    assert r.exists("new")

    restore(store.open("s1"), {"cache": target}, DataOptions(), quiet())

    assert redis_state(redis_port, target) == before


@needs_redis
def test_an_unreachable_redis_is_one_line(tmp_path: Path) -> None:
    target = DataTarget(
        backing="cache", kind="redis", provider="local", provider_type="process",
        resources={"database": 0}, url=f"redis://127.0.0.1:{free_port()}/0",
    )  # fmt: skip

    with pytest.raises(DataError, match=r"cache \(redis on local\): cannot reach redis at"):
        take_snapshot(SnapshotStore(tmp_path), "s1", {"cache": target}, DataOptions(), quiet(), {})


@needs_redis
def test_an_interrupted_redis_restore_converges_when_run_again(
    redis_port: int, tmp_path: Path
) -> None:
    target = redis_target(redis_port)
    seed_cache(redis_port, target)
    before = redis_state(redis_port, target)
    store = SnapshotStore(tmp_path)
    take_snapshot(store, "s1", {"cache": target}, DataOptions(), quiet(), {})
    r = client(redis_port, target)
    r.delete("queue", "tags")
    r.set("stray", "1")

    with pytest.raises(Interrupt):  # stopped once the stray key was deleted
        restore(store.open("s1"), {"cache": target}, DataOptions(), StopsWhileRestoring())
    assert not r.exists("stray") and not r.exists("queue")

    restore(store.open("s1"), {"cache": target}, DataOptions(), quiet())

    assert redis_state(redis_port, target) == before


@needs_redis
@needs_postgres
def test_the_carry_preview_counts_redis_keys_and_the_postgres_size(
    redis_port: int, postgres: int
) -> None:
    from devstack.data.survey import count

    cache = redis_target(redis_port)
    seed_cache(redis_port, cache)
    db = pg_target(postgres, db_name())

    assert count(cache) == (9, None)
    items, size = count(db)
    assert items is None and size is not None and size > 1_000_000  # an empty database's files


@needs_postgres
def test_pull_seeds_from_an_external_postgres_that_it_only_reads(
    postgres: int, tmp_path: Path
) -> None:
    import yaml

    from devstack.config.loader import load_stack
    from devstack.data.postgres import _psql, server_of
    from devstack.data.pull import pull, source_target

    staging = pg_target(postgres, db_name())
    seed_shop(postgres, staging.resources["database"])
    before = pg_rows(postgres, staging.resources["database"])
    url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{postgres}/{staging.resources['database']}"
    manifest = {
        "name": "shop",
        "providers": {"staging": {"type": "external", "url": url}},
        "backing": {"db": {"kind": "postgres", "database": "shop", "user": "app"}},
        "environments": {"staging": {"providers": {"db": "staging"}}},
        "services": {"api": {"command": "true", "uses": ["db"]}},
    }
    (tmp_path / "devstack.yaml").write_text(yaml.safe_dump(manifest))
    loaded = load_stack(tmp_path / "devstack.yaml")
    local = pg_target(postgres, db_name())
    psql(postgres, local.resources["database"], "CREATE TABLE mine (x int)")

    source = source_target(loaded.stack, loaded.root, "staging", "db", {})
    [outcome] = pull(SnapshotStore(tmp_path), source, local, quiet())

    assert outcome.add == 3
    pulled = pg_rows(postgres, local.resources["database"])
    assert pulled == before | {"public.mine": ""}  # the local table is kept
    assert pg_rows(postgres, staging.resources["database"]) == before
    with pytest.raises(DataError, match="read-only transaction"):
        _psql(server_of(source), "CREATE TABLE written (x int)")
