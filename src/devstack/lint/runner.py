"""Runs every rule over a loaded stack and returns the findings, sorted by location."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from devstack.config.loader import LoadedStack
from devstack.lint import (
    rules_containers,
    rules_contracts,
    rules_deps,
    rules_env,
    rules_envfiles,
    rules_images,
)
from devstack.lint.context import LintContext
from devstack.lint.findings import RULES, Finding
from devstack.lint.gitignore import GitIgnore

CHECKS: tuple[Callable[[LintContext], None], ...] = (
    rules_containers.check,
    rules_env.check,
    rules_images.check,
    rules_envfiles.check,
    rules_deps.check,
    rules_contracts.check,
)


def environments_of(loaded: LoadedStack) -> tuple[str, ...]:
    """Every environment the stack can run in: the declared ones, and `dev`."""
    return tuple(sorted(set(loaded.stack.environments) | {"dev"}))


def lint(
    loaded: LoadedStack,
    host_env: Mapping[str, str],
    *,
    environments: Collection[str] | None = None,
    rules: Collection[str] | None = None,
    git: GitIgnore | None = None,
    cwd: Path | None = None,
) -> list[Finding]:
    """The stack's findings. `environments` limits the environment layers audited (all by
    default); unknown names raise UnknownName with the known ones (see Stack.environment)."""
    chosen = tuple(environments) if environments is not None else environments_of(loaded)
    for name in chosen:
        loaded.stack.environment(name)
    ctx = LintContext(loaded, chosen, host_env, git or GitIgnore(), cwd or Path.cwd())
    for check in CHECKS:
        check(ctx)
    keep = set(RULES) if rules is None else set(rules)
    unique: dict[tuple[str, str, str], Finding] = {}
    for finding in ctx.findings:
        # One place, one message: env files shared by environments, contexts shared by
        # services and images checked per environment would otherwise repeat.
        key = (finding.rule.id, str(finding.location), finding.message)
        if finding.rule.id in keep:
            unique.setdefault(key, finding)
    return sorted(unique.values(), key=lambda f: f.sort_key)
