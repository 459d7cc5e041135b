"""secretsmanager: the current value of each declared secret.

Values are left out unless --include-secrets. A declared secret that did not exist when
the snapshot was taken is listed in `info["absent"]`, and a restore deletes it.
"""

from __future__ import annotations

import base64
from typing import Any

from botocore.exceptions import ClientError

from devstack.data.adapter import DataOptions, DataTarget, RestorePlan
from devstack.data.snapshot import BackingReader, BackingWriter

_LEFT_OUT = "secret value left out (take the snapshot with --include-secrets)"


def _client(target: DataTarget) -> Any:
    assert target.aws is not None
    return target.aws.client("secretsmanager", max_attempts=4)


def _declared(target: DataTarget) -> list[str]:
    return sorted(target.resources.get("secrets") or {})


def _value(sm: Any, name: str) -> dict[str, str] | None:
    try:
        reply = sm.get_secret_value(SecretId=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    if "SecretBinary" in reply:
        return {"binary": base64.b64encode(reply["SecretBinary"]).decode()}
    return {"string": str(reply.get("SecretString", ""))}


def _put(sm: Any, name: str, value: dict[str, str], exists: bool) -> None:
    args: dict[str, Any] = (
        {"SecretBinary": base64.b64decode(value["binary"])}
        if "binary" in value
        else {"SecretString": value["string"]}
    )
    if exists:
        sm.put_secret_value(SecretId=name, **args)
    else:
        sm.create_secret(Name=name, **args)


class SecretsManagerAdapter:
    kind = "secretsmanager"

    def snapshot(self, target: DataTarget, out: BackingWriter, options: DataOptions) -> None:
        sm = _client(target)
        absent = []
        for name in _declared(target):
            if not options.include_secrets:
                out.omit(name, _LEFT_OUT)
                continue
            value = _value(sm, name)
            if value is None:
                absent.append(name)
                continue
            stored = out.put_record(name, value)
            options.progress.advance(1, stored.size)
        out.info["absent"] = absent

    def plan(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> RestorePlan:
        sm = _client(target)
        plan = RestorePlan(snap.name, self.kind)
        puts = []
        for item, value in snap.records():
            now = _value(sm, item.key)
            if now is None:
                plan.add += 1
                puts.append((item.key, value, False))
            elif now != value:
                plan.change += 1
                puts.append((item.key, value, True))
        absent = [] if options.keep_extra else snap.info.get("absent", [])  # a pull deletes nothing
        deletes = [n for n in absent if _value(sm, n) is not None]
        plan.delete = len(deletes)
        if snap.omitted:
            plan.notes.append(
                f"{len(snap.omitted)} secret value(s) not in the snapshot: kept as they are"
            )
        plan.work = {"puts": puts, "deletes": deletes}
        return plan

    def apply(
        self, target: DataTarget, snap: BackingReader, plan: RestorePlan, options: DataOptions
    ) -> None:
        sm = _client(target)
        for name, value, exists in plan.work["puts"]:
            _put(sm, name, value, exists)
            options.progress.advance(1)
        for name in plan.work["deletes"]:
            sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
            options.progress.advance(1)

    def check(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> list[str]:
        plan = self.plan(target, snap, options)
        if plan.empty:
            return []
        return [
            f"secrets: {plan.add} missing, {plan.change} different, {plan.delete} not in the snapshot"
        ]


ADAPTER = SecretsManagerAdapter()
