"""Provisioning for Postgres: the declared database exists, and its seed ran once.

With `psql` (Debian's postgresql-client), not a driver: the server side already needs the
Postgres binaries, and a database client library would be a heavy dependency for two
statements. Idempotent: the database is created only when missing, and the seed SQL runs
only right after that creation.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devstack.config.servers import find_binary

TIMEOUT = 60.0


class SqlError(Exception):
    """One line: what failed and why."""


def provision_postgres(
    host: str,
    port: int,
    user: str,
    password: str,
    database: str,
    seed: str | None,
    root: Path,
    bin_dir: str | None = None,
) -> list[str]:
    psql = find_binary("psql", bin_dir)
    if psql is None:
        raise SqlError("psql not found: apt-get install postgresql-client")
    env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}
    base = [psql, "-h", host, "-p", str(port), "-U", user, "-v", "ON_ERROR_STOP=1", "-X", "-q"]

    def run(db: str, *args: str) -> str:
        try:
            done = subprocess.run(
                [*base, "-d", db, *args],
                env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise SqlError(f"psql on {host}:{port} timed out after {TIMEOUT:g}s") from None
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise SqlError(f"psql on {host}:{port}: {lines[-1] if lines else 'failed'}")
        return done.stdout.strip()

    exists = run("postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
    if exists == "1":
        actions = [f"database {database} exists"]
    else:
        run("postgres", "-c", f'CREATE DATABASE "{database}"')
        actions = [f"created database {database}"]
    # A container's image creates the database itself, so "created by us" cannot gate the
    # seed: an empty public schema does (the seed creates tables, so it runs once).
    tables = run(database, "-tAc", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    if seed and tables == "0":
        path = root / seed
        if not path.is_file():
            raise SqlError(f"seed file {seed} not found (in {root})")
        run(database, "-f", str(path))
        actions.append(f"ran {seed}")
    return actions
