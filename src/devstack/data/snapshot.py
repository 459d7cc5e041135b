"""The snapshot format on disk, and the store of snapshots under `.devstack/snapshots/`.

A snapshot is a directory (docs/backing-data.md describes it for other tools):

    .devstack/snapshots/NAME/
      manifest.json              every item of every backing service, with its sha256
      <backing>/records.jsonl    small items, one JSON object a line (table items...)
      <backing>/blobs/<n>        opaque bytes (an object's body, a pg_dump file...)

It is written into a hidden temporary directory and renamed to NAME only once the
manifest is complete, so an interrupted snapshot leaves nothing a restore could take for
a whole one (the leftover temporary directory is removed by the next snapshot). Files are
0600 and directories 0700 whatever they hold: a snapshot taken with --include-secrets
holds secret values, and one without still holds the application's data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from devstack.data.adapter import DataError

FORMAT = 1
MANIFEST = "manifest.json"
TEMP_PREFIX = ".tmp-"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CHUNK = 1 << 20


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise DataError(
            f"invalid snapshot name {name!r}: letters, digits, '.', '_' and '-' "
            "(at most 100, not starting with '.', '_' or '-')"
        )
    return name


def canonical(record: Any) -> bytes:
    """The bytes a record is stored and digested as (sorted keys: the same item gives the
    same digest whichever provider it was read from)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _private(path: Path, buffering: int = -1) -> IO[bytes]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb", buffering=buffering)


@dataclass(frozen=True)
class Item:
    """One item of a backing service as the manifest lists it."""

    key: str  # the object key, the item's key as JSON, the parameter name...
    sha256: str
    size: int
    blob: str | None = None  # path of its bytes, relative to the backing's directory
    line: int | None = None  # or its line in records.jsonl
    meta: dict[str, Any] = field(default_factory=dict)  # content type, user metadata...

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "sha256": self.sha256, "size": self.size}
        if self.blob is not None:
            out["blob"] = self.blob
        if self.line is not None:
            out["line"] = self.line
        if self.meta:
            out["meta"] = self.meta
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Item:
        return cls(
            key=str(raw["key"]),
            sha256=str(raw["sha256"]),
            size=int(raw["size"]),
            blob=raw.get("blob"),
            line=raw.get("line"),
            meta=dict(raw.get("meta") or {}),
        )


class BackingWriter:
    """Where an adapter writes one backing service's items. Thread-safe: an adapter may
    write from a pool of workers."""

    def __init__(self, directory: Path, name: str, kind: str, provider: str, ptype: str) -> None:
        self.directory = directory
        self.name, self.kind, self.provider, self.provider_type = name, kind, provider, ptype
        self.info: dict[str, Any] = {}  # the shape a restore needs (key schema...)
        self.notes: list[str] = []
        self._items: list[Item] = []
        self._omitted: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._blobs = 0
        self._records: IO[bytes] | None = None
        self._lines = 0
        directory.mkdir(mode=0o700)
        (directory / "blobs").mkdir(mode=0o700)

    def put_bytes(self, key: str, data: bytes, meta: dict[str, Any] | None = None) -> Item:
        return self.put_stream(key, [data], meta)

    def put_stream(
        self, key: str, chunks: Iterable[bytes], meta: dict[str, Any] | None = None
    ) -> Item:
        """An item's bytes, as they come (never all in memory)."""
        with self._lock:
            self._blobs += 1
            relative = f"blobs/{self._blobs:06d}"
        digest, size = hashlib.sha256(), 0
        with _private(self.directory / relative) as f:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                f.write(chunk)
        item = Item(key, digest.hexdigest(), size, blob=relative, meta=dict(meta or {}))
        with self._lock:
            self._items.append(item)
        return item

    @contextlib.contextmanager
    def put_file(self, key: str, meta: dict[str, Any] | None = None) -> Iterator[Path]:
        """A path to write an item to (for tools that write files: pg_dump -f); hashed and
        listed when the block ends."""
        with self._lock:
            self._blobs += 1
            relative = f"blobs/{self._blobs:06d}"
        path = self.directory / relative
        _private(path).close()
        yield path
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        path.chmod(0o600)
        with self._lock:
            self._items.append(Item(key, digest.hexdigest(), size, blob=relative, meta=meta or {}))

    def put_record(self, key: str, record: Any, meta: dict[str, Any] | None = None) -> Item:
        """A small item, stored as one line of records.jsonl."""
        data = canonical(record)
        with self._lock:
            if self._records is None:
                # A large buffer: each write() that reaches the disk lets go of the GIL
                # and waits to get it back behind the adapter's worker threads.
                self._records = _private(self.directory / "records.jsonl", _CHUNK)
            self._records.write(data + b"\n")
            item = Item(
                key, hashlib.sha256(data).hexdigest(), len(data), line=self._lines, meta=meta or {}
            )
            self._lines += 1
            self._items.append(item)
        return item

    def omit(self, key: str, reason: str) -> None:
        """An item deliberately left out (a secret value without --include-secrets): a
        restore leaves it alone on the target, neither writing nor deleting it."""
        with self._lock:
            self._omitted.append({"key": key, "reason": reason})

    def omitted_keys(self) -> list[str]:
        with self._lock:
            return [o["key"] for o in self._omitted]

    def close(self) -> dict[str, Any]:
        if self._records is not None:
            self._records.close()
        items = sorted(self._items, key=lambda i: i.key)
        return {
            "kind": self.kind,
            "provider": self.provider,
            "provider_type": self.provider_type,
            "info": self.info,
            "items": [i.to_json() for i in items],
            "omitted": sorted(self._omitted, key=lambda o: o["key"]),
            "notes": self.notes,
        }


class SnapshotWriter:
    """A snapshot being taken; `commit()` makes it appear under its name at once."""

    def __init__(self, store: SnapshotStore, name: str, header: dict[str, Any]) -> None:
        self.store, self.name, self.header = store, name, header
        self.temp = store.root / f"{TEMP_PREFIX}{name}-{os.getpid()}"
        self.temp.mkdir(mode=0o700, parents=True)
        self._backings: dict[str, BackingWriter] = {}

    def backing(self, name: str, kind: str, provider: str, provider_type: str) -> BackingWriter:
        writer = BackingWriter(self.temp / name, name, kind, provider, provider_type)
        self._backings[name] = writer
        return writer

    def commit(self, rename: bool = True) -> Path:
        """Write the manifest and, with `rename`, make the snapshot appear under its name
        (without: it stays hidden in its temporary directory, a carry's)."""
        manifest = dict(self.header)
        manifest.update(
            format=FORMAT,
            name=self.name,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            backings={n: w.close() for n, w in sorted(self._backings.items())},
        )
        with _private(self.temp / MANIFEST) as f:
            if not rename:
                # A carry's: read back at once and removed, by this process. Neither
                # indented for people (json's indenting encoder is the slow, pure-Python
                # one: 0.1 s for 10,000 items) nor synced to disk.
                f.write(json.dumps(manifest, ensure_ascii=False).encode())
                return self.temp
            f.write(json.dumps(manifest, indent=1, ensure_ascii=False).encode())
            f.flush()
            os.fsync(f.fileno())
        final = self.store.root / self.name
        try:
            self.temp.rename(final)  # atomic: the snapshot is whole or absent
        except OSError:
            raise DataError(
                f"snapshot {self.name} exists: `devstack data rm {self.name}` first"
            ) from None
        return final

    def discard(self) -> None:
        for writer in self._backings.values():
            with contextlib.suppress(OSError):
                writer.close()
        shutil.rmtree(self.temp, ignore_errors=True)


class BackingReader:
    """One backing service of a snapshot, for restore and verify."""

    def __init__(self, directory: Path, name: str, entry: dict[str, Any]) -> None:
        self.directory, self.name = directory, name
        self.kind: str = entry["kind"]
        self.provider: str = entry.get("provider", "")
        self.provider_type: str = entry.get("provider_type", "")
        self.info: dict[str, Any] = entry.get("info") or {}
        self.items = [Item.from_json(i) for i in entry.get("items", [])]
        self.omitted = [str(o["key"]) for o in entry.get("omitted", [])]
        self.notes = [str(n) for n in entry.get("notes", [])]

    @property
    def size(self) -> int:
        return sum(i.size for i in self.items)

    def path(self, item: Item) -> Path:
        if item.blob is None:
            raise DataError(f"{self.name}: item {item.key} is a record, not a file")
        return self.directory / item.blob

    def read(self, item: Item) -> bytes:
        return self.path(item).read_bytes()

    def records(self) -> Iterator[tuple[Item, Any]]:
        """Each record item with its value, in the order of the manifest."""
        by_line = {i.line: i for i in self.items if i.line is not None}
        if not by_line:
            return
        with (self.directory / "records.jsonl").open("rb") as f:
            for number, raw in enumerate(f):
                item = by_line.get(number)
                if item is not None:
                    yield item, json.loads(raw)


class SnapshotReader:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            self.manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{directory / MANIFEST}: unreadable ({exc.__class__.__name__})"
            ) from None
        if self.manifest.get("format") != FORMAT:
            raise DataError(
                f"{directory / MANIFEST}: format {self.manifest.get('format')!r}, "
                f"this devstack reads format {FORMAT}"
            )
        self.name: str = self.manifest.get("name", directory.name)

    def backings(self) -> dict[str, BackingReader]:
        return {
            name: BackingReader(self.directory / name, name, entry)
            for name, entry in self.manifest.get("backings", {}).items()
        }

    def verify(self) -> list[str]:
        """Every item against its sha256 and size: one line per problem ([] when whole)."""
        problems: list[str] = []
        for name, backing in self.backings().items():
            lines: dict[int, bytes] = {}
            records = backing.directory / "records.jsonl"
            if any(i.line is not None for i in backing.items):
                try:
                    lines = dict(enumerate(records.read_bytes().splitlines()))
                except OSError:
                    problems.append(f"{name}: records.jsonl is missing")
            for item in backing.items:
                if item.blob is not None:
                    digest = _file_digest(backing.directory / item.blob)
                else:
                    raw = lines.get(item.line if item.line is not None else -1)
                    digest = hashlib.sha256(raw).hexdigest() if raw is not None else None
                if digest is None:
                    problems.append(f"{name}: item {item.key} is missing")
                elif digest != item.sha256:
                    problems.append(f"{name}: item {item.key} does not match its sha256")
        return problems


def _file_digest(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


@dataclass(frozen=True)
class SnapshotSummary:
    name: str
    created: str
    backings: dict[str, str]  # backing -> kind
    items: int
    size: int  # bytes of item data
    include_secrets: bool


class SnapshotStore:
    """The snapshots of one stack: `.devstack/snapshots/`, which `down -v` keeps."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "snapshots"

    def create(self, name: str, header: dict[str, Any]) -> SnapshotWriter:
        check_name(name)
        if (self.root / name).exists():
            raise DataError(f"snapshot {name} exists: `devstack data rm {name}` first")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._clear_leftovers()
        return SnapshotWriter(self, name, header)

    def open(self, name: str) -> SnapshotReader:
        check_name(name)
        directory = self.root / name
        if not (directory / MANIFEST).is_file():
            known = ", ".join(s.name for s in self.list()) or "none"
            raise DataError(f"no snapshot named {name} (snapshots: {known})")
        return SnapshotReader(directory)

    def list(self) -> list[SnapshotSummary]:
        found = []
        if not self.root.is_dir():
            return []
        for directory in sorted(self.root.iterdir()):
            if directory.name.startswith(".") or not (directory / MANIFEST).is_file():
                continue
            try:
                manifest = SnapshotReader(directory).manifest
            except DataError:
                continue
            backings = manifest.get("backings", {})
            items = [i for b in backings.values() for i in b.get("items", [])]
            found.append(
                SnapshotSummary(
                    name=directory.name,
                    created=str(manifest.get("created", "")),
                    backings={n: str(b.get("kind", "")) for n, b in backings.items()},
                    items=len(items),
                    size=sum(int(i.get("size", 0)) for i in items),
                    include_secrets=bool(manifest.get("include_secrets")),
                )
            )
        return sorted(found, key=lambda s: (s.created, s.name))

    def remove(self, name: str) -> None:
        check_name(name)
        directory = self.root / name
        if not (directory / MANIFEST).is_file():
            known = ", ".join(s.name for s in self.list()) or "none"
            raise DataError(f"no snapshot named {name} (snapshots: {known})")
        # Renamed first, so that a removal cut short never leaves a half snapshot behind.
        doomed = self.root / f"{TEMP_PREFIX}rm-{name}-{os.getpid()}"
        directory.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def _clear_leftovers(self) -> None:
        """Temporary directories of snapshots cut short (their process is gone)."""
        for entry in self.root.glob(f"{TEMP_PREFIX}*"):
            pid = entry.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                shutil.rmtree(entry, ignore_errors=True)
