"""`devstack validate`: every problem of every phase in one run.

Loading stops at the first failing phase (a stack that fails its schema cannot be checked
for references, one with broken references cannot be resolved), which is right for `up`
but makes fixing a manifest a loop of one phase at a time. Here each phase reports what it
finds, then the entries it blamed (`services.api`, `environments.prod`...) are left out
and the next phase checks what remains:

  schema -> references (cross-field checks) -> per environment: env files, interpolation,
  required variables, providers (resolution)

A problem a later phase finds only because an entry was left out (`unknown service 'api'`
when `api` failed its schema) is not reported: it would blame the wrong line.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from devstack.config.extras import MissingExtra
from devstack.config.loader import (
    LoadedStack,
    _data_path,
    _display,
    _env_values_as_written,
    _problems_from_pydantic,
    check_semantics,
)
from devstack.config.problems import ManifestError, Problem
from devstack.config.yaml_loader import LoadedDocument, LoaderError, load_yaml
from devstack.model.manifest import Stack

# Sections whose entries can be left out one by one (the others are single fields).
ENTRY_SECTIONS = ("services", "environments", "backing", "providers", "volumes")
MAX_ROUNDS = 10  # reference checks rerun after each exclusion; a cycle needs a few


@dataclass
class Report:
    """What `validate` found: problems in order of phase, and what it could not check."""

    problems: list[Problem] = field(default_factory=list)
    stack: Stack | None = None  # the stack that was checked (None: not even the schema)
    display: str = ""
    environments: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # environment -> MissingExtra line
    unchecked: list[str] = field(default_factory=list)  # phases skipped, and why
    # environment -> how many contract violations its resolved config has (not problems
    # of the manifest: the config it declares breaks what a service needs)
    breaches: dict[str, int] = field(default_factory=dict)

    def add(self, found: list[Problem], excluded: set[tuple[str, str]]) -> None:
        for problem in found:
            if problem not in self.problems and not _about_excluded(problem, excluded):
                self.problems.append(problem)


def validate_manifest(path: Path, host_env: Mapping[str, str]) -> Report:
    """Check the manifest at `path` and every environment; never raises ManifestError."""
    from devstack.config.resolve import resolve

    report = Report(display=_display(path))
    doc = _document(path, report)
    if doc is None:
        return report
    data = _env_values_as_written(doc)
    if not isinstance(data, dict):
        return report
    excluded: set[tuple[str, str]] = set()
    stack = _schema(data, doc, report, excluded)
    if stack is None:
        return report
    loaded = LoadedStack(stack, path.resolve(), doc)
    for _ in range(MAX_ROUNDS):
        found = check_semantics(loaded)
        if not found:
            break
        report.add(found, excluded)
        # Knock-on problems (`${services.broken.url}` once `broken` is left out) are not
        # reported, but their entry is left out too: resolving it would need `broken`.
        # (Plain references, `depends_on` and `uses`, are dropped by `_without` instead.)
        own = [p for p in found if not _about_excluded(p, excluded)]
        blamed = {_entry(p.field) for p in found}
        if any(_entry(p.field) is None for p in own) or not blamed - excluded - {None}:
            # A problem outside any entry (or one that leaving entries out did not fix):
            # resolving would only repeat it.
            report.unchecked.append("environments: not resolved (see the problems above)")
            return report
        excluded |= {entry for entry in blamed if entry is not None}
        remaining = _without(data, excluded)
        try:
            loaded = LoadedStack(Stack.model_validate(remaining), path.resolve(), doc)
        except ValidationError:
            report.unchecked.append("environments: not resolved (see the problems above)")
            return report
    else:
        report.unchecked.append("environments: not resolved (see the problems above)")
        return report
    report.stack = loaded.stack
    report.environments = sorted(set(loaded.stack.environments) | {"dev"})
    for name in report.environments:
        try:
            state = resolve(loaded, name, host_env)
            count = sum(len(s.violations) for s in state.services.values())
            if count:
                report.breaches[name] = count
        except ManifestError as exc:
            report.add(exc.problems, excluded)
        except MissingExtra as exc:
            report.missing[name] = str(exc)
    return report


def _document(path: Path, report: Report) -> LoadedDocument | None:
    """The parsed YAML, or None with the problem reported (nothing else can be checked)."""
    display = report.display
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        report.problems.append(Problem(f"{display}: no such file (use -f to name the manifest)"))
        return None
    except OSError as exc:
        report.problems.append(Problem(f"{display}: cannot read: {exc.strerror}"))
        return None
    try:
        doc = load_yaml(raw, display)
    except LoaderError as exc:
        report.problems.append(Problem(exc.message, location=exc.location))
        return None
    if not isinstance(doc.data, dict):
        where = doc.locate(())
        message = "the manifest must be a mapping with name and services"
        report.problems.append(Problem(message, "", where))
        return None
    return doc


def _schema(
    data: dict[str, Any],
    doc: LoadedDocument,
    report: Report,
    excluded: set[tuple[str, str]],
) -> Stack | None:
    """The stack without the entries that fail the schema (their problems reported), or
    None when a problem is outside any entry (a bad `name`): nothing further is checked."""
    try:
        return Stack.model_validate(data)
    except ValidationError as exc:
        report.add(_problems_from_pydantic(exc, doc, data), excluded)
        paths = [_data_path(err["loc"], data) for err in exc.errors()]
    blamed = {(str(p[0]), str(p[1])) for p in paths if len(p) >= 2 and p[0] in ENTRY_SECTIONS}
    if len(blamed) < len({p[:2] for p in paths}):
        report.unchecked.append("references and environments: not checked (fix the above)")
        return None
    excluded |= blamed
    try:
        return Stack.model_validate(_without(data, excluded))
    except ValidationError:
        report.unchecked.append("references and environments: not checked (fix the above)")
        return None


def _without(data: dict[str, Any], excluded: set[tuple[str, str]]) -> dict[str, Any]:
    """`data` without the excluded entries, nor the references to them (a dependency on a
    left-out service, a left-out backing service in `uses`): what remains can be checked."""
    remaining = copy.deepcopy(data)
    for section, name in excluded:
        entries = remaining.get(section)
        if isinstance(entries, dict):
            entries.pop(name, None)
    gone = {name for _, name in excluded}
    for service in (remaining.get("services") or {}).values():
        if not isinstance(service, dict):
            continue
        for key in ("depends_on", "uses"):
            refs = service.get(key)
            if isinstance(refs, list):
                service[key] = [r for r in refs if r not in gone]
            elif isinstance(refs, dict):
                service[key] = {r: v for r, v in refs.items() if r not in gone}
    return remaining


def _entry(field_path: str) -> tuple[str, str] | None:
    """`services.api.env.X` -> ("services", "api"); None outside an entry."""
    section, _, rest = field_path.partition(".")
    if section not in ENTRY_SECTIONS or not rest:
        return None
    name = rest.split(".", 1)[0].split("[", 1)[0]
    return (section, name) if name else None


def _about_excluded(problem: Problem, excluded: set[tuple[str, str]]) -> bool:
    """A later phase's complaint that only exists because an entry was left out."""
    if _entry(problem.field) in excluded:
        return False  # the entry's own problem (reported by the phase that blamed it)
    return any(f"{name!r}" in problem.message for _, name in excluded)
