"""ssm: every parameter under the backing service's `path`, with its type.

SecureString values are left out unless --include-secrets (listed as omitted: a restore
neither writes nor deletes them).
"""

from __future__ import annotations

from typing import Any

from devstack.data.adapter import DataOptions, DataTarget, RestorePlan
from devstack.data.pool import run_all
from devstack.data.snapshot import BackingReader, BackingWriter

SECURE = "SecureString"
_LEFT_OUT = "SecureString value left out (take the snapshot with --include-secrets)"


def _client(target: DataTarget) -> Any:
    assert target.aws is not None
    return target.aws.client("ssm", max_attempts=4)


def _path(target: DataTarget) -> str:
    path = str(target.resources.get("path") or "/")
    return path if path.endswith("/") else path + "/"


def _names(ssm: Any, path: str) -> dict[str, str]:
    """Parameter name -> type, for every parameter under `path`."""
    found: dict[str, str] = {}
    for page in ssm.get_paginator("describe_parameters").paginate():
        for p in page.get("Parameters", []):
            name = str(p["Name"])
            if path == "/" or name.startswith(path):
                found[name] = str(p.get("Type", "String"))
    return found


def _values(ssm: Any, names: list[str], decrypt: bool) -> dict[str, dict[str, str]]:
    """name -> {"type", "value"} (GetParameters takes 10 names a call)."""
    out: dict[str, dict[str, str]] = {}
    for start in range(0, len(names), 10):
        reply = ssm.get_parameters(Names=names[start : start + 10], WithDecryption=decrypt)
        for p in reply.get("Parameters", []):
            out[str(p["Name"])] = {"type": str(p["Type"]), "value": str(p["Value"])}
    return out


class SsmAdapter:
    kind = "ssm"

    def snapshot(self, target: DataTarget, out: BackingWriter, options: DataOptions) -> None:
        ssm, path = _client(target), _path(target)
        out.info["path"] = path
        names = _names(ssm, path)
        readable = sorted(n for n, t in names.items() if t != SECURE or options.include_secrets)
        for name in sorted(set(names) - set(readable)):
            out.omit(name, _LEFT_OUT)
        for name, record in sorted(_values(ssm, readable, options.include_secrets).items()):
            stored = out.put_record(name, record, {"type": record["type"]})
            options.progress.advance(1, stored.size)

    def plan(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> RestorePlan:
        ssm, path = _client(target), _path(target)
        names = _names(ssm, path)
        current = _values(ssm, sorted(names), decrypt=True)  # compared in memory, never shown
        plan = RestorePlan(snap.name, self.kind)
        puts = []
        for item, record in snap.records():
            now = current.pop(item.key, None)
            if now is None:
                plan.add += 1
                puts.append(record | {"name": item.key})
            elif now != record:
                plan.change += 1
                puts.append(record | {"name": item.key})
        kept = snap.omitted if not options.keep_extra else current  # a pull's seed deletes nothing
        deletes = sorted(n for n in current if n not in kept)
        plan.delete = len(deletes)
        if snap.omitted:
            plan.notes.append(
                f"{len(snap.omitted)} SecureString value(s) not in the snapshot: kept as they are"
            )
        plan.work = {"puts": puts, "deletes": deletes}
        return plan

    def apply(
        self, target: DataTarget, snap: BackingReader, plan: RestorePlan, options: DataOptions
    ) -> None:
        ssm = _client(target)

        def put(record: dict[str, str]) -> None:
            ssm.put_parameter(
                Name=record["name"], Value=record["value"], Type=record["type"], Overwrite=True
            )
            options.progress.advance(1)

        run_all(plan.work["puts"], put, min(options.workers, 4))
        deletes: list[str] = plan.work["deletes"]
        for start in range(0, len(deletes), 10):
            ssm.delete_parameters(Names=deletes[start : start + 10])
            options.progress.advance(len(deletes[start : start + 10]))

    def check(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> list[str]:
        plan = self.plan(target, snap, options)
        if plan.empty:
            return []
        return [
            f"parameters under {_path(target)}: {plan.add} missing, {plan.change} different, "
            f"{plan.delete} not in the snapshot"
        ]


ADAPTER = SsmAdapter()
