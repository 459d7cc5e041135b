"""redis: every key of the backing service's database, with its type, value and TTL.

Values are read by type (GET, LRANGE, SMEMBERS, ZRANGE WITHSCORES, HGETALL), not with
DUMP: a DUMP payload is tied to the server's RDB version, and a snapshot must restore
onto whichever Redis serves the backing service next. Only other types (streams, module
types) are kept as DUMP payloads, restored with RESTORE ... REPLACE. Keys and values are
bytes, stored base64-encoded; an item's key in the manifest is the key itself when it is
UTF-8 (else `base64:` and its encoding).

A key's TTL is kept as the milliseconds it had left when the snapshot was taken, and
counts again from the restore. `plan` compares a key's type and value and whether it
expires (not the milliseconds left, which differ by nature); a restore deletes the keys
the snapshot does not have, so the database becomes equal to it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from devstack.data.adapter import DataError, DataOptions, DataTarget, RestorePlan
from devstack.data.snapshot import BackingReader, BackingWriter, canonical

SCAN_COUNT = 1000  # keys a SCAN step asks for
BATCH = 500  # keys read or written per pipeline round trip
_ENCODED = "base64:"
_TYPED = ("string", "list", "set", "zset", "hash")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def item_key(key: bytes) -> str:
    """The key as the manifest lists it: itself when it is UTF-8, else base64."""
    try:
        text = key.decode()
    except UnicodeDecodeError:
        return _ENCODED + _b64(key)
    return _ENCODED + _b64(key) if text.startswith(_ENCODED) else text


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    database: int

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


def server_of(target: DataTarget) -> Server:
    if not target.url:
        raise DataError(f"{target.where}: no server URL (is the stack up? `devstack up`)")
    parts = urlsplit(target.url)
    path = parts.path.lstrip("/")
    database = target.resources.get("database", int(path) if path.isdigit() else 0)
    return Server(parts.hostname or "127.0.0.1", parts.port or 6379, int(database))


def _connect(target: DataTarget) -> Any:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    server = server_of(target)
    password = urlsplit(target.url or "").password
    return redis.Redis(
        host=server.host,
        port=server.port,
        db=server.database,
        password=password,
        socket_connect_timeout=5,
        socket_timeout=30,
        # redis-py retries a refused connection with backoff by default: seconds before
        # saying the server is not there. A restore is simply run again instead.
        retry=Retry(NoBackoff(), 0),
    )


def _keys(client: Any) -> list[bytes]:
    return sorted(set(client.scan_iter(count=SCAN_COUNT)))


def _read(client: Any, keys: list[bytes]) -> list[tuple[bytes, dict[str, Any]]]:
    """Each key's record: {"key", "type", "value", "pttl"}; keys gone meanwhile are left
    out (they expired between SCAN and the read)."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
        pipe.pttl(key)
    heads = pipe.execute()
    pipe = client.pipeline(transaction=False)
    kinds = []
    for n, key in enumerate(keys):
        kind = heads[2 * n].decode()
        kinds.append(kind)
        if kind == "string":
            pipe.get(key)
        elif kind == "list":
            pipe.lrange(key, 0, -1)
        elif kind == "set":
            pipe.smembers(key)
        elif kind == "zset":
            pipe.zrange(key, 0, -1, withscores=True)
        elif kind == "hash":
            pipe.hgetall(key)
        elif kind != "none":
            pipe.dump(key)
    values = iter(pipe.execute())
    found = []
    for n, key in enumerate(keys):
        kind = kinds[n]
        if kind == "none":
            continue
        raw = next(values)
        if raw is None or (not raw and kind != "string"):
            continue  # expired between the two round trips
        value: Any
        if kind == "string":
            value = _b64(raw)
        elif kind == "list":
            value = [_b64(v) for v in raw]
        elif kind == "set":
            value = sorted(_b64(v) for v in raw)
        elif kind == "zset":
            value = sorted([_b64(m), s] for m, s in raw)
        elif kind == "hash":
            value = sorted([_b64(f), _b64(v)] for f, v in raw.items())
        else:
            value = _b64(raw)  # a DUMP payload
        pttl = int(heads[2 * n + 1])
        record = {"key": _b64(key), "type": kind, "value": value, "pttl": max(pttl, -1)}
        found.append((key, record))
    return found


def _digest(record: dict[str, Any]) -> str:
    """What `plan` compares: type, value and whether the key expires."""
    same = {k: v for k, v in record.items() if k != "pttl"}
    same["expires"] = int(record["pttl"]) >= 0
    return hashlib.sha256(canonical(same)).hexdigest()


def _current(client: Any) -> dict[bytes, str]:
    keys = _keys(client)
    found: dict[bytes, str] = {}
    for start in range(0, len(keys), BATCH):
        for key, record in _read(client, keys[start : start + BATCH]):
            found[key] = _digest(record)
    return found


def _write(pipe: Any, record: dict[str, Any]) -> None:
    key, kind, value = _unb64(record["key"]), record["type"], record["value"]
    pttl = int(record["pttl"])
    if kind not in _TYPED:
        pipe.restore(key, max(pttl, 0), _unb64(value), replace=True)
        return
    pipe.delete(key)
    if kind == "string":
        pipe.set(key, _unb64(value))
    elif kind == "list":
        pipe.rpush(key, *[_unb64(v) for v in value])
    elif kind == "set":
        pipe.sadd(key, *[_unb64(v) for v in value])
    elif kind == "zset":
        pipe.zadd(key, {_unb64(m): float(s) for m, s in value})
    else:
        pipe.hset(key, mapping={_unb64(f): _unb64(v) for f, v in value})
    if pttl > 0:
        pipe.pexpire(key, pttl)


@dataclass
class _Work:
    writes: set[str]  # item keys to write (added or changed)
    deletes: list[bytes]  # keys on the target that the snapshot does not have


@contextmanager
def _errors(target: DataTarget, doing: str) -> Iterator[None]:
    """redis-py's connection and server errors as one DataError line."""
    import redis

    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError):
        raise DataError(
            f"{target.where}: cannot reach redis at {server_of(target).where} while {doing}; "
            "is the stack up? (`devstack up`)"
        ) from None
    except redis.RedisError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{target.where}: redis said {first!r} while {doing}") from None


class RedisAdapter:
    kind = "redis"

    def snapshot(self, target: DataTarget, out: BackingWriter, options: DataOptions) -> None:
        with _errors(target, "taking the snapshot"):
            client = _connect(target)
            out.info["database"] = server_of(target).database
            keys = _keys(client)
            for start in range(0, len(keys), BATCH):
                for key, record in _read(client, keys[start : start + BATCH]):
                    stored = out.put_record(item_key(key), record, {"type": record["type"]})
                    options.progress.advance(1, stored.size)
            client.close()

    def plan(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> RestorePlan:
        with _errors(target, "comparing with the snapshot"):
            client = _connect(target)
            current = _current(client)
            client.close()
        plan = RestorePlan(snap.name, self.kind)
        writes: set[str] = set()
        for item, record in snap.records():
            key = _unb64(record["key"])
            now = current.pop(key, None)
            if now is None:
                plan.add += 1
                writes.add(item.key)
            elif now != _digest(record):
                plan.change += 1
                writes.add(item.key)
        plan.delete = len(current)
        plan.work = _Work(writes, sorted(current))
        return plan

    def apply(
        self, target: DataTarget, snap: BackingReader, plan: RestorePlan, options: DataOptions
    ) -> None:
        work: _Work = plan.work
        with _errors(target, "restoring"):
            client = _connect(target)
            for start in range(0, len(work.deletes), BATCH):
                batch = work.deletes[start : start + BATCH]
                client.delete(*batch)
                options.progress.advance(len(batch))
            pipe = client.pipeline(transaction=True)  # each batch all or nothing
            queued = 0
            for item, record in snap.records():
                if item.key not in work.writes:
                    continue
                _write(pipe, record)
                queued += 1
                if queued == BATCH:
                    pipe.execute()
                    options.progress.advance(queued)
                    queued = 0
            if queued:
                pipe.execute()
                options.progress.advance(queued)
            client.close()

    def check(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> list[str]:
        plan = self.plan(target, snap, options)
        if plan.empty:
            return []
        return [
            f"keys of database {server_of(target).database}: {plan.add} missing, "
            f"{plan.change} different, {plan.delete} not in the snapshot"
        ]


ADAPTER = RedisAdapter()


def key_count(target: DataTarget) -> int | None:
    """The database's number of keys (DBSIZE: one cheap call), None if unreachable."""
    import redis

    try:
        client = _connect(target)
        try:
            return int(client.dbsize())
        finally:
            client.close()
    except redis.RedisError:
        return None
