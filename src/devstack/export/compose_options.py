"""`export compose`: a container service's compose settings (entrypoint, user, mounts,
secrets, configs, hooks...) written back in compose's own shapes.

The manifest keys are compose's, so most go out as written; paths are made relative to
the compose file's folder and stack volumes lose their `<stack>_` prefix. An
environment-sourced secret is written as `{environment: VAR}`: compose reads VAR from the
shell or `.env`, and its value never reaches the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.export.view import ExportedService, ExportView
from devstack.model.container import ObjectRef, VolumeMount
from devstack.model.manifest import Service, WatchRule

HOST_GATEWAY = "host.docker.internal:host-gateway"  # as devstack maps it in every container
PLAIN_KEYS = ("user", "working_dir", "cap_add", "cap_drop", "shm_size", "network_mode")


def add_options(
    out: dict[str, Any],
    view: ExportView,
    exported: ExportedService,
    relative: Any,  # relative_to(base_dir, path)
    escape: Any,  # literal text, `$` doubled
    volumes: dict[str, Any],
) -> None:
    manifest = exported.manifest
    shared = manifest is not None and manifest.network_service() is not None
    if not shared:  # the engine refuses extra hosts in another service's network
        hosts = [HOST_GATEWAY]
        if manifest is not None:
            extra = manifest.extra_hosts
            pairs = extra.items() if isinstance(extra, dict) else (_pair(t) for t in extra)
            hosts.extend(f"{host}:{ip}" for host, ip in pairs)
        out["extra_hosts"] = hosts
    if manifest is None:
        return
    if manifest.entrypoint is not None:
        entry = manifest.entrypoint
        out["entrypoint"] = escape(entry) if isinstance(entry, str) else [escape(p) for p in entry]
    for key in PLAIN_KEYS:
        value = getattr(manifest, key)
        if value not in (None, []):
            out[key] = (
                [escape(v) for v in value] if isinstance(value, list) else _literal(value, escape)
            )
    if manifest.ulimits:
        out["ulimits"] = {
            name: value if isinstance(value, int) else {"soft": value.soft, "hard": value.hard}
            for name, value in manifest.ulimits.items()
        }
    if manifest.tmpfs_list():
        out["tmpfs"] = [escape(t) for t in manifest.tmpfs_list()]
    for section in ("secrets", "configs"):
        uses = getattr(manifest, section)
        if uses:
            out[section] = [_use(u) for u in uses]
    for stage in ("post_start", "pre_stop"):
        hooks = getattr(manifest, stage)
        if hooks:
            out[stage] = [h.model_dump(exclude_defaults=True) for h in hooks]
    add_engine_keys(out, manifest)
    if manifest.profiles:
        out["profiles"] = list(manifest.profiles)
    if manifest.watch:
        out["develop"] = {"watch": [_watch(rule, view, relative) for rule in manifest.watch]}


def add_engine_keys(out: dict[str, Any], manifest: Service) -> None:
    """Devices, the API socket, GPUs and network aliases, in compose's shapes (a GPU list
    is compose's reservation form, which every compose version reads)."""
    if manifest.devices:
        out["devices"] = list(manifest.devices)
    if manifest.use_api_socket:
        out["use_api_socket"] = True
    if manifest.gpus == "all":
        out["gpus"] = "all"
    elif manifest.gpus:
        devices = [g.model_dump(exclude_defaults=True) for g in manifest.gpus]
        for device, given in zip(devices, manifest.gpus, strict=True):
            device["capabilities"] = list(given.capabilities)  # compose requires them
        deploy = out.setdefault("deploy", {})
        deploy["resources"] = {"reservations": {"devices": devices}}
    if manifest.aliases:
        out["networks"] = {"default": {"aliases": list(manifest.aliases)}}


def long_volumes(
    manifest: Service | None, view: ExportView, relative: Any, volumes: dict[str, Any]
) -> list[Any]:
    """Anonymous (`/data`) and long-syntax volumes, in compose's syntax."""
    if manifest is None:
        return []
    found: list[Any] = []
    for item in manifest.volumes:
        if isinstance(item, str):
            if item.startswith("/"):
                found.append(item)
            continue
        found.append(_long(item, view, relative, volumes))
    return found


def top_level(view: ExportView, relative: Any, escape: Any) -> dict[str, Any]:
    """The document's `secrets:` and `configs:` sections."""
    document: dict[str, Any] = {}
    for section, declared in (("secrets", view.secrets), ("configs", view.configs)):
        entries: dict[str, Any] = {}
        for name, definition in declared.items():
            if definition.file is not None:
                path = Path(definition.file).expanduser()
                absolute = path if path.is_absolute() else Path(view.root) / path
                entries[name] = {"file": relative(str(absolute))}
            elif definition.environment is not None:
                entries[name] = {"environment": definition.environment}
            else:
                entries[name] = {"content": escape(getattr(definition, "content", "") or "")}
        if entries:
            document[section] = entries
    return document


def _long(item: VolumeMount, view: ExportView, relative: Any, volumes: dict[str, Any]) -> Any:
    data = item.model_dump(exclude_defaults=True, exclude_none=True)
    data["type"] = item.type
    if item.type == "bind" and item.source:
        path = Path(item.source).expanduser()
        absolute = path if path.is_absolute() else Path(view.root) / path
        data["source"] = relative(str(absolute))
    elif item.type == "volume" and item.source:
        volumes.setdefault(item.source, None)
    return data


def _watch(rule: WatchRule, view: ExportView, relative: Any) -> dict[str, Any]:
    """A watch rule as compose's `develop.watch` entry (compose has the same actions)."""
    out: dict[str, Any] = {
        "path": relative(str(Path(view.root) / rule.path)),
        "action": rule.action,
    }
    if rule.target is not None:
        out["target"] = rule.target
    if rule.ignore:
        out["ignore"] = list(rule.ignore)
    return out


def _use(use: str | ObjectRef) -> Any:
    if isinstance(use, str):
        return use
    data = use.model_dump(exclude_none=True)
    mode = use.file_mode()
    if mode is not None:
        data["mode"] = mode
    return data


def _pair(text: str) -> tuple[str, str]:
    cut = min((i for i in (text.find("="), text.find(":")) if i > 0), default=len(text))
    return text[:cut], text[cut + 1 :]


def _literal(value: Any, escape: Any) -> Any:
    return escape(value) if isinstance(value, str) else value
