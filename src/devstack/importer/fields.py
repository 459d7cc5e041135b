"""Compose field values -> devstack field values: environment, ports, volumes, durations.

Each function takes the compose value and its path, returns the devstack value (or None
when nothing can be carried over) and records in `notes` what it changed or dropped.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

from devstack.config.interpolate import InterpolationError, references
from devstack.config.layers import is_secret_name
from devstack.importer.notes import Notes
from devstack.importer.source import ComposeSource, DataPath
from devstack.model.durations import parse_duration
from devstack.model.manifest import ENV_KEY_PATTERN, parse_port

_COMPOSE_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def has_references(text: str) -> bool:
    try:
        return bool(references(text))
    except InterpolationError:
        return True


def fixed(src: ComposeSource, text: str, path: DataPath, notes: Notes, target: DataPath) -> str:
    """`text` for a field devstack does not interpolate: evaluated now if it has references.

    `$$` alone needs no note: it means a literal `$` in both tools.
    """
    if "$" not in text:
        return text
    value = src.evaluate(text, path)
    if has_references(text):
        # The value may come from the shell or .env: never print a secret's.
        shown = "a value" if is_secret_name(str(path[-1])) else repr(value)
        notes.no_effect(
            path,
            f"{text!r} evaluated at import to {shown} (devstack does not interpolate this "
            "field; import again if the variable changes)",
            target,
        )
    return value


def environment(src: ComposeSource, value: Any, path: DataPath, notes: Notes) -> dict[str, str]:
    """`environment:` as a list (`K=V`, `K`) or a mapping, values as written."""
    out: dict[str, str] = {}
    items: list[tuple[str, Any, DataPath]] = []
    if isinstance(value, dict):
        items = [(k, v, (*path, k)) for k, v in value.items()]
    elif isinstance(value, list):
        for index, entry in enumerate(value):
            text = src.as_written((*path, index), entry)
            key, sep, rest = text.partition("=")
            items.append((key, rest if sep else None, (*path, index)))
    else:
        raise src.problem(path, "environment must be a list or a mapping")
    for key, raw, item_path in items:
        if not re.match(ENV_KEY_PATTERN, key):
            notes.changes(item_path, f"dropped: {key!r} is not a variable name devstack accepts")
            continue
        if raw is None:
            # Compose passes KEY from the shell only when it is set; ${KEY} is empty instead.
            out[key] = "${" + key + "}"
            notes.no_effect(
                item_path,
                f"{key} without a value becomes ${{{key}}}: the shell's value, empty when unset",
            )
        else:
            out[key] = src.as_written(item_path, raw)
    return out


def duration(src: ComposeSource, value: Any, path: DataPath) -> str:
    """A compose duration (`1m30s`, `1.5s`, `500ms`, `10us`) as devstack writes one."""
    text = src.as_written(path, value).strip()
    try:
        parse_duration(text)
        return text
    except ValueError:
        pass
    parts = _COMPOSE_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise src.problem(path, f"invalid duration {text!r} (e.g. 10s, 1m30s, 500ms)")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    return f"{round(seconds * 1000)}ms" if seconds < 1 else f"{seconds:g}s"


def port(
    src: ComposeSource, value: Any, path: DataPath, notes: Notes, target: DataPath
) -> str | None:
    """One `ports:` entry (short or long syntax) as devstack's `[IP:][HOST:]CONTAINER`."""
    if isinstance(value, dict):
        container = value.get("target")
        published = value.get("published")
        host_ip = value.get("host_ip")
        protocol = value.get("protocol", "tcp")
        text = str(container)
        if published not in (None, ""):
            text = f"{published}:{text}"
            if host_ip:
                text = f"{host_ip}:{text}"
        if protocol != "tcp":
            text = f"{text}/{protocol}"
    else:
        text = src.as_written(path, value)
    text = fixed(src, text, path, notes, target)
    if passthrough_accepts("ports", [text]):
        return text  # the manifest takes it as compose writes it (ranges, udp)
    text, _, protocol = text.partition("/")
    if protocol and protocol != "tcp":
        notes.changes(path, f"dropped: {protocol} ports are not published by devstack", target)
        return None
    if "-" in text:
        notes.changes(path, "dropped: port ranges are not supported; list each port", target)
        return None
    parts = text.rsplit(":", 2)
    if len(parts) == 3 and parts[1] == "":  # IP::CONTAINER, a random host port on IP
        notes.no_effect(path, "a free host port on 127.0.0.1", target)
        text = parts[2]
    elif len(parts) == 3 and parts[0] in ("", "[::]", "::"):
        text = f"{parts[1]}:{parts[2]}"
    try:
        parse_port(text)
    except ValueError as exc:
        notes.changes(path, f"dropped: {exc}", target)
        return None
    return text


def passthrough_accepts(key: str, value: Any) -> bool:
    from devstack.importer.passthrough import accepts

    return accepts(key, value)


def relative_path(src: ComposeSource, text: str, out_dir: Path) -> str:
    """A path written relative to the compose file, rewritten relative to the manifest."""
    if text.startswith(("/", "~")):
        return text
    absolute = (src.root / text).resolve()
    rel = os.path.relpath(absolute, out_dir.resolve())
    return rel if rel.startswith(".") else f"./{rel}"


_BIND_MODES = {"ro", "rw", "z", "Z"}


def volume(
    src: ComposeSource,
    value: Any,
    path: DataPath,
    notes: Notes,
    target: DataPath,
    out_dir: Path,
    named: set[str],
) -> str | dict[str, Any] | None:
    """One `volumes:` entry as `SOURCE:/path[:ro]` (or compose's long syntax, when the
    manifest takes it); `named` collects named volumes used."""
    if isinstance(value, dict):
        long = _long_volume(src, value, path, notes, target, out_dir, named)
        if long is not None:
            return long
        kind = value.get("type", "volume")
        if kind not in ("bind", "volume"):
            notes.changes(path, f"dropped: {kind} mounts are not supported", target)
            return None
        source, dest = value.get("source"), value.get("target")
        if not source:
            notes.changes(path, "dropped: anonymous volumes are not supported", target)
            return None
        extra = [k for k in value if k not in ("type", "source", "target", "read_only")]
        if extra:
            notes.changes(
                path, f"volume options {', '.join(extra)} are not supported (dropped)", target
            )
        if kind == "bind" and not str(source).startswith((".", "/", "~")):
            source = f"./{source}"
        text = f"{source}:{dest}" + (":ro" if value.get("read_only") else "")
    else:
        text = src.as_written(path, value)
    text = fixed(src, text, path, notes, target)
    parts = text.split(":")
    if len(parts) == 1:
        if passthrough_accepts("volumes", [text]):
            return text  # an anonymous volume: the manifest takes `/path` as compose does
        notes.changes(path, "dropped: anonymous volumes are not supported", target)
        return None
    if len(parts) > 3 or not parts[1].startswith("/"):
        notes.changes(path, f"dropped: cannot read volume {text!r} (SOURCE:/path[:MODE])", target)
        return None
    source, dest = parts[0], parts[1]
    modes = [m for m in (parts[2].split(",") if len(parts) == 3 else []) if m != "rw"]
    dropped = [m for m in modes if m not in _BIND_MODES]
    if dropped:
        notes.no_effect(path, f"mount options {', '.join(dropped)} are not used", target)
    modes = [m for m in modes if m in _BIND_MODES]
    driver = volume_driver(src, source)
    if driver is not None and driver[0] == "tmpfs" and passthrough_accepts("tmpfs", [dest]):
        return {"type": "tmpfs", "target": dest}
    if driver is not None and driver[1] is not None:
        source = driver[1]  # a local volume that binds a host folder: that folder
    if source.startswith((".", "/", "~")):
        source = relative_path(src, source, out_dir)
    else:
        named.add(source)
    return ":".join([source, dest, *([",".join(modes)] if modes else [])])


def volume_driver(src: ComposeSource, name: str) -> tuple[str, str | None] | None:
    """A top-level volume whose local driver options make it a bind of a host folder
    (`type: none, o: bind, device: PATH`) or a tmpfs: ("bind", PATH) or ("tmpfs", None)."""
    spec = (src.data.get("volumes") or {}).get(name)
    if not isinstance(spec, dict) or spec.get("driver", "local") != "local":
        return None
    opts = spec.get("driver_opts")
    if not isinstance(opts, dict):
        return None
    if opts.get("type") == "tmpfs":
        return ("tmpfs", None)
    device = opts.get("device")
    if "bind" in str(opts.get("o", "")).split(",") and isinstance(device, str):
        return ("bind", src.evaluate(device, ("volumes", name, "driver_opts", "device")))
    return None


def _long_volume(
    src: ComposeSource,
    value: dict[str, Any],
    path: DataPath,
    notes: Notes,
    target: DataPath,
    out_dir: Path,
    named: set[str],
) -> dict[str, Any] | None:
    """Compose's long syntax as the manifest takes it, or None when it does not (or when
    the short `SOURCE:/path[:ro]` says the same)."""
    if set(value) <= {"type", "source", "target", "read_only"} and value.get("source"):
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        item_path = (*path, key)
        if isinstance(item, str):
            out[key] = fixed(src, src.as_written(item_path, item), item_path, notes, target)
        else:
            out[key] = item
    kind = out.get("type", "volume")
    source = out.get("source")
    if kind == "bind" and isinstance(source, str):
        if not source.startswith((".", "/", "~")):
            source = f"./{source}"
        out["source"] = relative_path(src, source, out_dir)
    if not passthrough_accepts("volumes", [out]):
        return None
    if kind == "volume" and isinstance(source, str) and source:
        named.add(source)
    return out


def redis_args(
    src: ComposeSource, value: Any, path: DataPath, notes: Notes, target: DataPath
) -> list[str] | None:
    """The options of a `redis-server --name value...` command, when the manifest's redis
    backing takes them (devstack runs the server, and keeps these options), else None."""
    from pydantic import ValidationError

    from devstack.model.backing import RedisBacking

    try:
        if isinstance(value, str):
            argv = shlex.split(fixed(src, src.as_written(path, value), path, notes, target))
        else:
            argv = [fixed(src, str(a), (*path, i), notes, target) for i, a in enumerate(value)]
        RedisBacking.model_validate({"kind": "redis", "args": argv[1:]})
    except (ValueError, ValidationError):
        return None
    return argv[1:] if argv[:1] == ["redis-server"] and len(argv) > 1 else None


def build_contexts(
    src: ComposeSource, value: Any, path: DataPath, notes: Notes, target: DataPath, out_dir: Path
) -> dict[str, str] | None:
    """`build.additional_contexts` (a mapping or NAME=SOURCE lines) as the manifest takes
    them: folders rebased, `service:NAME` renamed as the service is; None when it cannot."""
    from devstack.importer.backing import safe_name

    pairs = (
        value.items() if isinstance(value, dict) else (str(v).partition("=")[::2] for v in value)
    )
    out = {}
    for name, given in pairs:
        source = fixed(src, src.as_written((*path, name), str(given)), (*path, name), notes, target)
        if source.startswith("service:"):
            source = "service:" + safe_name(source.removeprefix("service:"))
        elif "://" not in source:
            source = relative_path(src, source, out_dir)
        out[str(name)] = source
    return out if passthrough_accepts("build", {"additional_contexts": out}) else None
