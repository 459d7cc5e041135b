"""s3: every object of the bucket, with its content type and user metadata.

A restore compares by listing (key, size and MD5 ETag) and reads an object's headers only
when its body is unchanged, so a carry to an empty bucket costs one list and one PUT per
object. Bodies are streamed from and to files: memory stays bounded whatever the bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from devstack.data.adapter import DataOptions, DataTarget, RestorePlan
from devstack.data.pool import run_all
from devstack.data.snapshot import BackingReader, BackingWriter, Item

_CHUNK = 1 << 20


def _client(target: DataTarget) -> Any:
    assert target.aws is not None
    return target.aws.client("s3", max_attempts=4)


def _bucket(target: DataTarget) -> str:
    return str(target.resources["bucket"])


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _listing(
    s3: Any, bucket: str, prefix: str | None = None, limit: int | None = None
) -> dict[str, tuple[str, int]] | None:
    """key -> (ETag without quotes, size); None when the bucket does not exist. With a
    limit, listing stops there (keys come in order: the first `limit` keys)."""
    found: dict[str, tuple[str, int]] = {}
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix or "")
        for page in pages:
            for obj in page.get("Contents", []):
                if limit is not None and len(found) >= limit:
                    return found
                found[obj["Key"]] = (str(obj.get("ETag", "")).strip('"'), int(obj["Size"]))
    except ClientError as exc:
        if _code(exc) in ("NoSuchBucket", "404"):
            return None
        raise
    return found


def _meta(content_type: str | None, metadata: dict[str, str] | None) -> dict[str, Any]:
    return {"content_type": content_type or "", "metadata": dict(metadata or {})}


class S3Adapter:
    kind = "s3"

    def snapshot(self, target: DataTarget, out: BackingWriter, options: DataOptions) -> None:
        s3, bucket = _client(target), _bucket(target)
        out.info["bucket"] = bucket
        listing = _listing(s3, bucket, options.prefix, options.limit) or {}

        def copy(key: str) -> None:
            reply = s3.get_object(Bucket=bucket, Key=key)
            md5 = hashlib.md5(usedforsecurity=False)

            def chunks() -> Iterator[bytes]:
                for chunk in reply["Body"].iter_chunks(_CHUNK):
                    md5.update(chunk)
                    yield chunk

            item = out.put_stream(
                key, chunks(), _meta(reply.get("ContentType"), reply.get("Metadata"))
            )
            # Known only once the body has streamed through; the manifest is written after
            # every worker is done, so it has it. Restores compare it with the ETag.
            item.meta["md5"] = md5.hexdigest()
            options.progress.advance(1, item.size)

        run_all(sorted(listing), copy, options.workers)

    def plan(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> RestorePlan:
        s3, bucket = _client(target), _bucket(target)
        current = _listing(s3, bucket)
        plan = RestorePlan(snap.name, self.kind)
        puts: list[Item] = []
        same: list[Item] = []
        wanted = {i.key for i in snap.items}
        for item in snap.items:
            now = (current or {}).get(item.key)
            if now is None:
                plan.add += 1
                puts.append(item)
            elif now != (item.meta.get("md5"), item.size):
                plan.change += 1
                puts.append(item)
            else:
                same.append(item)
        # Same body: the headers may still differ (content type, user metadata).
        changed: list[Item] = []

        def compare(item: Item) -> None:
            head = s3.head_object(Bucket=bucket, Key=item.key)
            wanted_meta = {k: item.meta.get(k) for k in ("content_type", "metadata")}
            if _meta(head.get("ContentType"), head.get("Metadata")) != wanted_meta:
                changed.append(item)

        run_all(same, compare, options.workers)
        plan.change += len(changed)
        extra = [] if options.keep_extra else (current or {})
        deletes = sorted(k for k in extra if k not in wanted)
        plan.delete = len(deletes)
        plan.work = {"create": current is None, "puts": puts + changed, "deletes": deletes}
        return plan

    def apply(
        self, target: DataTarget, snap: BackingReader, plan: RestorePlan, options: DataOptions
    ) -> None:
        s3, bucket = _client(target), _bucket(target)
        work = plan.work
        if work["create"]:
            _create_bucket(s3, bucket, target)

        def put(item: Item) -> None:
            with snap.path(item).open("rb") as body:
                s3.put_object(
                    Bucket=bucket,
                    Key=item.key,
                    Body=body,
                    ContentType=item.meta.get("content_type") or "binary/octet-stream",
                    Metadata=item.meta.get("metadata") or {},
                )
            options.progress.advance(1, item.size)

        run_all(work["puts"], put, options.workers)
        deletes: list[str] = work["deletes"]
        batches = [deletes[i : i + 1000] for i in range(0, len(deletes), 1000)]

        def delete(batch: list[str]) -> None:
            s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            options.progress.advance(len(batch))

        run_all(batches, delete, options.workers)

    def check(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> list[str]:
        current = _listing(_client(target), _bucket(target)) or {}
        problems = []
        for item in snap.items:
            now = current.pop(item.key, None)
            if now is None:
                problems.append(f"object {item.key} is missing")
            elif now != (item.meta.get("md5"), item.size):
                problems.append(f"object {item.key} differs from the snapshot")
        if not options.keep_extra:  # a pull's seed keeps what was there
            problems.extend(f"object {key} is not in the snapshot" for key in sorted(current))
        return problems


def _create_bucket(s3: Any, bucket: str, target: DataTarget) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    region = target.aws.region if target.aws else "us-east-1"
    if region != "us-east-1":  # the one region AWS refuses as a LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if _code(exc) != "BucketAlreadyOwnedByYou":
            raise


ADAPTER = S3Adapter()
