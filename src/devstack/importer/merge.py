"""Compose's merge rules, as compose-go applies them to `extends` and to included files.

A mapping merges key by key; a sequence appends, except the "unique resources" (ports,
volumes, secrets, configs: a later entry for the same target replaces the earlier one)
and the shell commands (`command`, `entrypoint`, `healthcheck.test`: replaced). The YAML
tags `!reset` (drop the key) and `!override` (replace instead of merging) are honoured.
"""

from __future__ import annotations

from typing import Any

from devstack.config.yaml_loader import RESET, Override

# Replaced as a whole, never appended to (compose: "shell commands").
_REPLACED = {"command", "entrypoint", "test"}
# Sequences whose items are merged by a key (a later item for the same key wins).
_UNIQUE_BY = {
    "volumes": "target",
    "secrets": "target",
    "configs": "target",
}
# Written as a list (`K=V`) or a mapping: merged as mappings.
_MAPPINGS = {"environment", "labels", "annotations", "args", "sysctls", "extra_hosts"}


def strip(value: Any) -> Any:
    """`value` without compose merge markers (a lone `!reset` key is dropped)."""
    if isinstance(value, Override):
        return strip(value.value)
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if v is not RESET}
    if isinstance(value, list):
        return [strip(v) for v in value if v is not RESET]
    return value


def merge(base: Any, over: Any, key: str = "") -> Any:
    """`over` merged onto `base` (both one compose element, e.g. a service)."""
    if over is RESET:
        return None
    if isinstance(over, Override):
        return strip(over.value)
    if key in _REPLACED:
        return strip(over)
    if key in _MAPPINGS and isinstance(base, (dict, list)) and isinstance(over, (dict, list)):
        return {**as_mapping(base, key), **as_mapping(strip(over), key)}
    if key == "depends_on" and isinstance(base, (dict, list)) and isinstance(over, (dict, list)):
        return {**_depends(base), **_depends(strip(over))}
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for name, value in over.items():
            if value is RESET:
                out.pop(name, None)
            elif name in out:
                out[name] = merge(out[name], value, name)
            else:
                out[name] = strip(value)
        return out
    if isinstance(base, list) and isinstance(over, list):
        return _append(base, strip(over), key)
    return strip(over)


def as_mapping(value: Any, key: str) -> dict[str, Any]:
    """`K=V` / `K` / `host:ip` list items as a mapping (compose accepts both forms)."""
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value:
        text = str(item)
        sep = "=" if "=" in text or key != "extra_hosts" else ":"
        name, found, rest = text.partition(sep)
        out[name] = rest if found else None
    return out


def _depends(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    return {str(name): {"condition": "service_started"} for name in value}


def _append(base: list[Any], over: list[Any], key: str) -> list[Any]:
    field = _UNIQUE_BY.get(key)
    if field is None:
        return base + [item for item in over if item not in base]
    out = list(base)
    for item in over:
        wanted = _unique_key(item, field)
        out = [old for old in out if wanted is None or _unique_key(old, field) != wanted]
        out.append(item)
    return out


def _unique_key(item: Any, field: str) -> str | None:
    """The target a volume/secret/config entry mounts at (short or long syntax)."""
    if isinstance(item, dict):
        found = item.get(field) or item.get("source")
        return None if found is None else str(found)
    text = str(item)
    if field == "target" and ":" in text:  # a short volume, SOURCE:TARGET[:MODE]
        return text.split(":")[1]
    return text
