"""Manifest loading: YAML text -> validated `Stack`, or every problem at once, located."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from devstack.config.container_checks import check_container_keys
from devstack.config.interpolate import InterpolationError, references
from devstack.config.problems import ManifestError, Problem
from devstack.config.yaml_loader import LoadedDocument, LoaderError, format_path, load_yaml
from devstack.model.graph import find_cycle
from devstack.model.manifest import (
    ENV_KEY_PATTERN,
    NAME_PATTERN,
    VAR_NAME_PATTERN,
    Service,
    Stack,
)
from devstack.model.names import known_names
from devstack.model.ports import port_mappings

SERVICE_FIELDS = ("url", "port", "host")
_AWS_FIELDS = ("endpoint", "region", "provider")
BACKING_FIELDS: dict[str, tuple[str, ...]] = {
    "s3": (*_AWS_FIELDS, "bucket", "arn"),
    "sqs": (*_AWS_FIELDS, "queue", "queue_url", "dlq_url", "arn"),
    "dynamodb": (*_AWS_FIELDS, "table"),
    "ssm": (*_AWS_FIELDS, "path"),
    "secretsmanager": (*_AWS_FIELDS, "secret_id", "secret_ids"),
    "sns": (*_AWS_FIELDS, "topic", "topic_arn"),
    # Not postgres's url or password: they hold the password, and a variable built from
    # them would not be masked unless its name says so (the binding's DATABASE_URL is).
    "postgres": ("endpoint", "provider", "host", "port", "database", "user"),
    "redis": ("endpoint", "provider", "url", "host", "port"),
    "url": ("url", "provider"),
}


@dataclass(frozen=True)
class LoadedStack:
    """A valid stack with the document it came from (for locating later problems)."""

    stack: Stack
    path: Path
    doc: LoadedDocument
    raw: bytes = field(default=b"", repr=False, compare=False)  # the file's bytes, as read

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def display_name(self) -> str:
        return self.doc.file

    def locate(self, *path: str | int) -> Problem:
        """A Problem template located at a field path (message filled by the caller)."""
        return Problem("", format_path(path), self.doc.locate(path))


def _alternatives(one: Service, other: Service) -> bool:
    """Services of disjoint profiles (compose's `cpu` and `gpu` variants of one server):
    they may publish the same host port, as only one of them is meant to run."""
    return bool(one.profiles and other.profiles) and not set(one.profiles) & set(other.profiles)


def load_stack(path: Path, previous: LoadedStack | None = None) -> LoadedStack:
    """Read, parse and validate a manifest; raises ManifestError listing every problem.

    `previous`: the stack loaded from the same file earlier; if the file's bytes are the
    same, it is returned as is. Loading reads nothing but the file, so equal bytes give an
    equal stack: the daemon's every `up` re-reads the manifest, and parsing and validating
    100 services cost 30 ms of a no-op `up`.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problem = Problem(f"{_display(path)}: no such file (use -f to name the manifest)")
        raise ManifestError([problem]) from None
    except OSError as exc:
        raise ManifestError([Problem(f"{_display(path)}: cannot read: {exc.strerror}")]) from exc
    if previous is not None and previous.raw == raw and previous.path == path.resolve():
        return previous
    display = _display(path)
    try:
        doc = load_yaml(raw, display)
    except LoaderError as exc:
        raise ManifestError([Problem(exc.message, location=exc.location)]) from exc
    if not isinstance(doc.data, dict):
        where = doc.locate(())
        raise ManifestError(
            [Problem("the manifest must be a mapping with name and services", "", where)]
        )
    data = _env_values_as_written(doc)
    try:
        stack = Stack.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_problems_from_pydantic(exc, doc, data)) from exc
    loaded = LoadedStack(stack, path.resolve(), doc, raw)
    problems = check_semantics(loaded)
    if problems:
        raise ManifestError(problems)
    return loaded


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _env_values_as_written(doc: LoadedDocument) -> Any:
    """Variables keep the text the user wrote: `VERSION: 1.10` is "1.10", not 1.1.

    YAML would turn unquoted scalars into numbers or booleans; an environment variable
    is always a string, so we take the scalar's source text instead of its value.
    """
    data = doc.data

    def fix(mapping: Any, base: tuple[str | int, ...]) -> None:
        if not isinstance(mapping, dict):
            return
        for key, value in list(mapping.items()):
            path = (*base, key)
            if isinstance(value, dict) and "value" in value:
                fix_scalar(value, "value", (*path, "value"))
            else:
                fix_scalar(mapping, key, path)

    def fix_scalar(holder: dict[str, Any], key: str, path: tuple[str | int, ...]) -> None:
        value = holder[key]
        if value is None:
            holder[key] = ""
        elif isinstance(value, bool | int | float):
            holder[key] = doc.raw_text.get(path, str(value))

    for kind, inner in (("environments", "vars"), ("services", "env")):
        section = data.get(kind)
        if isinstance(section, dict):
            for name, body in section.items():
                if isinstance(body, dict):
                    fix(body.get(inner), (kind, name, inner))
    services = data.get("services")
    for name, body in services.items() if isinstance(services, dict) else ():
        needs = body.get("needs") if isinstance(body, dict) else None
        for var, need in needs.items() if isinstance(needs, dict) else ():
            # A contract's default is a variable's value too: `default: 8000` is "8000".
            if isinstance(need, dict) and "default" in need:
                fix_scalar(need, "default", ("services", name, "needs", var, "default"))
    return data


def _problems_from_pydantic(exc: ValidationError, doc: LoadedDocument, data: Any) -> list[Problem]:
    by_path: dict[tuple[str | int, ...], list[str]] = {}
    at_key: set[tuple[str | int, ...]] = set()  # errors about a key itself, not its value
    for err in exc.errors():
        path = _data_path(err["loc"], data)
        if err["type"] == "extra_forbidden" or err["loc"][-1:] == ("[key]",):
            at_key.add(path)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown key {path[-1]!r} (extensions must start with 'x-')"
        elif err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "string_pattern_mismatch":
            message = _pattern_message(err["input"], str(err.get("ctx", {}).get("pattern", "")))
        messages = by_path.setdefault(path, [])
        if message not in messages:
            messages.append(message)
    # A union (list or mapping form) fails in every branch; the branch that got deeper
    # names the real mistake, so an error with a more specific error below it is dropped.
    deepest = {p for p in by_path if not any(q[: len(p)] == p and q != p for q in by_path)}
    problems = []
    for path, messages in by_path.items():
        if path not in deepest:
            continue
        location = doc.key_locations.get(path) if path in at_key else None
        problems.append(
            Problem("; or ".join(messages), format_path(path), location or doc.locate(path))
        )
    return sorted(
        problems, key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0)
    )


def _pattern_message(value: object, pattern: str) -> str:
    if pattern == NAME_PATTERN:
        return f"{value!r} is not a valid name: use lowercase letters, digits, '-' and '_'"
    if pattern == VAR_NAME_PATTERN:
        return f"{value!r} is not a valid variable name: use letters, digits and '_'"
    if pattern == ENV_KEY_PATTERN:
        return (
            f"{value!r} is not a valid variable name: use letters, digits, '_', '.' and '-' "
            "(not first)"
        )
    return f"{value!r} does not match {pattern}"


def _data_path(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Pydantic's error location minus union-branch tags (`str`, `list[str]`, ...)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[int(part)]
            path.append(part)
        elif isinstance(node, dict) and part in (node.get("kind"), node.get("type")):
            continue  # a discriminated union's tag (`s3`, `moto`): the entry's own kind
        elif isinstance(node, dict) and isinstance(part, str) and not _is_branch_tag(part):
            path.append(part)  # a missing or unknown key: name it
            node = None
    return tuple(path)


def _is_branch_tag(part: str) -> bool:
    return (
        "[" in part or part in {"str", "int", "float", "bool", "list", "dict"} or part[:1].isupper()
    )


def check_semantics(loaded: LoadedStack) -> list[Problem]:
    """Cross-field rules: known dependencies, no cycles, valid references, free ports."""
    stack = loaded.stack
    problems: list[Problem] = []

    def at(message: str, *path: str | int) -> None:
        base = loaded.locate(*path)
        problems.append(Problem(message, base.field, base.location))

    edges: dict[str, list[str]] = {}
    for name, service in stack.services.items():
        deps = service.dependencies()
        edges[name] = list(deps)
        for index, dep in enumerate(deps):
            if dep not in service.depends_on:
                continue  # implied by network_mode: checked there (config/container_checks)
            path: tuple[str | int, ...] = ("services", name, "depends_on")
            path = (*path, index) if isinstance(service.depends_on, list) else (*path, dep)
            if dep == name:
                at("a service cannot depend on itself", *path)
            elif dep not in stack.services:
                at(f"unknown service {dep!r}{_known(stack.services, dep)}", *path)
        if service.healthcheck and service.healthcheck.http and not service.ports:
            at(
                "an http healthcheck needs the service to declare ports",
                "services",
                name,
                "healthcheck",
                "http",
            )
    cycle = find_cycle({name: [d for d in deps if d != name] for name, deps in edges.items()})
    if cycle:
        at(f"dependency cycle: {' -> '.join(cycle)}", "services", cycle[0], "depends_on")

    # Host ports taken: a process's own port, a container's explicit host port.
    # A tcp and a udp port of the same number do not collide (compose publishes both).
    owners: dict[tuple[int, str], str] = {}
    for name, service in stack.services.items():
        for index, text in enumerate(service.ports):
            for mapping in port_mappings(text):
                port = mapping.container if service.runtime == "process" else mapping.host
                if port is None:
                    continue
                taken = (port, mapping.protocol)
                if taken in owners and not _alternatives(service, stack.services[owners[taken]]):
                    suffix = "" if mapping.protocol == "tcp" else f"/{mapping.protocol}"
                    at(f"host port {port}{suffix} is already used by service {owners[taken]!r}",
                       "services", name, "ports", index)  # fmt: skip
                owners.setdefault(taken, name)

    _check_backing(loaded, at)
    check_container_keys(stack, at)
    for env_name, environment in stack.environments.items():
        for var, value in environment.vars.items():
            _check_refs(loaded, value, ("environments", env_name, "vars", var), at)
    for name, service in stack.services.items():
        for var, value in service.env.items():
            _check_refs(loaded, value, ("services", name, "env", var), at)
    return problems


def _check_refs(loaded: LoadedStack, value: Any, path: tuple[str | int, ...], at: Any) -> None:
    text = value if isinstance(value, str) else value.value
    try:
        names = references(text)
    except InterpolationError as exc:
        at(str(exc), *path)
        return
    services = loaded.stack.services
    for ref in names:
        parts = ref.split(".")
        if parts[0] == "backing" and len(parts) > 1:
            if len(parts) != 3:
                at(f"${{{ref}}}: expected ${{backing.NAME.FIELD}}", *path)
            elif parts[1] not in loaded.stack.backing:
                at(
                    f"${{{ref}}}: unknown backing service {parts[1]!r}"
                    f"{_known(loaded.stack.backing, parts[1])}",
                    *path,
                )
            elif parts[2] not in BACKING_FIELDS[loaded.stack.backing[parts[1]].kind]:
                fields = ", ".join(BACKING_FIELDS[loaded.stack.backing[parts[1]].kind])
                at(
                    f"${{{ref}}}: a {loaded.stack.backing[parts[1]].kind} backing service has no field {parts[2]!r} (fields: {fields})",
                    *path,
                )
        elif parts[0] == "services" and len(parts) > 1:
            if len(parts) != 3 or parts[2] not in SERVICE_FIELDS:
                at(f"${{{ref}}}: expected ${{services.NAME.url|port|host}}", *path)
            elif parts[1] not in services:
                at(f"${{{ref}}}: unknown service {parts[1]!r}{_known(services, parts[1])}", *path)
            elif not services[parts[1]].ports:
                at(f"${{{ref}}}: service {parts[1]!r} declares no ports", *path)
        elif "." in ref:
            at(
                f"${{{ref}}}: unknown reference (expected services.NAME.FIELD or backing.NAME.FIELD)",
                *path,
            )


def _check_backing(loaded: LoadedStack, at: Any) -> None:
    """Bindings name known backing services; providers are declared or built in."""
    from devstack.api.kinds import BUILTIN_PROVIDERS

    stack = loaded.stack
    providers = set(stack.providers) | set(BUILTIN_PROVIDERS)
    for name, service in stack.services.items():
        for index, used in enumerate(service.uses):
            if used not in stack.backing:
                at(f"unknown backing service {used!r}{_known(stack.backing, used)}",
                   "services", name, "uses", index)  # fmt: skip
        if name in stack.backing:
            at(f"a service and a backing service are both named {name!r}", "services", name)
    for name, backing in stack.backing.items():
        if backing.provider is not None and backing.provider not in providers:
            at(f"unknown provider {backing.provider!r}{_known(providers, backing.provider)}",
               "backing", name, "provider")  # fmt: skip
        for index, sub in enumerate(getattr(backing, "subscriptions", [])):
            target = stack.backing.get(sub.queue)
            if target is None or target.kind != "sqs":
                sqs = {n for n, b in stack.backing.items() if b.kind == "sqs"}
                at(f"subscription to {sub.queue!r}: not an sqs backing service{_known(sqs)}",
                   "backing", name, "subscriptions", index, "queue")  # fmt: skip
    for env_name, environment in stack.environments.items():
        for bound, provider in environment.providers.items():
            path = ("environments", env_name, "providers", bound)
            if bound not in stack.backing:
                at(f"unknown backing service {bound!r}{_known(stack.backing, bound)}", *path)
            elif provider not in providers:
                at(f"unknown provider {provider!r}{_known(providers, provider)}", *path)


def _known(names: Any, name: str | None = None) -> str:
    return known_names(names, name) if names else ""
