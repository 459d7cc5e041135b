"""What a carry would copy, counted without reading the data: the preview of
`swap --carry --dry-run`. Cheap calls only (a listing, a count); a kind without a cheap
count shows none."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devstack.data.adapter import DataTarget


def count(target: DataTarget) -> tuple[int | None, int | None]:
    """(items, bytes) on `target`; None where unknown or unreachable."""
    try:
        return _COUNTERS.get(target.kind, _unknown)(target)
    except (BotoCoreError, ClientError):
        return None, None


def _unknown(target: DataTarget) -> tuple[int | None, int | None]:
    return None, None


def _client(target: DataTarget, service: str) -> Any:
    assert target.aws is not None
    return target.aws.client(service)


def _s3(target: DataTarget) -> tuple[int | None, int | None]:
    items = size = 0
    pages = _client(target, "s3").get_paginator("list_objects_v2")
    for page in pages.paginate(Bucket=target.resources["bucket"]):
        for obj in page.get("Contents", []):
            items += 1
            size += int(obj.get("Size", 0))
    return items, size


def _dynamodb(target: DataTarget) -> tuple[int | None, int | None]:
    items = 0
    pages = _client(target, "dynamodb").get_paginator("scan")
    for page in pages.paginate(TableName=target.resources["table"], Select="COUNT"):
        items += int(page.get("Count", 0))
    return items, None


def _redis(target: DataTarget) -> tuple[int | None, int | None]:
    from devstack.data.redis import key_count

    return key_count(target), None


def _postgres(target: DataTarget) -> tuple[int | None, int | None]:
    from devstack.data.postgres import database_size

    return None, database_size(target)  # rows would need a full read: the size on disk


_COUNTERS = {"s3": _s3, "dynamodb": _dynamodb, "redis": _redis, "postgres": _postgres}
