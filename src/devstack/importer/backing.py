"""Compose services that are backing services: Postgres, Redis and LocalStack.

They become `backing:` entries (and `providers:` where the image or settings differ from
devstack's defaults). Their consumers get `uses:` bindings in place of the variables that
pointed at them (`DATABASE_URL`, `REDIS_URL`, `AWS_ENDPOINT_URL`...): the binding injects
those, right for wherever the consumer runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devstack.config.bindings import env_prefix
from devstack.config.interpolate import InterpolationError, interpolate
from devstack.config.servers import DEFAULT_IMAGES
from devstack.importer import fields
from devstack.importer.notes import Notes
from devstack.importer.source import ComposeSource, DataPath, ImportProblem
from devstack.model.backing import DEFAULT_REGION

_PG_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_BARE_HOST = re.compile(r"^([A-Za-z0-9_.-]+)(?::\d+)?$")
QUEUE_PATH = re.compile(r"^/\d{12}/([^/]+)$")  # an SQS queue URL's path: /ACCOUNT/NAME
_NAME_CHARS = re.compile(r"[^a-z0-9_-]+")
# Keys every backing-service entry handles itself; the rest is reported per kind.
SERVER_REASONS = {
    "ports": "devstack publishes it on a free 127.0.0.1 port; consumers get its URL",
    "healthcheck": "devstack checks it itself",
    "restart": "devstack restarts it on failure",
    "depends_on": "a backing service starts first",
    "command": "devstack runs it with its own settings",
}


def detect(image: Any) -> str | None:
    """The backing kind an image provides: postgres, redis or localstack."""
    if not isinstance(image, str):
        return None
    base = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    if base in ("postgres", "postgis") or (base.startswith("postgres") and "/" not in image):
        return "postgres"
    if base == "redis":
        return "redis"
    if base.startswith("localstack"):
        return "localstack"
    return None


def safe_name(text: str) -> str:
    name = _NAME_CHARS.sub("-", text.lower()).strip("-_")
    return name if name and name[0].isalnum() else f"b-{name}".rstrip("-")


@dataclass
class Absorbed:
    """A compose service turned into backing services."""

    compose_name: str
    kind: str  # postgres, redis, localstack
    backings: list[str]  # devstack backing names
    provider: str | None = None


@dataclass
class BackingBuilder:
    src: ComposeSource
    notes: Notes
    out_dir: Path
    taken: set[str]  # names of services, backing services and providers already used
    backing: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    absorbed: dict[str, Absorbed] = field(default_factory=dict)
    region: str = DEFAULT_REGION

    def unique(self, wanted: str, suffix: str) -> str:
        name = safe_name(wanted)
        if name in self.taken:
            name = f"{name}-{suffix}"
        base, n = name, 2
        while name in self.taken:
            name, n = f"{base}-{n}", n + 1
        self.taken.add(name)
        return name

    # -- Postgres and Redis ----------------------------------------------------------------

    def server(self, compose_name: str, name: str, kind: str, body: dict[str, Any]) -> None:
        path: DataPath = ("services", compose_name)
        target: DataPath = ("backing", name)
        env_path = (*path, "environment")
        env = fields.environment(self.src, body.get("environment") or {}, env_path, self.notes)
        entry: dict[str, Any] = {"kind": kind}
        if kind == "postgres":
            user = self.value(
                env.pop("POSTGRES_USER", "postgres"),
                (*env_path, "POSTGRES_USER"),
                "postgres",
                target,
            )
            password = self.password(
                env.pop("POSTGRES_PASSWORD", "devstack"), (*env_path, "POSTGRES_PASSWORD"), target
            )
            database = self.value(
                env.pop("POSTGRES_DB", user), (*env_path, "POSTGRES_DB"), user, target
            )
            for field_name, written, default in (
                ("database", database, "app"),
                ("user", user, "app"),
            ):
                ok = bool(_PG_NAME.match(written))
                if not ok:
                    self.notes.approximated(
                        env_path,
                        f"{field_name} {written!r} is not a name devstack accepts: {default}",
                        target,
                    )
                entry[field_name] = written if ok else default
            entry["password"] = password
        image = self.src.as_written((*path, "image"), body.get("image"))
        settings: dict[str, Any] = {"type": "container"}
        if image != DEFAULT_IMAGES[kind]:
            settings["image"] = image
        if env:
            settings["env"] = env
        if len(settings) > 1:
            provider = kind if self.providers.get(kind, settings) == settings else f"{kind}-{name}"
            self.providers[provider] = settings
            self.taken.add(provider)
            entry["provider"] = provider
        for key, value in body.items():
            key_path = (*path, key)
            if key in ("image", "environment") or key.startswith("x-"):
                continue
            if key == "volumes":
                for index, item in enumerate(value or []):
                    self.server_volume(kind, name, entry, item, (*key_path, index), target)
            elif key == "command" and kind == "redis" and "requirepass" in str(value):
                self.notes.unmapped(key_path, "devstack's redis has no password", target)
            else:
                reason = SERVER_REASONS.get(key, "devstack has no equivalent for a backing service")
                self.notes.unmapped(key_path, reason, target)
        self.backing[name] = entry
        self.absorbed[compose_name] = Absorbed(compose_name, kind, [name], entry.get("provider"))

    def value(self, text: str, path: DataPath, default: str, target: DataPath) -> str:
        """A backing-service field: devstack does not interpolate these, so evaluate now."""
        try:
            return fields.fixed(self.src, text, path, self.notes, target)
        except ImportProblem as exc:
            self.notes.approximated(path, f"{exc}; using {default!r}", target)
            return default

    def password(self, text: str, path: DataPath, target: DataPath) -> str:
        """The password as written, or the expression's own default: a value from the shell
        or .env is never copied into the manifest (which gets committed). Consumers get the
        URL from their binding, so the server's password need not match the shell's."""
        if not fields.has_references(text):
            return self.src.evaluate(text, path)  # `$$` -> `$`
        try:
            value = interpolate(text, lambda _: None)
        except InterpolationError:
            value = ""
        self.notes.approximated(
            path,
            "from a variable, which devstack does not read here: the compose file's default "
            "is written (or devstack's), never the shell's value",
            target,
        )
        return value or "devstack"

    def server_volume(
        self,
        kind: str,
        name: str,
        entry: dict[str, Any],
        item: Any,
        path: DataPath,
        target: DataPath,
    ) -> None:
        text = (
            str(item.get("source", "")) + ":" + str(item.get("target", ""))
            if isinstance(item, dict)
            else str(item)
        )
        source, _, rest = text.partition(":")
        dest = rest.split(":")[0]
        if kind == "postgres" and dest.startswith("/docker-entrypoint-initdb.d"):
            host = (self.src.root / source).resolve()
            scripts = sorted(host.glob("*.sql")) if host.is_dir() else [host]
            if len(scripts) == 1 and scripts[0].suffix == ".sql":
                rel = fields.relative_path(
                    self.src, str(scripts[0].relative_to(self.src.root)), self.out_dir
                )
                entry["seed"] = {"sql": rel}
                return
            self.notes.unmapped(path, "devstack seeds one .sql file (seed.sql)", target)
            return
        self.notes.approximated(
            path,
            f"devstack keeps its data in its own volume, <stack>_<provider>-{name}-data",
            target,
        )

    # -- consumers -----------------------------------------------------------------------

    def bind(
        self, service: str, compose_name: str, env: dict[str, Any], depends: dict[str, str]
    ) -> list[str]:
        """Rewrite a consumer's env and dependencies onto bindings; returns its `uses`."""
        uses: list[str] = []
        target: DataPath = ("services", service)
        for dep in list(depends):
            if dep in self.absorbed:
                uses += [b for b in self.absorbed[dep].backings if b not in uses]
                del depends[dep]
        for key in list(env):
            raw = env[key]
            if not isinstance(raw, str):
                continue
            path = ("services", compose_name, "environment", key)
            value = raw
            if "$" in raw:
                try:
                    value = self.src.evaluate(raw, path)
                except ImportProblem:
                    continue
            host = _host(value)
            owner = next((a for a in self.absorbed.values() if host == a.compose_name), None)
            if owner is None:
                continue
            uses += [b for b in owner.backings if b not in uses]
            replacement = self.replacement(owner, key, value)
            if replacement is None:
                del env[key]
            elif replacement == "":
                self.notes.unmapped(
                    path,
                    f"points at {owner.compose_name}, now backing service(s) {', '.join(owner.backings)}; "
                    "use the variables its binding injects",
                    target,
                )
            else:
                env[key] = replacement
        if any(self.backing[b]["kind"] not in ("postgres", "redis") for b in uses):
            for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
                if env.get(key) == self.region:
                    del env[key]
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                if env.get(key) == "test":
                    del env[key]
        return uses

    def replacement(self, owner: Absorbed, key: str, value: str) -> str | dict[str, Any] | None:
        """None: drop (the binding injects it); "": cannot map; else the new template."""
        if "://" not in value:
            return ""  # a bare host name: no binding variable holds just that
        parts = urlsplit(value)
        if owner.kind in ("postgres", "redis"):
            name = owner.backings[0]
            injected = {
                "DATABASE_URL" if owner.kind == "postgres" else "REDIS_URL",
                f"{env_prefix(name)}_URL",
            }
            scheme_ok = parts.scheme in (
                ("postgres", "postgresql") if owner.kind == "postgres" else ("redis",)
            )
            if not scheme_ok:
                return ""
            entry = self.backing[name]
            if owner.kind == "postgres" and (
                parts.username not in (None, entry["user"])
                or parts.path.strip("/") not in ("", entry["database"])
            ):
                return ""  # another user or database than the one declared
            if owner.kind == "redis":
                index = parts.path.strip("/") or "0"
                if not index.isdigit() or int(index) > 15:
                    return ""
                # The first consumer says which database; one that wants another is noted.
                if entry.setdefault("database", int(index)) != int(index):
                    return ""
            if key in injected:
                return None
            template = "${" + env_prefix(name) + "_URL}"
            # A Postgres URL holds the password: keep it masked under its new name too.
            return {"value": template, "secret": True} if owner.kind == "postgres" else template
        if key == "AWS_ENDPOINT_URL" or key.startswith("AWS_ENDPOINT_URL_"):
            return None
        queue = QUEUE_PATH.match(parts.path or "")
        if queue:
            for name in owner.backings:
                if self.backing[name].get("queue") == queue.group(1):
                    return "${backing." + name + ".queue_url}"
        if parts.path in ("", "/"):
            return "${backing." + owner.backings[0] + ".endpoint}"
        return ""


def _host(value: str) -> str | None:
    """The host a variable's value points at: a URL's host, or a bare `host[:port]`."""
    if "://" in value:
        try:
            return urlsplit(value).hostname
        except ValueError:
            return None
    bare = _BARE_HOST.match(value)
    return bare.group(1) if bare else None
