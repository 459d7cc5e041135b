"""DS113: a variable the service's code reads (or its image sets) that its contract does
not declare. Only services that declare a contract (`needs:`) are audited: the rule
completes a contract, it does not ask every service for one.

Detection is deliberately cheap and literal: in the Python files the service's command
names, `os.environ["X"]`, `os.environ.get("X")`, `os.getenv("X")` (and the same through
`from os import environ, getenv`); in its Dockerfile, `ENV` lines (but not an interpreter's or the system's own: PATH,
PYTHON*, LC_*...). A name computed at run
time (`os.environ[name]`) is not followed.
"""

from __future__ import annotations

import ast
import shlex
from collections.abc import Iterator
from pathlib import Path

from devstack.lint.context import LintContext
from devstack.lint.dockerfile import logical_lines
from devstack.lint.files import read_text
from devstack.model.manifest import Service

# What an image sets for its interpreter or system, not the service's configuration.
IMAGE_INTERNALS = ("PATH", "HOME", "LANG", "TZ", "DEBIAN_FRONTEND")
IMAGE_INTERNAL_PREFIXES = ("PYTHON", "PIP_", "NODE_", "NPM_", "JAVA_", "LC_", "GO")

Read = tuple[str, int, int, bool]  # name, line, column, whether the code has a default


def check(ctx: LintContext) -> None:
    for name, service in ctx.loaded.stack.services.items():
        if not service.needs:
            continue
        field = ("services", name, "needs")
        for path in _python_files(ctx, service):
            text = read_text(path)
            for var, line, column, has_default in _reads(text) if text else ():
                if var in service.needs:
                    continue
                kind = "{type: str, optional: true}" if has_default else "str"
                ctx.report_file(
                    "DS113",
                    path,
                    line,
                    column,
                    field,
                    f"{name} reads {var}, which its contract (needs:) does not declare",
                    f"declare it: `{var}: {kind}` under services.{name}.needs "
                    "(or a closer type: url, port, int, bool, secret, enum:A,B)",
                )
        dockerfile = _dockerfile(ctx, service)
        text = read_text(dockerfile) if dockerfile else None
        for var, line, column in _env_lines(text) if text else ():
            if var in service.needs or var in IMAGE_INTERNALS:
                continue
            if var.startswith(IMAGE_INTERNAL_PREFIXES):
                continue
            assert dockerfile is not None
            ctx.report_file(
                "DS113",
                dockerfile,
                line,
                column,
                field,
                f"{name}'s image sets {var} (ENV), which its contract (needs:) does not declare",
                f"declare it: `{var}: {{type: str, optional: true}}` under services.{name}.needs",
            )


def _folder(ctx: LintContext, service: Service) -> Path | None:
    build = service.build_spec()
    if build is not None:
        return ctx.root / build.context
    if service.image is None:
        return ctx.root / service.workdir
    return None


def _python_files(ctx: LintContext, service: Service) -> list[Path]:
    """The `.py` files the command names, found in the workdir or build context."""
    folder = _folder(ctx, service)
    if folder is None or service.command is None:
        return []
    words = shlex.split(service.command) if isinstance(service.command, str) else service.command
    found = []
    for word in words:
        path = folder / word
        if word.endswith(".py") and path.is_file():
            found.append(path)
    return found


def _dockerfile(ctx: LintContext, service: Service) -> Path | None:
    build = service.build_spec()
    if build is None:
        return None
    return ctx.root / build.context / (build.dockerfile or "Dockerfile")


def _reads(text: str) -> Iterator[Read]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return  # not Python lint can read: the service's own problem
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, node.lineno, node.col_offset + 1, False
        elif isinstance(node, ast.Call) and _is_getter(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                has_default = len(node.args) > 1 or bool(node.keywords)
                yield first.value, node.lineno, node.col_offset + 1, has_default


def _is_environ(node: ast.expr) -> bool:
    """`os.environ` or a bare `environ` (from os import environ)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def _is_getter(node: ast.expr) -> bool:
    """`os.environ.get`, `environ.get`, `os.getenv` or a bare `getenv`."""
    if isinstance(node, ast.Attribute):
        if node.attr == "get":
            return _is_environ(node.value)
        return node.attr == "getenv" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "getenv"


def _env_lines(text: str) -> Iterator[tuple[str, int, int]]:
    """The names an `ENV` instruction sets: `ENV A=1 B=2` and the old `ENV A 1`."""
    for number, line in logical_lines(text):
        words = line.split()
        if words[0].upper() != "ENV" or len(words) < 2:
            continue
        pairs = words[1:] if "=" in words[1] else words[1:2]
        for word in pairs:
            name = word.split("=", 1)[0]
            if name.isidentifier():
                yield name, number, line.find(word) + 1
