"""s3: a bucket, its versioning and CORS rules, objects seeded from files on creation."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from devstack.kinds.run import Run, count, error_code
from devstack.model.backing import S3Backing


def provision(run: Run, b: S3Backing, root: Path, others: Mapping[str, Any]) -> bool:
    resource = f"bucket {b.bucket}"
    # Checked before anything is created: a bucket created without its seed would never be
    # seeded, since seeding happens only on creation.
    files = _seed_files(run, b, root)
    with run.guard(resource):
        s3 = run.target.client("s3")
        created = not _bucket_exists(run, s3, b.bucket) and _create_bucket(run, s3, b.bucket)
        run.say(f"created bucket {b.bucket}" if created else f"bucket {b.bucket} exists")
        if b.versioning:
            status = s3.get_bucket_versioning(Bucket=b.bucket).get("Status")
            if status != "Enabled":
                s3.put_bucket_versioning(
                    Bucket=b.bucket, VersioningConfiguration={"Status": "Enabled"}
                )
                run.say(f"enabled versioning on bucket {b.bucket}")
        # Versioning: false never suspends versioning someone turned on; an empty `cors`
        # never deletes rules: provisioning only adds.
        if b.cors and _current_cors(s3, b.bucket) != _cors(b):
            s3.put_bucket_cors(Bucket=b.bucket, CORSConfiguration={"CORSRules": _cors(b)})
            run.say(f"applied {count(len(b.cors), 'CORS rule')} to bucket {b.bucket}")
    if files and created:
        for key, path in files.items():
            with run.guard(f"object {key} in bucket {b.bucket}"), path.open("rb") as body:
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                s3.put_object(Bucket=b.bucket, Key=key, Body=body, ContentType=kind)
        run.say(f"seeded {count(len(files), 'object')} into bucket {b.bucket}")
    elif files:
        run.say(f"seed of bucket {b.bucket} skipped: applied only when the bucket is created")
    return created


def missing(run: Run, b: S3Backing) -> list[str]:
    resource = f"bucket {b.bucket}"
    with run.guard(resource):
        exists = _bucket_exists(run, run.target.client("s3"), b.bucket)
    return [] if exists else [resource]


def _seed_files(run: Run, b: S3Backing, root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for key, relative in (b.seed.files if b.seed else {}).items():
        path = root / relative
        if not path.is_file():
            raise run.error(f"bucket {b.bucket}", f"seed file {relative} (object {key}) not found")
        files[key] = path
    return files


def _bucket_exists(run: Run, s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        found = error_code(exc)
        if found in ("404", "NoSuchBucket", "NotFound"):
            return False
        if found in ("403", "AccessDenied", "Forbidden"):
            raise run.error(
                f"bucket {bucket}",
                "access denied (on AWS, the name may belong to another account)",
            ) from None
        raise
    return True


def _create_bucket(run: Run, s3: Any, bucket: str) -> bool:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    # us-east-1 is the one region AWS refuses as an explicit LocationConstraint.
    if run.target.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": run.target.region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if error_code(exc) == "BucketAlreadyOwnedByYou":  # a concurrent provisioning was first
            return False
        if error_code(exc) == "BucketAlreadyExists":
            raise run.error(
                f"bucket {bucket}", "the name is taken (bucket names are global on AWS)"
            ) from None
        raise
    return True


def _current_cors(s3: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        rules = s3.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except ClientError as exc:
        if error_code(exc) == "NoSuchCORSConfiguration":
            return []
        raise
    # Compared in the shape _cors() builds: AWS adds IDs, emulators add empty lists.
    return [{k: v for k, v in rule.items() if v not in (None, []) and k != "ID"} for rule in rules]


def _cors(b: S3Backing) -> list[dict[str, Any]]:
    rules = []
    for rule in b.cors:
        entry: dict[str, Any] = {
            "AllowedOrigins": list(rule.allowed_origins),
            "AllowedMethods": list(rule.allowed_methods),
        }
        if rule.allowed_headers:
            entry["AllowedHeaders"] = list(rule.allowed_headers)
        if rule.expose_headers:
            entry["ExposeHeaders"] = list(rule.expose_headers)
        if rule.max_age is not None:
            entry["MaxAgeSeconds"] = rule.max_age
        rules.append(entry)
    return rules
