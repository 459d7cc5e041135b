"""postgres: the backing service's database as one `pg_dump` file (custom format), with
each table's row count and digest, restored with `pg_restore --clean --if-exists`.

The dump, the counts and the digests come from one point in time: a psql session opens a
repeatable-read transaction, exports its snapshot, and `pg_dump --snapshot` dumps that
same snapshot while the session reads the tables. The digests let `plan` tell which
tables differ (not just which counts) and let `check` prove what the restore wrote.

The password goes to the tools through PGPASSWORD, never their argv (other users see
argv in `ps`). It is in the snapshot only with --include-secrets, and even then a restore
leaves the target's own password alone: the consumers' DATABASE_URL holds the declared one.
Objects are restored without their owner and grants (`--no-owner --no-privileges`): the
target's declared user owns them, whichever user owned them where the snapshot was taken.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from devstack.config.servers import find_binary
from devstack.data.adapter import DataError, DataOptions, DataTarget, RestorePlan
from devstack.data.snapshot import BackingReader, BackingWriter

TIMEOUT = 30.0  # one psql statement; pg_dump and pg_restore run as long as they need
DUMP = "dump"  # the item holding the pg_dump file
PASSWORD = "password"  # the item holding the password (--include-secrets only)
_LEFT_OUT = "the database password is left out (take the snapshot with --include-secrets)"
_HINT = "apt-get install postgresql-client"

# Every ordinary table outside the system schemas, with its row count, a digest of its
# rows (each row's text, sorted: order-independent) and of its shape (columns and their
# types, in order). One statement: query_to_xml runs each table's query, so a database of
# many tables costs one psql call, not one per table.
_DIGESTS = r"""
WITH tables AS MATERIALIZED (
  SELECT c.oid, n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
)
SELECT format('%I.%I', t.nspname, t.relname) AS n,
  (xpath('/row/c/text()', x))[1]::text AS c,
  coalesce((xpath('/row/d/text()', x))[1]::text, '') AS d,
  coalesce((SELECT md5(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod),
                                  ',' ORDER BY a.attnum))
            FROM pg_attribute a
            WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS s
FROM tables t, LATERAL query_to_xml(
  format('SELECT count(*) AS c, md5(string_agg(h, '''' ORDER BY h)) AS d FROM (SELECT md5(r::text) AS h FROM %I.%I r) s',
         t.nspname, t.relname),
  false, true, '') AS x
"""
# In a session, one line a statement: the tables joined into one.
_DIGESTS_ONE_LINE = (
    r"SELECT coalesce(string_agg(concat_ws(E'\x1f', n, c, d, s), E'\x1e' ORDER BY n), '') "
    f"FROM ({_DIGESTS}) q"
)


@dataclass(frozen=True)
class Server:
    """Where the database is, from the target's URL and the backing service's entry."""

    host: str
    port: int
    user: str
    database: str
    password: str = field(repr=False)
    # A pull's source: the server itself refuses every write in these sessions.
    read_only: bool = False

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}
        if self.read_only:
            env["PGOPTIONS"] = "-c default_transaction_read_only=on"
        return env

    def args(self, database: str | None = None) -> list[str]:
        return [
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            database or self.database,
        ]

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


def server_of(target: DataTarget) -> Server:
    if not target.url:
        raise DataError(f"{target.where}: no server URL (is the stack up? `devstack up`)")
    parts = urlsplit(target.url)
    resources = target.resources
    return Server(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=str(resources.get("user") or parts.username or "postgres"),
        database=str(resources.get("database") or parts.path.lstrip("/") or "postgres"),
        password=str(resources.get("password") or parts.password or ""),
        read_only=bool(resources.get("read_only")),
    )


def _tool(name: str) -> str:
    found = find_binary(name, None)
    if found is None:
        raise DataError(f"{name} not found: {_HINT}")
    return found


def _failure(tool: str, server: Server, stderr: str) -> DataError:
    """The tool's error line (the reason; Postgres never quotes a password in it), else
    its last line: psql follows an error with the statement and a caret."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR:" in line or "FATAL:" in line or "error:" in line]
    reason = (errors or lines or ["failed"])[0 if errors else -1]
    reason = reason.removeprefix(f"{tool}: ")  # "pg_dump: error: ..." says pg_dump twice
    return DataError(f"{tool} on {server.where}: {reason}")


def _psql(server: Server, sql: str) -> list[list[str]]:
    """Rows of one statement, fields split on the unit separator."""
    argv = [_tool("psql"), *server.args(), "-X", "-q", "-tA", "-F", "\x1f", "-v", "ON_ERROR_STOP=1"]
    try:
        done = subprocess.run(
            [*argv, "-c", sql],
            env=server.env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise DataError(f"psql on {server.where} timed out after {TIMEOUT:g}s") from None
    if done.returncode != 0:
        raise _failure("psql", server, done.stderr)
    return [line.split("\x1f") for line in done.stdout.splitlines() if line]


class _Session:
    """One psql process fed statement by statement (psql flushes each result), so that
    several reads share one transaction."""

    def __init__(self, server: Server) -> None:
        self.server = server
        argv = [
            _tool("psql"),
            *server.args(),
            "-X",
            "-q",
            "-tA",
            "-F",
            "\x1f",
            "-v",
            "ON_ERROR_STOP=1",
        ]
        self.proc = subprocess.Popen(
            argv, env=server.env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    def one(self, sql: str) -> list[str]:
        """The single row of a statement that returns exactly one."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(sql.replace("\n", " ") + ";\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=TIMEOUT)
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            raise _failure("psql", self.server, stderr)
        return line.rstrip("\n").split("\x1f")

    def close(self) -> None:
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.write("COMMIT;\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@contextmanager
def _frozen(server: Server) -> Iterator[tuple[_Session, str]]:
    """A session holding a repeatable-read snapshot, and the snapshot's id for pg_dump."""
    session = _Session(server)
    try:
        session.one("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT 1")
        (snapshot_id,) = session.one("SELECT pg_export_snapshot()")
        yield session, snapshot_id
    finally:
        session.close()


def _digests(server: Server, session: _Session | None = None) -> dict[str, dict[str, Any]]:
    """table -> {"rows", "digest", "shape"}: in `session`'s snapshot, or now."""
    if session is None:
        rows = _psql(server, _DIGESTS)
    else:
        joined = "\x1f".join(session.one(_DIGESTS_ONE_LINE))  # one field, split on \x1f
        rows = [line.split("\x1f") for line in joined.split("\x1e") if line]
    return {
        name: {"rows": int(count), "digest": digest, "shape": shape}
        for name, count, digest, shape in rows
    }


@dataclass
class _Work:
    drop: list[str]  # tables on the target that are not in the snapshot


class PostgresAdapter:
    kind = "postgres"

    def snapshot(self, target: DataTarget, out: BackingWriter, options: DataOptions) -> None:
        server = server_of(target)
        pg_dump = _tool("pg_dump")
        with _frozen(server) as (session, snapshot_id):
            (version,) = session.one("SHOW server_version")
            tables = _digests(server, session)
            meta = {"format": "pg_dump custom (-Fc)", "database": server.database}
            with out.put_file(DUMP, meta) as path:
                done = subprocess.run(
                    [pg_dump, *server.args(), "-Fc", "--no-password",
                     f"--snapshot={snapshot_id}", "-f", str(path)],
                    env=server.env, capture_output=True, text=True, check=False,
                )  # fmt: skip
                if done.returncode != 0:
                    raise _failure("pg_dump", server, done.stderr)
                size = path.stat().st_size
        options.progress.advance(1, size)
        out.info.update(
            database=server.database,
            user=server.user,
            server_version=version,
            tables=tables,
        )
        if options.include_secrets:
            out.put_record(PASSWORD, {"password": server.password})
        else:
            out.omit(PASSWORD, _LEFT_OUT)

    def plan(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> RestorePlan:
        server = server_of(target)
        wanted: dict[str, dict[str, Any]] = snap.info.get("tables", {})
        current = _digests(server)
        plan = RestorePlan(snap.name, self.kind)
        for table, state in wanted.items():
            now = current.get(table)
            if now is None:
                plan.add += 1
            elif now != state:
                plan.change += 1
        drop = [] if options.keep_extra else sorted(t for t in current if t not in wanted)
        plan.delete = len(drop)
        rows = sum(int(t["rows"]) for t in wanted.values())
        plan.notes.append(f"tables: {len(wanted)} in the snapshot, {rows} rows")
        plan.notes.append("the database password is the target's own (never restored)")
        plan.work = _Work(drop)
        return plan

    def apply(
        self, target: DataTarget, snap: BackingReader, plan: RestorePlan, options: DataOptions
    ) -> None:
        server = server_of(target)
        dump = next((i for i in snap.items if i.key == DUMP), None)
        if dump is None:
            raise DataError(f"{target.where}: the snapshot holds no {DUMP} item")
        work: _Work = plan.work
        if work.drop:
            # Tables the snapshot does not have: pg_restore --clean drops only its own.
            names = ", ".join(work.drop)
            _psql(server, f"DROP TABLE IF EXISTS {names} CASCADE")
            options.progress.advance(len(work.drop))
        # One transaction: a restore that fails leaves the database as it was.
        done = subprocess.run(
            [_tool("pg_restore"), *server.args(), "--clean", "--if-exists", "--no-owner",
             "--no-privileges", "--single-transaction", "--no-password", str(snap.path(dump))],
            env=server.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise _failure("pg_restore", server, done.stderr)
        options.progress.advance(len(snap.info.get("tables", {})), dump.size)

    def check(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> list[str]:
        wanted: dict[str, dict[str, Any]] = snap.info.get("tables", {})
        current = _digests(server_of(target))
        lines = []
        for table in sorted(set(wanted) | set(current)):
            want, now = wanted.get(table), current.get(table)
            if want is None:
                if not options.keep_extra:  # a pull's seed keeps the tables it lacks
                    lines.append(f"table {table} is not in the snapshot")
            elif now is None:
                lines.append(f"table {table} is missing")
            elif now != want:
                lines.append(
                    f"table {table} differs ({now['rows']} rows, the snapshot has {want['rows']})"
                )
        return lines


def database_size(target: DataTarget) -> int | None:
    """The database's size on disk in bytes (one cheap call), None if unreachable."""
    try:
        server = server_of(target)
        (size,) = _psql(server, "SELECT pg_database_size(current_database())")[0]
        return int(size)
    except (DataError, IndexError, ValueError):
        return None


ADAPTER = PostgresAdapter()
