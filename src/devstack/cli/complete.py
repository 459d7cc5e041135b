"""Shell completion of names from the manifest: services, environments, backing, providers.

Completion runs on every Tab: it reads the manifest's raw YAML (no validation, so a
manifest with a mistake still completes) and never prints or fails; whatever goes wrong
gives no candidates.
"""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import CompletionItem

# api.kinds imports nothing (no pydantic on every Tab press).
from devstack.api.kinds import BUILTIN_PROVIDERS
from devstack.cli.common import Context


def _manifest(ctx: click.Context) -> dict[str, Any]:
    """The manifest as plain data, or {} when it cannot be read."""
    try:
        import yaml

        from devstack.config.discovery import find_manifest

        obj = ctx.find_object(Context)
        file = (obj.file if obj else None) or ctx.find_root().params.get("file")
        text = find_manifest(file).read_text(encoding="utf-8")
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


def _section(ctx: click.Context, key: str) -> list[str]:
    section = _manifest(ctx).get(key)
    return sorted(str(name) for name in section) if isinstance(section, dict) else []


def _matching(names: list[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def services(ctx: click.Context, _: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _matching(_section(ctx, "services"), incomplete)


def environments(ctx: click.Context, _: click.Parameter, incomplete: str) -> list[CompletionItem]:
    declared = _section(ctx, "environments")
    names = declared if "dev" in declared else ["dev", *declared]  # dev always exists
    return _matching(names, incomplete)


def backing(ctx: click.Context, _: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _matching(_section(ctx, "backing"), incomplete)


def providers(ctx: click.Context, _: click.Parameter, incomplete: str) -> list[CompletionItem]:
    names = sorted({*_section(ctx, "providers"), *BUILTIN_PROVIDERS})
    return _matching(names, incomplete)


def scale_pairs(ctx: click.Context, _: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`SERVICE=` for `devstack scale`: the count is the user's to type."""
    if "=" in incomplete:
        return []
    return _matching([f"{name}=" for name in _section(ctx, "services")], incomplete)
