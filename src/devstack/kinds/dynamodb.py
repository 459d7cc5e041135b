"""dynamodb: a table with its key and global indexes, items seeded on creation."""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from devstack.kinds.run import Run, count, error_code
from devstack.model.backing import DynamoDbBacking

# A table is ACTIVE at once on emulators and within seconds on AWS; GSIs can take longer.
TABLE_ACTIVE_TIMEOUT = 120.0


def provision(run: Run, b: DynamoDbBacking, root: Path, others: Mapping[str, Any]) -> bool:
    resource = f"table {b.table}"
    definitions = _attribute_definitions(run, b)
    items = _serialize_items(run, b)  # before creating, for the same reason as seed files
    with run.guard(resource):
        ddb = run.target.client("dynamodb")
        table = _describe_table(ddb, b.table)
        created = table is None
        if table is None:
            request: dict[str, Any] = {
                "TableName": b.table,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": n, "AttributeType": t} for n, t in definitions.items()
                ],
                "KeySchema": _key_schema(b.key),
            }
            if b.indexes:
                request["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": index.name,
                        "KeySchema": _key_schema(index.key),
                        "Projection": {"ProjectionType": index.projection},
                    }
                    for index in b.indexes
                ]
            try:
                ddb.create_table(**request)
            except ClientError as exc:
                if error_code(exc) != "ResourceInUseException":
                    raise
                created = False  # created meanwhile
            run.say(f"created table {b.table}" if created else f"table {b.table} exists")
        else:
            run.say(f"table {b.table} exists")
            # Missing indexes are reported, not added: backfilling a GSI on a table with
            # data is slow on AWS and changes the table under running consumers.
            present = {i.get("IndexName") for i in table.get("GlobalSecondaryIndexes", [])}
            lacking = [index.name for index in b.indexes if index.name not in present]
            if lacking:
                run.say(
                    f"table {b.table} lacks index {', '.join(lacking)}: not added to an existing "
                    "table (delete the table to recreate it)"
                )
        _wait_active(run, ddb, b.table)
    if items and created:
        for number, item in enumerate(items, start=1):
            with run.guard(f"seed item {number} of table {b.table}"):
                ddb.put_item(TableName=b.table, Item=item)
        run.say(f"seeded {count(len(items), 'item')} into table {b.table}")
    elif items:
        run.say(f"seed of table {b.table} skipped: applied only when the table is created")
    return created


def missing(run: Run, b: DynamoDbBacking) -> list[str]:
    resource = f"table {b.table}"
    with run.guard(resource):
        found = _describe_table(run.target.client("dynamodb"), b.table)
    return [] if found else [resource]


def _key_schema(key: Mapping[str, str]) -> list[dict[str, str]]:
    # The manifest's order is the key's order: partition key first, then sort key.
    return [
        {"AttributeName": name, "KeyType": key_type}
        for name, key_type in zip(key, ("HASH", "RANGE"), strict=False)
    ]


def _attribute_definitions(run: Run, b: DynamoDbBacking) -> dict[str, str]:
    definitions: dict[str, str] = {}
    for key in [b.key, *(index.key for index in b.indexes)]:
        for name, kind in key.items():
            if definitions.setdefault(name, kind) != kind:
                raise run.error(
                    f"table {b.table}",
                    f"attribute {name} is declared as both {definitions[name]} and {kind}",
                )
    return definitions


def _serialize_items(run: Run, b: DynamoDbBacking) -> list[dict[str, Any]]:
    serializer = TypeSerializer()
    items = []
    for number, item in enumerate(b.seed.items if b.seed else [], start=1):
        lacking = [name for name in b.key if name not in item]
        if lacking:
            raise run.error(
                f"seed item {number} of table {b.table}", f"no value for key {', '.join(lacking)}"
            )
        try:
            items.append({k: serializer.serialize(_dynamo_value(v)) for k, v in item.items()})
        except (TypeError, ValueError) as exc:
            raise run.error(f"seed item {number} of table {b.table}", str(exc)) from None
    return items


def _dynamo_value(value: Any) -> Any:
    # DynamoDB numbers are decimals; boto3 refuses floats so no precision is lost silently.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_value(v) for v in value]
    return value


def _describe_table(ddb: Any, table: str) -> dict[str, Any] | None:
    try:
        return dict(ddb.describe_table(TableName=table)["Table"])
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _wait_active(run: Run, ddb: Any, table: str) -> None:
    deadline = time.monotonic() + TABLE_ACTIVE_TIMEOUT
    interval = 0.05
    while True:
        found = _describe_table(ddb, table)
        if found is None or found.get("TableStatus") == "DELETING":
            raise run.error(f"table {table}", "being deleted meanwhile; provision again later")
        status = found.get("TableStatus")
        indexes = found.get("GlobalSecondaryIndexes", [])
        if status in ("ACTIVE", "UPDATING") and all(
            i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes
        ):
            return
        if time.monotonic() >= deadline:
            raise run.error(
                f"table {table}", f"not ACTIVE after {TABLE_ACTIVE_TIMEOUT:g}s (status {status})"
            )
        time.sleep(interval)
        interval = min(interval * 2, 1.0)
