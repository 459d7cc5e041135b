"""`devstack data pull BACKING --from ENV`: seed the local provider from staging.

The source is the provider that serves BACKING in environment ENV; it must be an `aws`
or `external` one (staging), and it is only read: its clients refuse anything but reads
(readonly.py). The data goes through a snapshot kept in a private temporary directory,
then is restored onto the provider serving BACKING here, as a seed: it adds and updates,
and never deletes what the local provider holds beyond it. `--prefix` and `--limit` keep
a large bucket or table from flooding the laptop. Secret values stay on staging
(SecureString and Secrets Manager values are left out, as in a snapshot without
--include-secrets).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from devstack.config.backing import BackingProblem, resolve_backing
from devstack.data.adapter import DataError, DataOptions, DataTarget
from devstack.data.progress import Meter
from devstack.data.readonly import read_only
from devstack.data.run import Outcome, restore, take_snapshot
from devstack.data.snapshot import SnapshotReader, SnapshotStore
from devstack.model.manifest import Stack
from devstack.providers.aws import AwsTarget

SOURCE_TYPES = ("aws", "external")
# What a pull copies. Not sqs: reading queued messages hides them (ReceiveMessage is no
# read); not secretsmanager: its values stay on staging, which leaves nothing to copy.
PULLED_KINDS = ("s3", "dynamodb", "ssm", "postgres")
LIMITED_KINDS = ("s3", "dynamodb")  # the kinds --prefix and --limit apply to


def source_target(
    stack: Stack, root: Path, environment: str, backing: str, host_env: Mapping[str, str]
) -> DataTarget:
    """BACKING as environment ENV serves it, read-only; DataError if it is not staging."""
    if environment not in stack.environments:
        known = ", ".join(stack.environments) or "none"
        raise DataError(f"--from {environment}: no such environment (declared: {known})")
    model = stack.backing.get(backing)
    if model is None:
        known = ", ".join(stack.backing) or "none"
        raise DataError(f"no backing service named {backing} (declared: {known})")
    if model.kind not in PULLED_KINDS:
        kinds = ", ".join(PULLED_KINDS)
        raise DataError(f"{backing}: pull copies {kinds}, not {model.kind} (docs/backing-data.md)")
    try:
        resolved = resolve_backing(
            stack, root, stack.environments[environment].providers, {}, host_env,
            lambda _key, port: port,  # staging runs nothing here: no port is allocated
        )  # fmt: skip
    except BackingProblem as exc:
        raise DataError(f"--from {environment}: {exc}") from None
    use = resolved.providers.get(resolved.use_key.get(backing, ""))
    if use is None or use.type not in SOURCE_TYPES:
        what = f"{use.name} ({use.type})" if use else "no provider"
        raise DataError(
            f"--from {environment}: {backing} is served by {what} there; pull reads from an "
            f"`aws` or `external` provider (staging)"
        )
    if model.kind == "postgres":
        return _postgres_source(stack, backing, use.name, model)
    ep = use.endpoint
    aws = AwsTarget(ep.host_url, ep.region, ep.access_key_id, ep.secret_access_key, ep.profile)
    return DataTarget(
        backing=backing,
        kind=model.kind,
        provider=use.name,
        provider_type=use.type,
        resources=model.model_dump(mode="json", exclude={"provider"}),
        aws=read_only(aws),
    )


def _postgres_source(stack: Stack, backing: str, provider: str, model: Any) -> DataTarget:
    """An external Postgres, as its URL gives it (credentials and database included), read
    in sessions the server itself keeps read-only (default_transaction_read_only)."""
    declared = stack.providers.get(provider)
    url = str(getattr(declared, "url", "") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise DataError(f"provider {provider}: url is not a postgresql:// URL")
    resources = {
        "database": unquote(parts.path.lstrip("/")) or model.database,
        "user": unquote(parts.username or "") or model.user,
        "password": unquote(parts.password or "") or model.password,
        "read_only": True,
    }
    return DataTarget(
        backing=backing,
        kind="postgres",
        provider=provider,
        provider_type="external",
        resources=resources,
        url=f"postgresql://{parts.hostname}:{parts.port or 5432}",
    )


def pull(
    store: SnapshotStore,
    source: DataTarget,
    destination: DataTarget,
    meter: Meter,
    *,
    prefix: str | None = None,
    limit: int | None = None,
) -> list[Outcome]:
    """Copy `source` (read-only) onto `destination`, adding and updating only."""
    if (prefix is not None or limit is not None) and source.kind not in LIMITED_KINDS:
        raise DataError(
            f"{source.backing}: --prefix and --limit apply to s3 and dynamodb, not {source.kind}"
        )
    if limit is not None and limit < 1:
        raise DataError(f"--limit {limit}: give a number of items, 1 or more")
    if source.provider == destination.provider:
        raise DataError(
            f"{source.backing}: the local provider is {destination.provider} too; "
            "pull copies from staging onto another provider"
        )
    options = DataOptions(prefix=prefix, limit=limit, keep_extra=True)
    name = f"pull-{int(time.time() * 1000)}"
    header: dict[str, Any] = {"pull": True, "from": source.provider}
    path, _ = take_snapshot(
        store, name, {source.backing: source}, options, meter, header, keep=False
    )
    try:
        seed = replace(options, prefix=None, limit=None)
        return restore(SnapshotReader(path), {destination.backing: destination}, seed, meter)
    finally:
        shutil.rmtree(path, ignore_errors=True)
