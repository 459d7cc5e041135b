"""Docker Compose style variable interpolation (``$VAR``, ``${VAR:-default}``, ...).

The accepted syntax follows compose-go's ``template`` package so that a value written
for ``docker compose`` means the same thing here:

* ``$$`` is a literal ``$``; a ``$`` that cannot start a reference is kept as is.
* ``$NAME`` / ``${NAME}``; the braced form also accepts dotted names such as
  ``${services.web.url}``.
* ``${NAME:-default}``, ``${NAME-default}``, ``${NAME:?message}``, ``${NAME?message}``,
  ``${NAME:+alt}``, ``${NAME+alt}``, where the default/alt/message may itself contain
  references, nested to any depth.

The template is parsed into a small tree first, so that syntax errors are reported
even in branches that evaluation would skip, and so that :func:`references` can list
every name without needing values. This module performs no I/O: values come from the
caller's ``lookup`` function.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["InterpolationError", "Lookup", "interpolate", "references"]

Lookup: TypeAlias = Callable[[str], str | None]
"""Returns a variable's value, or ``None`` when the name is not defined."""


class InterpolationError(Exception):
    """Raised for a malformed expression or a ${VAR:?message} whose variable is missing."""

    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.variable = variable


# Unbraced names never take dots: in `$HOME.x` the `.x` is ordinary text, as in a shell.
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Braced names may be dotted paths so config can refer to `${services.greeter.url}`.
# Because `-` is allowed inside a dotted segment, `${a.b-x}` reads as the name `a.b-x`;
# a default after a dotted name needs the `:-` form.
_BRACED_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*")
_OPERATOR_CHARS = "-?+"
# Defaults nest (`${A:-${B:-x}}`), parsed recursively: a cap keeps a hostile value from
# exhausting Python's stack (RecursionError) and yields a located manifest problem instead.
MAX_NESTING = 50


@dataclass(frozen=True, slots=True)
class _Ref:
    """One `$NAME` or `${NAME<op><arg>}` reference."""

    name: str
    # One of None, ":-", "-", ":?", "?", ":+", "+".
    op: str | None
    # The default / message / alternative, itself a parsed template.
    arg: tuple[_Node, ...]


_Node: TypeAlias = "str | _Ref"


def _invalid(template: str, start: int) -> InterpolationError:
    return InterpolationError(
        f"invalid interpolation format for '{_expression_text(template, start)}'"
    )


def _expression_text(template: str, start: int) -> str:
    """The text of the `${...}` expression starting at `start`, for error messages.

    Braces are balanced the way compose-go does it (each `${` opens, each `}` closes)
    so the message shows the whole offending expression; with no closing brace the
    rest of the template is shown.
    """
    depth = 0
    i = start
    while i < len(template):
        if template.startswith("$$", i):
            i += 2
            continue
        if template.startswith("${", i):
            depth += 1
            i += 2
            continue
        if template[i] == "}":
            depth -= 1
            if depth == 0:
                return template[start : i + 1]
        i += 1
    return template[start:]


def _parse(template: str, pos: int, nested: bool, depth: int = 0) -> tuple[list[_Node], int]:
    """Parse from `pos` until the end, or (when `nested`) until an unmatched `}`.

    Returns the nodes and the index where parsing stopped: `len(template)` at the
    end, or the index of the terminating `}` when nested (the caller consumes it and
    reports an error if it is missing).
    """
    nodes: list[_Node] = []
    literal: list[str] = []
    n = len(template)
    while pos < n:
        char = template[pos]
        if nested and char == "}":
            break
        if char != "$":
            literal.append(char)
            pos += 1
            continue
        nxt = template[pos + 1] if pos + 1 < n else ""
        if nxt == "$":
            literal.append("$")
            pos += 2
            continue
        if nxt == "{":
            ref, pos = _parse_braced(template, pos, depth)
        else:
            match = _NAME_RE.match(template, pos + 1)
            if match is None:
                # `$ `, `$1`, `$-` or a trailing `$`: compose leaves these alone.
                literal.append("$")
                pos += 1
                continue
            ref = _Ref(match.group(), None, ())
            pos = match.end()
        if literal:
            nodes.append("".join(literal))
            literal.clear()
        nodes.append(ref)
    if literal:
        nodes.append("".join(literal))
    return nodes, pos


def _parse_braced(template: str, start: int, depth: int) -> tuple[_Ref, int]:
    """Parse the `${...}` expression whose `$` is at `start`; return it and the end index."""
    if depth >= MAX_NESTING:
        raise InterpolationError(f"references nested deeper than {MAX_NESTING} levels")
    n = len(template)
    match = _BRACED_NAME_RE.match(template, start + 2)
    if match is None:
        raise _invalid(template, start)
    name = match.group()
    pos = match.end()
    if pos >= n:
        raise _invalid(template, start)
    char = template[pos]
    if char == "}":
        return _Ref(name, None, ()), pos + 1
    if char == ":" and pos + 1 < n and template[pos + 1] in _OPERATOR_CHARS:
        op = template[pos : pos + 2]
        pos += 2
    elif char in _OPERATOR_CHARS:
        op = char
        pos += 1
    else:
        raise _invalid(template, start)
    arg, pos = _parse(template, pos, nested=True, depth=depth + 1)
    if pos >= n:
        raise _invalid(template, start)
    return _Ref(name, op, tuple(arg)), pos + 1


def _render(nodes: tuple[_Node, ...] | list[_Node], lookup: Lookup) -> str:
    return "".join(node if isinstance(node, str) else _resolve(node, lookup) for node in nodes)


def _resolve(ref: _Ref, lookup: Lookup) -> str:
    # The looked-up value is inserted verbatim, never re-interpolated: a value that
    # happens to contain `${X}` must not change meaning (compose behaves the same).
    value = lookup(ref.name)
    op = ref.op
    if op is None:
        # compose warns about an unset variable and substitutes ""; callers that want
        # a warning can inspect references() themselves.
        return value or ""
    # The argument is rendered only when it is used, like a shell does, so that e.g.
    # `${A:-${B:?need B}}` only fails when A is also missing (compose-go renders it
    # eagerly and would fail even when A is set).
    if op == ":-":
        return value or _render(ref.arg, lookup)
    if op == "-":
        return _render(ref.arg, lookup) if value is None else value
    if op in (":?", "?"):
        missing = not value if op == ":?" else value is None
        if missing:
            message = _render(ref.arg, lookup)
            text = f"required variable {ref.name} is missing a value"
            if message:
                text = f"{text}: {message}"
            raise InterpolationError(text, variable=ref.name)
        return value or ""
    if op == ":+":
        return _render(ref.arg, lookup) if value else ""
    # op == "+"
    return _render(ref.arg, lookup) if value is not None else ""


def interpolate(template: str, lookup: Lookup) -> str:
    """Substitute every reference in `template` using `lookup`.

    Raises InterpolationError for malformed syntax (anywhere in the template, even
    in an unused default) or for a `?`/`:?` reference whose variable is missing.
    """
    if "$" not in template:
        # Fast path: most config strings contain no references at all.
        return template
    nodes, _ = _parse(template, 0, nested=False)
    return _render(nodes, lookup)


def references(template: str) -> list[str]:
    """Every variable name the template reads, in order of appearance, without duplicates.

    Names inside nested defaults/alternatives/messages are included (whether or not
    evaluation would reach them); `$$` escapes are not references. Raises
    InterpolationError on malformed input.
    """
    nodes, _ = _parse(template, 0, nested=False)
    seen: dict[str, None] = {}  # insertion-ordered set

    def walk(items: tuple[_Node, ...] | list[_Node]) -> None:
        for node in items:
            if isinstance(node, _Ref):
                seen.setdefault(node.name, None)
                walk(node.arg)

    walk(nodes)
    return list(seen)
