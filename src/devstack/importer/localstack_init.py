"""LocalStack init scripts -> the AWS resources they create (buckets, queues, topics...).

Compose projects create their resources with `awslocal` lines in a script mounted into
`/etc/localstack/init/ready.d`. devstack declares resources instead and creates them
itself, so we read the scripts: each command we understand becomes a declared resource,
every other command is reported (`not mapped`), never dropped silently.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INIT_DIRS = (
    "/etc/localstack/init/ready.d",
    "/etc/localstack/init/boot.d",
    "/docker-entrypoint-initaws.d",
)
# Harmless shell lines: they create nothing a manifest could declare.
_IGNORED = ("set", "echo", "printf", "true", ":", "exit")


@dataclass
class Resource:
    kind: str  # s3, sqs, sns, ssm, secretsmanager, dynamodb
    name: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class InitScan:
    resources: list[Resource] = field(default_factory=list)
    unmapped: list[tuple[str, int, str]] = field(default_factory=list)  # file, line, text


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with the line it starts on."""
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        if line.rstrip().endswith("\\"):
            buffer += line.rstrip()[:-1] + " "
            continue
        out.append((start, buffer + line))
        buffer = ""
    if buffer:
        out.append((start, buffer))
    return out


def _options(words: list[str]) -> dict[str, list[str]]:
    """`--name x --tags a b` -> {"name": ["x"], "tags": ["a", "b"]}."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for word in words:
        if word.startswith("--"):
            key, sep, value = word[2:].partition("=")
            current = found.setdefault(key, [])
            if sep:
                current.append(value)
        elif current is not None:
            current.append(word)
    return found


def _shorthand(values: list[str]) -> list[dict[str, str]]:
    """AWS CLI shorthand (`AttributeName=id,KeyType=HASH`) or JSON, as a list of dicts."""
    joined = " ".join(values)
    if joined.lstrip().startswith(("[", "{")):
        data = json.loads(joined)
        return data if isinstance(data, list) else [data]
    return [
        dict(pair.split("=", 1) for pair in value.split(",") if "=" in pair) for value in values
    ]


def _command(words: list[str]) -> Resource | None:
    """One `awslocal SERVICE OP ...` (or `aws --endpoint-url ... SERVICE OP`) command."""
    if not words or words[0] not in ("awslocal", "aws"):
        return None
    rest = words[1:]
    positional: list[str] = []
    index = 0
    while index < len(rest) and len(positional) < 2:
        word = rest[index]
        if word.startswith("--"):
            index += 1 if "=" in word else 2  # a global option and its value
            continue
        positional.append(word)
        index += 1
    if len(positional) < 2:
        return None
    service, operation = positional
    tail = rest[index:]
    opts = _options(tail)

    def one(key: str) -> str | None:
        values = opts.get(key)
        return values[0] if values else None

    if service == "s3" and operation == "mb" and tail and tail[0].startswith("s3://"):
        return Resource("s3", tail[0].removeprefix("s3://").rstrip("/"))
    if service == "s3api" and operation == "create-bucket" and one("bucket"):
        return Resource("s3", one("bucket") or "")
    if service == "sqs" and operation == "create-queue" and one("queue-name"):
        name = one("queue-name") or ""
        extra: dict[str, Any] = {"fifo": True} if name.endswith(".fifo") else {}
        for attrs in _shorthand(opts.get("attributes", [])):
            if "VisibilityTimeout" in attrs:
                extra["visibility_timeout"] = int(attrs["VisibilityTimeout"])
        return Resource("sqs", name, extra)
    if service == "sns" and operation == "create-topic" and one("name"):
        return Resource("sns", one("name") or "")
    if (
        service == "ssm"
        and operation == "put-parameter"
        and one("name")
        and one("value") is not None
    ):
        secure = one("type") == "SecureString"
        return Resource("ssm", one("name") or "", {"value": one("value"), "secure": secure})
    if service == "secretsmanager" and operation == "create-secret" and one("name"):
        return Resource("secretsmanager", one("name") or "", {"value": one("secret-string") or ""})
    if service == "dynamodb" and operation == "create-table" and one("table-name"):
        types = {
            d.get("AttributeName"): d.get("AttributeType")
            for d in _shorthand(opts.get("attribute-definitions", []))
        }
        schema = sorted(
            _shorthand(opts.get("key-schema", [])), key=lambda d: d.get("KeyType") != "HASH"
        )
        key = {str(d["AttributeName"]): str(types.get(d["AttributeName"], "S")) for d in schema}
        if not key:
            return None
        return Resource("dynamodb", one("table-name") or "", {"key": key})
    return None


def scan_script(text: str, file: str, scan: InitScan) -> None:
    for line, logical in _logical_lines(text):
        stripped = logical.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            words = shlex.split(stripped, comments=True)
        except ValueError:
            scan.unmapped.append((file, line, stripped))
            continue
        if not words or words[0] in _IGNORED:
            continue
        resource = None
        if not any("$" in word for word in words):  # a shell variable: value unknown here
            try:
                resource = _command(words)
            except (ValueError, KeyError, json.JSONDecodeError):
                resource = None
        if resource is None:
            scan.unmapped.append((file, line, stripped))
        else:
            scan.resources.append(resource)


def scan_path(path: Path, shown: str, scan: InitScan) -> None:
    """A mounted script, or a folder of them (run in name order, like LocalStack)."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        label = f"{shown}/{file.name}" if path.is_dir() else shown
        if file.suffix not in (".sh", ""):
            scan.unmapped.append((label, 1, f"{file.suffix} init scripts are not read"))
            continue
        scan_script(file.read_text(errors="replace"), label, scan)
