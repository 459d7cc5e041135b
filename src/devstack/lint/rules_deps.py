"""DS111/DS112: dependencies a service's folder declares without pinning them.

A service's folder is its build context (containers) or its workdir (host processes);
only its top level is read, where package managers keep their manifests. go.mod with
go.sum is pinned by construction and needs no rule.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from devstack.lint.context import FieldPath, LintContext, build_path
from devstack.lint.files import read_text

PY_LOCKS = ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml", "Pipfile.lock")
JS_LOCKS = (
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
)
_REQ_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?")
_EXACT = re.compile(r"===?\s*[^\s,;*]+(\s*;.*)?$")  # `==1.2.3`, not `==1.*`
_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+([-+][\w.-]+)?$")
_LOCAL_SPECS = ("file:", "link:", "workspace:", "npm:")
REQ_FIX = (
    "pin it with `==` (generate the file with `pip-compile`, `uv pip compile` or "
    "`pip freeze`), or add `--hash=` lines"
)


def check(ctx: LintContext) -> None:
    seen: set[Path] = set()
    for name, service in ctx.loaded.stack.services.items():
        build = service.build_spec()
        if build is not None:
            folder, field = ctx.root / build.context, build_path(name, service)
        elif service.image is None:
            folder = ctx.root / service.workdir
            explicit = "workdir" in service.model_fields_set
            field = ("services", name, "workdir") if explicit else ("services", name)
        else:
            continue
        folder = folder.resolve()
        if folder in seen or not folder.is_dir():
            continue
        seen.add(folder)
        _requirements(ctx, folder, field)
        _pyproject(ctx, folder, field)
        _pipfile(ctx, folder, field)
        _package_json(ctx, folder, field)


def _requirements(ctx: LintContext, folder: Path, field: FieldPath) -> None:
    for path in sorted(folder.glob("requirements*.txt")):
        text = read_text(path)
        if text is None:
            continue
        for number, line in _joined(text):
            spec = line.split(" #", 1)[0].strip()
            if not spec or spec.startswith(("#", "-")) or "--hash" in spec:
                continue  # comments, options (-r, -c, -e, --index-url), hashed lines
            requirement = spec.split("--", 1)[0].strip()
            if " @ " in requirement or "://" in requirement or requirement[:1] in "./":
                continue  # a direct reference or a local path names one artifact
            name = _REQ_NAME.match(requirement)
            rest = requirement[name.end() :].strip() if name else requirement
            if _EXACT.match(rest):
                continue
            column = line.find(spec[:1]) + 1
            ctx.report_file(
                "DS111",
                path,
                number,
                column,
                field,
                f"requirement {requirement!r} is not pinned to one version",
                REQ_FIX,
            )


def _joined(text: str) -> list[tuple[int, str]]:
    """(first line number, text) per requirement, `\\` continuations joined."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        out.append((start, " ".join([*pending, raw])))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out


def _has_any(folder: Path, names: tuple[str, ...]) -> bool:
    return any((folder / name).exists() for name in names)


def _pyproject(ctx: LintContext, folder: Path, field: FieldPath) -> None:
    path = folder / "pyproject.toml"
    text = read_text(path)
    if text is None:
        return
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    project = _table(data, "project")
    poetry = _table(_table(_table(data, "tool"), "poetry"), "dependencies")
    listed = project.get("dependencies", [])
    declared = [str(d) for d in listed] if isinstance(listed, list) else []
    declared += [name for name in poetry if name != "python"]
    locked = _has_any(folder, PY_LOCKS) or any(folder.glob("pylock.*.toml"))
    if not declared or locked or any(folder.glob("requirements*.txt")):
        return
    ctx.report_file(
        "DS112",
        path,
        _line_of(text, r"^\s*(dependencies\s*=|\[tool\.poetry\.dependencies\])"),
        1,
        field,
        f"pyproject.toml declares {len(declared)} dependencies and there is no lock file",
        "commit a lock file (`uv lock`, `poetry lock` or `pdm lock`) and install from it "
        "in the build",
    )


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    """A TOML table, or an empty one when it is missing or not a table."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _pipfile(ctx: LintContext, folder: Path, field: FieldPath) -> None:
    path = folder / "Pipfile"
    if path.is_file() and not (folder / "Pipfile.lock").exists():
        ctx.report_file(
            "DS112",
            path,
            1,
            1,
            field,
            "Pipfile has no Pipfile.lock",
            "run `pipenv lock`, commit Pipfile.lock and install with `pipenv install --deploy`",
        )


def _package_json(ctx: LintContext, folder: Path, field: FieldPath) -> None:
    path = folder / "package.json"
    text = read_text(path)
    if text is None or _has_any(folder, JS_LOCKS):
        return
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        return
    ranged: list[tuple[str, str]] = []
    for section in ("dependencies", "devDependencies", "optionalDependencies"):
        deps = data.get(section) if isinstance(data, dict) else None
        for name, spec in (deps or {}).items() if isinstance(deps, dict) else ():
            if isinstance(spec, str) and not (
                _SEMVER.match(spec.strip()) or spec.startswith(_LOCAL_SPECS)
            ):
                ranged.append((name, spec))
    if not ranged:
        return
    shown = ", ".join(f"{n} {s or '(any)'}" for n, s in ranged[:3])
    more = f" and {len(ranged) - 3} more" if len(ranged) > 3 else ""
    ctx.report_file(
        "DS112",
        path,
        _line_of(text, rf"^\s*{re.escape(json.dumps(ranged[0][0]))}\s*:"),
        1,
        field,
        f"package.json allows version ranges ({shown}{more}) and there is no lock file",
        "commit the lock file your package manager writes (package-lock.json, yarn.lock, "
        "pnpm-lock.yaml) and build with `npm ci` (or its equivalent)",
    )


def _line_of(text: str, pattern: str) -> int:
    found = re.search(pattern, text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else 1
