"""Compose keys the manifest takes under the same name: `user`, `entrypoint`, `cap_add`...

Whether the manifest has a key, and which of compose's shapes it accepts, is asked of the
manifest model itself (a one-key service is validated): the importer carries over what
devstack can run, and says plainly what it cannot, without a second list to keep in step.
Values are evaluated at import where they hold `${VAR}` (devstack interpolates only
`env`, build args and `image`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from devstack.importer import fields
from devstack.importer.backing import safe_name
from devstack.importer.notes import Notes
from devstack.importer.source import ComposeSource, DataPath
from devstack.model.manifest import Service, Stack

# Service keys that, carried over, mean the same thing in devstack (the runtime's names).
SERVICE_KEYS = (
    "entrypoint",
    "user",
    "working_dir",
    "cap_add",
    "cap_drop",
    "ulimits",
    "tmpfs",
    "shm_size",
    "extra_hosts",
    "network_mode",
    "secrets",
    "configs",
    "post_start",
    "pre_stop",
    "read_only",
    "privileged",
    "init",
    "group_add",
    "sysctls",
    "devices",
    "stop_signal",
    "use_api_socket",
    "gpus",
)
# What devstack does instead, for a key the manifest does not (yet) take.
MISSING_REASONS = {
    "entrypoint": "the image's entrypoint runs instead",
    "user": "the container runs as the image's user",
    "working_dir": "the container starts in the image's working directory",
    "network_mode": "the container joins the stack network instead",
    "secrets": "the secret files are not mounted under /run/secrets",
    "configs": "the config files are not mounted",
    "post_start": "the hook does not run",
    "pre_stop": "the hook does not run",
    "devices": "the device is not available in the container",
    "cap_add": "the container lacks the capability",
    "use_api_socket": "the Docker API socket is not mounted",
    "gpus": "no GPU is given to the container",
}
# Keys whose absence makes no difference to a service on a developer's machine.
HARMLESS = {
    "read_only": "the container's filesystem stays writable",
    "init": "devstack runs every container with an init process",
    "sysctls": "the kernel defaults apply",
    "group_add": "the image's groups apply",
    "shm_size": "Docker's default /dev/shm size (64 MB) applies",
    "ulimits": "Docker's default limits apply",
    "cap_drop": "the container keeps Docker's default capabilities",
    "privileged": "the container is not privileged",
}


@cache
def service_accepts(key: str, value_repr: str) -> bool:
    """Does the manifest take `{key: value}` on a container service? (cached by repr)"""
    import json

    try:
        Service.model_validate({"image": "x", key: json.loads(value_repr)})
    except ValidationError:
        return False
    return True


def accepts(key: str, value: Any) -> bool:
    import json

    return service_accepts(key, json.dumps(value, sort_keys=True, default=str))


def stack_has(key: str) -> bool:
    return key in Stack.model_fields


def evaluated(
    src: ComposeSource, value: Any, path: DataPath, notes: Notes, target: DataPath
) -> Any:
    """`value` with every `${VAR}` evaluated now (noted): like `command`, these fields are
    not interpolated by devstack, so `$$` becomes the `$` it stands for."""
    if isinstance(value, dict):
        return {k: evaluated(src, v, (*path, k), notes, target) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluated(src, v, (*path, i), notes, target) for i, v in enumerate(value)]
    if isinstance(value, str):
        return fields.fixed(src, src.as_written(path, value), path, notes, target)
    return value


def carry(
    src: ComposeSource,
    key: str,
    value: Any,
    path: DataPath,
    notes: Notes,
    target: DataPath,
    out_dir: Path,
) -> Any | None:
    """The manifest value for compose `key`, or None (noted) when devstack cannot take it."""
    given = evaluated(src, value, path, notes, target)
    if key == "network_mode" and isinstance(given, str) and given.startswith("service:"):
        given = "service:" + safe_name(given.removeprefix("service:"))
    if accepts(key, given):
        return given
    if key in HARMLESS:
        notes.no_effect(path, HARMLESS[key], target)
    else:
        reason = MISSING_REASONS.get(key, "devstack cannot set it on a container")
        notes.changes(path, f"devstack has no {key}: {reason}", target)
    return None


def top_level(src: ComposeSource, kind: str, notes: Notes, out_dir: Path) -> dict[str, Any] | None:
    """Top-level `secrets:`/`configs:` for the manifest (file paths rebased), or None."""
    declared = src.data.get(kind) or {}
    if not declared:
        return None
    if not stack_has(kind):
        notes.changes((kind,), f"devstack has no {kind}: they are not mounted")
        return None
    out: dict[str, Any] = {}
    for name, spec in declared.items():
        path: DataPath = (kind, name)
        if not isinstance(spec, dict):
            raise src.problem(path, "expected a mapping (file:, environment: or content:)")
        entry: dict[str, Any] = {}
        for key, item in spec.items():
            item_path = (*path, key)
            if key == "file":
                text = fields.fixed(src, str(item), item_path, notes, (kind, name))
                entry["file"] = fields.relative_path(src, text, out_dir)
            elif key == "environment":
                entry["environment"] = str(item)
            elif key == "content":
                entry["content"] = evaluated(src, item, item_path, notes, (kind, name))
            elif key == "name":
                continue  # the engine-side name: devstack mounts files, it keeps no objects
            elif key == "external" and item:
                notes.changes(item_path, "devstack has no external secrets or configs", None)
            else:
                notes.no_effect(item_path, "devstack mounts the file itself", (kind, name))
        out[name] = entry
    return out


def condition_accepted(condition: str) -> bool:
    """Does the manifest's `depends_on` take this compose condition?"""
    try:
        Service.model_validate({"image": "x", "depends_on": {"d": {"condition": condition}}})
    except ValidationError:
        return False
    return True


def image_healthcheck_fallback() -> bool:
    """Does the manifest take compose's `healthcheck.test`? With it, a container service
    without a healthcheck runs its image's own HEALTHCHECK, as compose does."""
    from devstack.model.manifest import HealthCheck

    return "test" in HealthCheck.model_fields
