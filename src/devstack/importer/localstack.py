"""A LocalStack service -> a `localstack` provider and the backing services it holds.

What it holds shows in its init scripts (`awslocal s3 mb ...`, see localstack_init.py)
and in the queue URLs its consumers are given. Without either, there is nothing to
declare, and the caller keeps LocalStack as an ordinary container service.

The functions take the BackingBuilder as `self`: they are its LocalStack half, kept in a
module of their own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from devstack.importer import fields
from devstack.importer.backing import QUEUE_PATH, Absorbed, BackingBuilder
from devstack.importer.localstack_init import INIT_DIRS, InitScan, Resource, scan_path
from devstack.importer.source import DataPath
from devstack.model.backing import DEFAULT_REGION, check_bucket_name

_SOCKET = "devstack's LocalStack runs without the Docker socket, so without Lambda containers"


def absorb_localstack(
    self: BackingBuilder,
    compose_name: str,
    provider: str,
    body: dict[str, Any],
    queue_urls: list[str],
) -> bool:
    """Provider + backing services; False when nothing shows which resources it holds."""
    path: DataPath = ("services", compose_name)
    target: DataPath = ("providers", provider)
    scan = InitScan()
    deferred: list[tuple[DataPath, str, str]] = []
    for index, item in enumerate(body.get("volumes") or []):
        item_path = (*path, "volumes", index)
        text = (
            str(item.get("source", "")) + ":" + str(item.get("target", ""))
            if isinstance(item, dict)
            else str(item)
        )
        source, _, rest = text.partition(":")
        dest = rest.split(":")[0]
        host = (self.src.root / source).resolve()
        if dest.startswith(INIT_DIRS) and host.exists():
            before = len(scan.unmapped)
            scan_path(host, source.removeprefix("./"), scan)
            for file, line, command in scan.unmapped[before:]:
                deferred.append((item_path, "changes", f"not run: {file}:{line}: {command}"))
        elif dest == "/var/run/docker.sock":
            deferred.append(
                (
                    item_path,
                    "changes",
                    "devstack's LocalStack runs without the Docker socket, so without Lambda containers",
                )
            )
        elif dest.startswith("/var/lib/localstack"):
            deferred.append((item_path, "no effect", f"data in the volume <stack>_{provider}-data"))
        else:
            deferred.append(
                (item_path, "changes", "dropped: devstack's LocalStack mounts nothing else")
            )
    for url in queue_urls:
        scan.resources.append(Resource("sqs", url))
    resources = _dedupe(scan.resources)
    if not resources:
        return False
    self.taken.add(provider)
    settings: dict[str, Any] = {"type": "localstack"}
    if "image" in body:
        settings["image"] = self.src.as_written((*path, "image"), body["image"])
    env_path = (*path, "environment")
    env = fields.environment(self.src, body.get("environment") or {}, env_path, self.notes)
    for key in list(env):
        if key == "SERVICES":
            self.notes.no_effect(
                (*env_path, key),
                "devstack starts the services its backing services need",
                target,
            )
        elif key in ("DEFAULT_REGION", "AWS_DEFAULT_REGION"):
            self.region = self.value(env[key], (*env_path, key), DEFAULT_REGION, target)
        elif key == "PERSISTENCE":
            settings["persistence"] = env[key] in ("1", "true")
        elif key == "LOCALSTACK_AUTH_TOKEN":
            self.notes.no_effect((*env_path, key), "passed through from the shell when set", target)
        else:
            settings.setdefault("env", {})[key] = env[key]
            continue
        del env[key]
    if self.region != DEFAULT_REGION:
        settings["region"] = self.region
    self.providers[provider] = settings
    for item_path, kind, reason in deferred:
        (self.notes.changes if kind == "changes" else self.notes.no_effect)(
            item_path, reason, target
        )
    for key, value in body.items():
        if key not in ("image", "environment", "volumes") and not key.startswith("x-"):
            self.server_key(key, value, (*path, key), target)
    names = declare(self, resources, provider)
    self.absorbed[compose_name] = Absorbed(compose_name, "localstack", names, provider)
    return True


def declare(self: BackingBuilder, resources: list[Resource], provider: str) -> list[str]:
    """One backing service per bucket, queue, topic, table; one for the parameters, one
    for the secrets."""
    names = []
    params = [r for r in resources if r.kind == "ssm"]
    secrets = [r for r in resources if r.kind == "secretsmanager"]
    for res in resources:
        entry: dict[str, Any]
        if res.kind == "s3":
            try:
                check_bucket_name(res.name)
            except ValueError as exc:
                self.notes.changes(("services",), f"dropped: bucket {res.name!r}: {exc}")
                continue
            entry = {"kind": "s3", "bucket": res.name}
        elif res.kind == "sqs":
            entry = {"kind": "sqs", "queue": res.name, **res.fields}
        elif res.kind == "sns":
            entry = {"kind": "sns", "topic": res.name}
        elif res.kind == "dynamodb":
            entry = {"kind": "dynamodb", "table": res.name, **res.fields}
        else:
            continue
        entry["provider"] = provider
        name = self.unique(res.name.removesuffix(".fifo"), res.kind)
        self.backing[name] = entry
        names.append(name)
    if params:
        prefix = _common_prefix([p.name for p in params])
        parameters: dict[str, Any] = {}
        for p in params:
            relative = p.name.removeprefix(prefix) if prefix != "/" else p.name
            value = p.fields["value"]
            parameters[relative] = {"value": value, "secure": True} if p.fields["secure"] else value
        name = self.unique("parameters", "ssm")
        self.backing[name] = {
            "kind": "ssm",
            "path": prefix,
            "parameters": parameters,
            "provider": provider,
        }
        names.append(name)
    if secrets:
        name = self.unique("secrets", "secretsmanager")
        self.backing[name] = {
            "kind": "secretsmanager",
            "secrets": {s.name: s.fields["value"] for s in secrets},
            "provider": provider,
        }
        names.append(name)
    return names


def queue_url_names(value: str, host: str) -> str | None:
    """`http://localstack:4566/000000000000/jobs` -> `jobs` (when host is LocalStack's)."""
    if "://" not in value:
        return None
    parts = urlsplit(value)
    match = QUEUE_PATH.match(parts.path or "")
    return match.group(1) if parts.hostname == host and match else None


def _dedupe(resources: list[Resource]) -> list[Resource]:
    seen: set[tuple[str, str]] = set()
    out = []
    for res in resources:
        if (res.kind, res.name) not in seen:
            seen.add((res.kind, res.name))
            out.append(res)
    return out


def _common_prefix(names: list[str]) -> str:
    if not all(n.startswith("/") for n in names):
        return "/"
    dirs = [n.rsplit("/", 1)[0].split("/") for n in names]
    common: list[str] = []
    for parts in zip(*dirs, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    prefix = "/".join(common) + "/"
    return prefix if prefix.startswith("/") else "/" + prefix
