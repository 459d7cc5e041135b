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
from urllib.parse import urlsplit, urlunsplit

from devstack.config.bindings import env_prefix
from devstack.config.interpolate import InterpolationError, interpolate, references
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
# Keys of a database/cache service that make no difference once devstack runs the server.
SERVER_HARMLESS = {
    "container_name": "devstack names the server's container itself",
    "shm_size": "devstack's server settings apply",
    "expose": "consumers reach it through their binding",
    "networks": "consumers reach it through their binding",
    "user": "the image's default user runs the server",
    "secrets": "devstack gives the server its password itself",
    "stdin_open": "nothing types into a server",
    "tty": "nothing types into a server",
    "labels": "devstack labels its containers itself",
    "logging": "devstack captures its logs itself",
    "deploy": "devstack runs one server",
    "profiles": "a backing service runs whenever a service that uses it runs",
    "tmpfs": "devstack keeps the data in its own volume",
    "security_opt": "Docker's default security options apply",
    "ulimits": "Docker's default limits apply",
    "env_file": "devstack configures the server itself",
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
                    self.notes.changes(
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
                self.notes.changes(key_path, "dropped: devstack's redis has no password", target)
            elif (
                key == "command"
                and kind == "redis"
                and (args := fields.redis_args(self.src, value, key_path, self.notes, target))
            ):
                entry["args"] = args  # `redis-server --appendonly yes`: its options kept
            else:
                self.server_key(key, value, key_path, target)
        self.backing[name] = entry
        self.absorbed[compose_name] = Absorbed(compose_name, kind, [name], entry.get("provider"))

    def server_key(self, key: str, value: Any, path: DataPath, target: DataPath) -> None:
        """A compose key of a service that became a backing service: devstack runs the
        server itself, so what it drops is said honestly."""
        if key in SERVER_REASONS:
            reason = SERVER_REASONS[key]
            if key == "command":
                self.notes.changes(path, f"dropped: {reason}", target)
            else:
                self.notes.no_effect(path, reason, target)
        elif key in SERVER_HARMLESS:
            self.notes.no_effect(path, SERVER_HARMLESS[key], target)
        else:
            self.notes.changes(
                path, "dropped: devstack has no equivalent for a backing service", target
            )

    def value(self, text: str, path: DataPath, default: str, target: DataPath) -> str:
        """A backing-service field: devstack does not interpolate these, so evaluate now."""
        try:
            return fields.fixed(self.src, text, path, self.notes, target)
        except ImportProblem as exc:
            self.notes.changes(path, f"{exc}; using {default!r}", target)
            return default

    def password(self, text: str, path: DataPath, target: DataPath) -> str:
        """The password as written, or the expression's own default: a value from the shell
        or .env is never copied into the manifest (which gets committed). Consumers get the
        URL from their binding, so the server's password need not match the shell's."""
        if not fields.has_references(text):
            return self.src.evaluate(text, path)  # `$$` -> `$`
        from_dotenv = self.from_dotenv(text)
        if from_dotenv is not None:
            self.notes.no_effect(
                path,
                "the value in .env beside the compose file, as compose reads it (a value from "
                "the shell is never copied into the manifest)",
                target,
            )
            return from_dotenv
        try:
            value = interpolate(text, lambda _: None)
        except InterpolationError:
            value = ""
        self.notes.changes(
            path,
            "from a variable, which devstack does not copy into the manifest: the server's "
            "password is the compose file's default (or devstack's); a service that reads the "
            "variable itself, not its binding's URL, must be given that password",
            target,
        )
        return value or "devstack"

    def from_dotenv(self, text: str) -> str | None:
        """`text` evaluated with `.env` alone, when every variable it reads is there."""
        values = self.src.dotenv_values
        try:
            names = set(references(text))
            if not names or not names <= set(values):
                return None
            return interpolate(text, values.get)
        except InterpolationError:
            return None

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
            self.notes.changes(path, "dropped: devstack seeds one .sql file (seed.sql)", target)
            return
        self.notes.no_effect(
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
            host = host_of(value)
            owner = next((a for a in self.absorbed.values() if host == a.compose_name), None)
            if owner is None:
                continue
            uses += [b for b in owner.backings if b not in uses]
            replacement, doubt = self.replacement(owner, key, value)
            if replacement is DROP:
                del env[key]
                continue
            env[key] = replacement
            if doubt:
                self.notes.changes(path, f"points at {owner.compose_name}: {doubt}", target)
        if any(self.backing[b]["kind"] not in ("postgres", "redis") for b in uses):
            for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
                if env.get(key) == self.region:
                    del env[key]
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                if env.get(key) == "test":
                    del env[key]
        return uses

    def replacement(self, owner: Absorbed, key: str, value: str) -> tuple[Any, str | None]:
        """(the new value, or DROP when the binding injects it; a doubt to note, or None).

        A host, `host:port` or URL naming the converted service is rewritten onto the
        binding's `${backing.NAME.FIELD}`s; the rest of a URL (user, database, path) is kept.
        """
        name = owner.backings[0]
        entry = self.backing[name]
        here = "${backing." + name + ".host}"
        port = "${backing." + name + ".port}"
        if "://" not in value:
            if owner.kind in ("postgres", "redis"):
                return (f"{here}:{port}" if ":" in value else here), None
            # An AWS endpoint has a URL, not a host: the old name no longer resolves.
            return value, f"{value!r} is kept; use the binding's AWS_ENDPOINT_URL"
        parts = urlsplit(value)
        if owner.kind == "localstack":
            if key == "AWS_ENDPOINT_URL" or key.startswith("AWS_ENDPOINT_URL_"):
                return DROP, None
            queue = QUEUE_PATH.match(parts.path or "")
            if queue:
                for backing in owner.backings:
                    if self.backing[backing].get("queue") == queue.group(1):
                        return "${backing." + backing + ".queue_url}", None
            rest = parts.path if parts.path not in ("", "/") else ""
            rest += f"?{parts.query}" if parts.query else ""
            return "${backing." + name + ".endpoint}" + rest, None
        family = "postgres" if owner.kind == "postgres" else "redis"
        if family not in parts.scheme:
            return value, f"{key} is kept as written ({parts.scheme}:// is not a {family} URL)"
        exact = parts.scheme in (("postgres", "postgresql") if family == "postgres" else ("redis",))
        doubt = None
        if owner.kind == "postgres":
            user, database = parts.username, parts.path.strip("/")
            if user not in (None, entry["user"]) or parts.password not in (
                None,
                entry["password"],
            ):
                doubt = f"{key} keeps its user and password; devstack's server has user {entry['user']!r}"
                exact = False
            elif database not in ("", entry["database"]):
                doubt = (
                    f"{key} keeps database {database!r}; devstack creates only "
                    f"{entry['database']!r} on that server"
                )
                exact = False
        else:
            index = parts.path.strip("/") or "0"
            number = int(index) if index.isdigit() and int(index) <= 15 else -1
            # The first consumer says which database the binding's URL names.
            exact = exact and number >= 0 and entry.setdefault("database", number) == number
        injected = {
            "DATABASE_URL" if owner.kind == "postgres" else "REDIS_URL",
            f"{env_prefix(name)}_URL",
        }
        if exact and not parts.query:
            if key in injected:
                return DROP, None
            template = "${" + env_prefix(name) + "_URL}"
            # A Postgres URL holds the password: keep it masked under its new name too.
            return ({"value": template, "secret": True} if family == "postgres" else template), None
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (f"{userinfo}@" if "@" in parts.netloc else "") + f"{here}:{port}"
        rewritten = urlunsplit(parts._replace(netloc=netloc))
        if family == "postgres" and parts.password:
            return {"value": rewritten, "secret": True}, doubt
        return rewritten, doubt


DROP = object()  # the binding injects this variable itself


def host_of(value: str) -> str | None:
    """The host a variable's value points at: a URL's host, or a bare `host[:port]`."""
    if "://" in value:
        try:
            return urlsplit(value).hostname
        except ValueError:
            return None
    bare = _BARE_HOST.match(value)
    return bare.group(1) if bare else None
