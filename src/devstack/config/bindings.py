"""Binding variables: what each `uses:` injects into a consumer (`AWS_ENDPOINT_URL_S3`,
`UPLOADS_BUCKET`, `DATABASE_URL`...) and what `${backing.NAME.FIELD}` templates read,
computed for where the consumer runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from devstack.api.kinds import AWS_KINDS, LOCALSTACK_COMPATIBLE
from devstack.config.endpoints import LOCAL_HOST, Endpoint, ProviderUse
from devstack.config.lsclient import AwsBinding, host_port
from devstack.config.servers import server_url
from devstack.model.backing import (
    DynamoDbBacking,
    ExternalProvider,
    PostgresBacking,
    RedisBacking,
    S3Backing,
    SecretsManagerBacking,
    SnsBacking,
    SqsBacking,
    SsmBacking,
    UrlBacking,
)
from devstack.model.desired import EnvVar, Source
from devstack.model.manifest import Stack

# The AWS SDKs' service-specific endpoint variables (AWS_ENDPOINT_URL_<ID>).
SDK_ENDPOINT = {
    "s3": "S3",
    "sqs": "SQS",
    "dynamodb": "DYNAMODB",
    "ssm": "SSM",
    "secretsmanager": "SECRETS_MANAGER",
    "sns": "SNS",
}


def env_prefix(backing: str) -> str:
    return backing.upper().replace("-", "_")


class BackingBindings:
    """The variables each binding injects, and `${backing.NAME.FIELD}` templates."""

    def __init__(
        self,
        stack: Stack,
        provider_of: Mapping[str, str],
        use_key: Mapping[str, str],
        uses: Mapping[str, ProviderUse],
    ) -> None:
        self.stack = stack
        self.provider_of = provider_of
        self.use_key = use_key
        self.uses = uses

    def fields(self, backing: str, consumer: str) -> dict[str, str]:
        """Every template field of one backing service, as `consumer` must see it."""
        model = self.stack.backing[backing]
        use = self.uses.get(self.use_key.get(backing, ""))
        ep = use.endpoint if use else None
        url = ep.url(consumer) if ep else None
        out: dict[str, str] = {}
        if ep is not None:
            out["region"] = ep.region
            out["provider"] = use.name if use else ""
            if url:
                out["endpoint"] = url
        per_kind = _FIELDS.get(model.kind)
        if per_kind is not None:
            out.update(per_kind(model, ep, url))
        if isinstance(model, PostgresBacking | RedisBacking):
            declared = self.stack.providers.get(self.provider_of.get(backing, ""))
            if isinstance(declared, ExternalProvider):
                out["url"] = declared.url  # the server's URL, as given
            elif url:
                parts = urlsplit(url)
                host, port = parts.hostname or LOCAL_HOST, parts.port or 0
                out.update(host=host, port=str(port), url=server_url(model, host, port))
            if isinstance(model, PostgresBacking):
                out.update(database=model.database, user=model.user, password=model.password)
        return out

    def lookup(self, ref: str, consumer: str) -> str | None:
        parts = ref.split(".")
        if len(parts) != 3 or parts[1] not in self.stack.backing:
            return None
        return self.fields(parts[1], consumer).get(parts[2])

    def aws_bindings(self, service: str, consumer: str) -> list[AwsBinding]:
        """The service's AWS backing services, each with its provider and URL as seen."""
        found = []
        for backing in self.stack.services[service].uses:
            use = self.uses.get(self.use_key.get(backing, ""))
            if self.stack.backing[backing].kind in AWS_KINDS and use is not None:
                found.append(AwsBinding(backing, use.name, use.endpoint.url(consumer)))
        return found

    def env(self, service: str, consumer: str) -> list[EnvVar]:
        uses = self.stack.services[service].uses
        found: dict[str, EnvVar] = {}

        def put(name: str, value: str, backing: str, secret: bool = False) -> None:
            source = Source("binding", detail=f"uses {backing} ({self.provider_of.get(backing)})")
            found[name] = EnvVar(name, value, source, secret)

        aws_urls: set[str | None] = set()
        edge: tuple[str, str] | None = None  # (url, backing) for LOCALSTACK_HOST
        for backing in uses:
            model = self.stack.backing[backing]
            use = self.uses.get(self.use_key.get(backing, ""))
            fields = self.fields(backing, consumer)
            prefix = env_prefix(backing)
            if model.kind in AWS_KINDS and use is not None:
                ep = use.endpoint
                url = ep.url(consumer)
                aws_urls.add(url)
                if url:
                    put(f"AWS_ENDPOINT_URL_{SDK_ENDPOINT[model.kind]}", url, backing)
                if url and edge is None and use.type in LOCALSTACK_COMPATIBLE:
                    edge = (url, backing)
                put("AWS_REGION", ep.region, backing)
                put("AWS_DEFAULT_REGION", ep.region, backing)
                if ep.access_key_id:
                    put("AWS_ACCESS_KEY_ID", ep.access_key_id, backing)
                if ep.secret_access_key:
                    put("AWS_SECRET_ACCESS_KEY", ep.secret_access_key, backing, secret=True)
                if ep.profile:
                    put("AWS_PROFILE", ep.profile, backing)
            names = {
                "bucket": "BUCKET",
                "queue_url": "QUEUE_URL",
                "dlq_url": "DLQ_URL",
                "table": "TABLE",
                "path": "PATH",
                "secret_id": "SECRET_ID",
                "topic_arn": "TOPIC_ARN",
                "url": "URL",
            }
            if model.kind in ("postgres", "redis"):
                if "url" in fields:
                    # Conventional names first; NAME_URL too, for a service with two of them.
                    secret = model.kind == "postgres"
                    common = "DATABASE_URL" if model.kind == "postgres" else "REDIS_URL"
                    put(common, fields["url"], backing, secret=secret)
                    put(f"{prefix}_URL", fields["url"], backing, secret=secret)
                continue
            for field_name, suffix in names.items():
                if field_name in fields:
                    put(f"{prefix}_{suffix}", fields[field_name], backing)
        if edge is not None:
            # For code written with `import localstack_client.session as boto3`: it reads
            # AWS_ENDPOINT_URL first (set below when there is one endpoint), else this one.
            # With bindings on several LocalStack-compatible providers, the first one used.
            put("LOCALSTACK_HOST", host_port(edge[0]), edge[1])
        if len(aws_urls) == 1:
            (only,) = aws_urls
            if only:
                # One endpoint serves every AWS binding: SDKs without per-service variables
                # (and older tools) need only this one.
                first = next(b for b in uses if self.stack.backing[b].kind in AWS_KINDS)
                put("AWS_ENDPOINT_URL", only, first)
        return list(found.values())


# --- the template fields of each kind that needs no server: one small function a kind ---


def _s3(b: S3Backing, ep: Endpoint | None, url: str | None) -> dict[str, str]:
    return {"bucket": b.bucket, "arn": f"arn:aws:s3:::{b.bucket}"}


def _sqs(b: SqsBacking, ep: Endpoint | None, url: str | None) -> dict[str, str]:
    out = {"queue": b.queue}
    if ep is not None and ep.account:  # queue URLs and ARNs need the account id
        base = url or f"https://sqs.{ep.region}.amazonaws.com"
        out["queue_url"] = f"{base}/{ep.account}/{b.queue}"
        out["arn"] = f"arn:aws:sqs:{ep.region}:{ep.account}:{b.queue}"
        if b.dead_letter_queue:
            out["dlq_url"] = f"{base}/{ep.account}/{b.dead_letter_queue}"
    return out


def _dynamodb(b: DynamoDbBacking, ep: Endpoint | None, url: str | None) -> dict[str, str]:
    return {"table": b.table}


def _ssm(b: SsmBacking, ep: Endpoint | None, url: str | None) -> dict[str, str]:
    return {"path": b.path}


def _secretsmanager(
    b: SecretsManagerBacking, ep: Endpoint | None, url: str | None
) -> dict[str, str]:
    return {"secret_id": next(iter(b.secrets)), "secret_ids": ",".join(b.secrets)}


def _sns(b: SnsBacking, ep: Endpoint | None, url: str | None) -> dict[str, str]:
    out = {"topic": b.topic}
    if ep is not None and ep.account:
        out["topic_arn"] = f"arn:aws:sns:{ep.region}:{ep.account}:{b.topic}"
    return out


def _url(b: UrlBacking, ep: Endpoint | None, url: str | None) -> dict[str, str]:
    return {"url": b.url}


# postgres and redis are not here: their fields depend on the declared provider too.
_FIELDS: Mapping[str, Callable[[Any, Endpoint | None, str | None], dict[str, str]]] = {
    "s3": _s3,
    "sqs": _sqs,
    "dynamodb": _dynamodb,
    "ssm": _ssm,
    "secretsmanager": _secretsmanager,
    "sns": _sns,
    "url": _url,
}
