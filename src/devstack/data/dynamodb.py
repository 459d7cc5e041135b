"""dynamodb: every item of the table, and the key schema a restore recreates it from.

Items are kept in DynamoDB's typed JSON (`{"S": "x"}`), binary values base64-encoded, so
a number keeps its exact digits and a set stays a set. An item's key in the manifest is
its key attributes as canonical JSON; a restore puts what is missing or different and
deletes what the snapshot lacks, in batches of 25 on a pool of workers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from botocore.exceptions import ClientError

from devstack.data.adapter import DataError, DataOptions, DataTarget, RestorePlan
from devstack.data.pool import read_ahead, run_all
from devstack.data.snapshot import BackingReader, BackingWriter, canonical

_BATCH = 25  # BatchWriteItem's limit
_ACTIVE_TIMEOUT = 60.0


def _client(target: DataTarget) -> Any:
    assert target.aws is not None
    # Every request is built from what a table returned (items, keys, its schema):
    # botocore's own validation of each batch would cost more CPU than serialising it.
    return target.aws.client("dynamodb", max_attempts=4, validate=False)


def _table(target: DataTarget) -> str:
    return str(target.resources["table"])


def to_json(item: dict[str, Any]) -> dict[str, Any]:
    """An item as boto3 reads it -> JSON (bytes as base64), normalised so that the same
    item reads the same from every provider: numbers without trailing zeros (`12.3450` and
    `12.345` are one number to DynamoDB), sets sorted (they have no order).

    Items and attribute values are told apart by position, not by shape: an item whose
    only attribute is named `N` or `SS` is an item, not a number or a set."""
    return {name: _value(value) for name, value in item.items()}


def _value(value: dict[str, Any]) -> dict[str, Any]:
    ((tag, inner),) = value.items()
    if tag in {"S", "BOOL", "NULL"}:
        return value  # the common case first: nothing to change, nothing copied
    if tag == "N":
        return {"N": _number(inner)}
    if tag == "M":
        return {"M": to_json(inner)}
    if tag == "L":
        return {"L": [_value(v) for v in inner]}
    if tag == "B":
        return {"B": base64.b64encode(bytes(inner)).decode()}
    if tag == "SS":
        return {"SS": sorted(inner)}
    if tag == "NS":
        return {"NS": sorted((_number(n) for n in inner), key=Decimal)}
    if tag == "BS":
        return {"BS": sorted(base64.b64encode(bytes(b)).decode() for b in inner)}
    return value  # a type DynamoDB may add one day: kept as read


def _number(text: str) -> str:
    try:
        return format(Decimal(text).normalize(), "f")
    except InvalidOperation:
        return text


def from_json(item: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `to_json`: B and BS values back to bytes."""
    return {name: _raw(value) for name, value in item.items()}


def _raw(value: dict[str, Any]) -> dict[str, Any]:
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": base64.b64decode(inner)}
    if tag == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if tag == "M":
        return {"M": from_json(inner)}
    if tag == "L":
        return {"L": [_raw(v) for v in inner]}
    return value


def _key_names(schema: list[dict[str, str]]) -> list[str]:
    return [k["AttributeName"] for k in schema]


def _key_of(item: dict[str, Any], names: list[str]) -> str:
    return canonical({n: item[n] for n in names}).decode()


def _describe(db: Any, table: str) -> dict[str, Any] | None:
    try:
        return dict(db.describe_table(TableName=table)["Table"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def _scan(
    db: Any,
    table: str,
    prefix: str | None = None,
    key: str = "",
    limit: int | None = None,
    page_size: int | None = None,
    ahead: int = 0,
) -> Iterator[dict[str, Any]]:
    """Every item; with a prefix, those whose partition key `key` begins with it; with a
    limit, the first `limit` found (the scan stops there); `page_size`: at most that many
    items a request (1 to learn cheaply whether a table holds any); `ahead`: pages read
    by a thread of their own that many ahead of the caller (at most that many more are
    read than a limit needs)."""
    args: dict[str, Any] = {"TableName": table}
    if page_size is not None:
        args["Limit"] = page_size
    if prefix:
        args.update(
            FilterExpression="begins_with(#k, :p)",
            ExpressionAttributeNames={"#k": key},
            ExpressionAttributeValues={":p": {"S": prefix}},
        )
    pages: Iterator[Any] = iter(db.get_paginator("scan").paginate(**args))
    if ahead:
        pages = read_ahead(pages, ahead)
    seen = 0
    for page in pages:
        for item in page.get("Items", []):
            if limit is not None and seen >= limit:
                return
            seen += 1
            yield item


class DynamoDbAdapter:
    kind = "dynamodb"

    def snapshot(self, target: DataTarget, out: BackingWriter, options: DataOptions) -> None:
        db, table = _client(target), _table(target)
        names = _key_names(_take_info(target, db, table, out)["key_schema"])
        for raw in _scan(db, table, options.prefix, names[0], options.limit):
            item = to_json(raw)
            stored = out.put_record(_key_of(item, names), item)
            options.progress.advance(1, stored.size)

    def plan(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> RestorePlan:
        db, table = _client(target), _table(target)
        names = _key_names(snap.info["key_schema"])
        described = _describe(db, table)
        current: dict[str, str] = {}
        if described is not None:
            _same_key(snap.name, target, table, described, names)
            for raw in _scan(db, table):
                value = to_json(raw)
                current[_key_of(value, names)] = hashlib.sha256(canonical(value)).hexdigest()
        plan = RestorePlan(snap.name, self.kind)
        puts: set[str] = set()
        for item in snap.items:
            now = current.pop(item.key, None)
            if now is None:
                plan.add += 1
                puts.add(item.key)
            elif now != item.sha256:
                plan.change += 1
                puts.add(item.key)
        if options.keep_extra:
            current.clear()
        plan.delete = len(current)
        plan.work = {"create": described is None, "puts": puts, "deletes": sorted(current)}
        return plan

    def apply(
        self, target: DataTarget, snap: BackingReader, plan: RestorePlan, options: DataOptions
    ) -> None:
        db, table = _client(target), _table(target)
        if plan.work["create"]:
            _create_table(db, table, snap.info)
        puts: set[str] = plan.work["puts"]
        names = _key_names(snap.info["key_schema"])

        def requests() -> Iterator[dict[str, Any]]:
            for item, value in snap.records():
                if item.key in puts:
                    yield {"PutRequest": {"Item": from_json(value)}}
            for key in plan.work["deletes"]:
                raw_key = from_json(json.loads(key))
                yield {"DeleteRequest": {"Key": {n: raw_key[n] for n in names}}}

        # Batches made as the workers take them: the table is never all in memory.
        pending = requests()
        batches = ((b, 0) for b in iter(lambda: list(islice(pending, _BATCH)), []))
        _write(db, table, batches, snap.name, options)

    def carry_plan(
        self, source: DataTarget, target: DataTarget, options: DataOptions
    ) -> RestorePlan | None:
        """A carry whose destination table is missing or empty has nothing to compare:
        its restore would only add. Then the items can be written as the source is read
        (`carry_direct`), instead of after the whole snapshot. None when the table holds
        items: the ordinary way (snapshot, plan by digest, restore). Read-only."""
        src, dst, table = _client(source), _client(target), _table(target)
        described = _describe(dst, table)
        if described is not None:
            if next(_scan(dst, table, limit=1, page_size=1), None) is not None:
                return None
            read = _describe(src, _table(source))
            if read is not None:  # a missing source table: the snapshot says so, below
                _same_key(source.backing, target, table, described, _key_names(read["KeySchema"]))
        plan = RestorePlan(source.backing, self.kind)
        plan.work = {"create": described is None}
        return plan

    def carry_direct(
        self,
        source: DataTarget,
        target: DataTarget,
        out: BackingWriter,
        plan: RestorePlan,
        options: DataOptions,
    ) -> None:
        """Snapshot `source` into `out` and put each item to `target` as it is read:
        the scan and the writes overlap. Each item is put as read (the snapshot holds it
        normalised: the same item to DynamoDB). `plan.add` ends as the items written."""
        src, table = _client(source), _table(source)
        dst, dest_table = _client(target), _table(target)
        names = _key_names(_take_info(source, src, table, out)["key_schema"])
        if plan.work["create"]:
            _create_table(dst, dest_table, out.info)

        def batches() -> Iterator[tuple[list[dict[str, Any]], int]]:
            batch: list[dict[str, Any]] = []
            size = 0
            # The next page is read while this one's items are written: the workers'
            # bounded queue (2 batches each) would otherwise run dry at each page.
            for raw in _scan(src, table, options.prefix, names[0], options.limit, ahead=1):
                item = to_json(raw)
                size += out.put_record(_key_of(item, names), item).size
                batch.append({"PutRequest": {"Item": raw}})
                plan.add += 1
                if len(batch) == _BATCH:
                    yield batch, size
                    batch, size = [], 0
            if batch:
                yield batch, size

        _write(dst, dest_table, batches(), source.backing, options)

    def check(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> list[str]:
        """Every write was acknowledged (no unprocessed item left), so what is left to
        check is that nothing else is there: the table's count, read by a COUNT scan (a
        full comparison would read the whole table again, doubling a carry's time)."""
        db, table = _client(target), _table(target)
        pages = db.get_paginator("scan").paginate(TableName=table, Select="COUNT")
        found = sum(int(page.get("Count", 0)) for page in pages)
        if found == len(snap.items) or (options.keep_extra and found >= len(snap.items)):
            return []  # a pull's seed keeps what the table held besides
        return [f"table {table}: {found} items, the snapshot has {len(snap.items)}"]


def _take_info(target: DataTarget, db: Any, table: str, out: BackingWriter) -> dict[str, Any]:
    """The table's shape, into the snapshot: what a restore creates it from."""
    described = _describe(db, table)
    if described is None:
        raise DataError(f"{target.backing}: table {table} does not exist on {target.provider}")
    out.info.update(
        table=table,
        key_schema=described["KeySchema"],
        attribute_definitions=described.get("AttributeDefinitions", []),
        indexes=[
            {k: i[k] for k in ("IndexName", "KeySchema", "Projection") if k in i}
            for i in described.get("GlobalSecondaryIndexes", [])
        ],
    )
    return out.info


def _same_key(
    name: str, target: DataTarget, table: str, described: dict[str, Any], names: list[str]
) -> None:
    if _key_names(described["KeySchema"]) != names:
        raise DataError(
            f"{name}: table {table} on {target.provider} has key "
            f"{_key_names(described['KeySchema'])}, the snapshot's has {names}"
        )


def _write(
    db: Any,
    table: str,
    batches: Iterator[tuple[list[dict[str, Any]], int]],
    name: str,
    options: DataOptions,
) -> None:
    """Each batch (its requests, and their bytes for the progress) written by a pool of
    workers, retried until DynamoDB has processed every request."""

    def write(work: tuple[list[dict[str, Any]], int]) -> None:
        batch, size = work
        pending = {table: batch}
        for attempt in range(8):
            reply = db.batch_write_item(RequestItems=pending)
            pending = reply.get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(0.05 * 2**attempt)  # throttled: back off, as the SDKs advise
        else:
            raise DataError(f"{name}: table {table} kept refusing writes")
        options.progress.advance(len(batch), size)

    run_all(batches, write, options.workers)


def _create_table(db: Any, table: str, info: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeySchema": info["key_schema"],
        "AttributeDefinitions": info["attribute_definitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if info.get("indexes"):
        kwargs["GlobalSecondaryIndexes"] = info["indexes"]
    try:
        db.create_table(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    deadline = time.monotonic() + _ACTIVE_TIMEOUT
    while time.monotonic() < deadline:
        status = (_describe(db, table) or {}).get("TableStatus")
        if status == "ACTIVE":
            return
        time.sleep(0.02)  # emulators answer ACTIVE at once or nearly
    raise DataError(f"table {table} was not ACTIVE within {_ACTIVE_TIMEOUT:g}s")


ADAPTER = DynamoDbAdapter()
