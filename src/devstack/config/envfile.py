"""Parser for Docker Compose style `.env` files.

The syntax follows compose-go's `dotenv` package, so a `.env` written for
`docker compose` yields the same values here:

* blank lines and `#` comment lines are ignored; `export ` before a key is allowed;
* `KEY=value`: surrounding whitespace is trimmed and ` #` starts an inline comment;
* `KEY='value'`: literal, may span lines;
* `KEY="value"`: may span lines, understands `\\n \\t \\r \\\\ \\" \\$`;
* `KEY` alone: inherits the value from the caller's lookup, or is skipped;
* unquoted and double-quoted values are interpolated (see `interpolate`) against the
  variables defined earlier in the file, then the caller's lookup.

Entries are returned in file order, duplicates included, each with the line where it
starts, so that callers can report precise locations and apply "last one wins".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devstack.config.interpolate import InterpolationError, Lookup, interpolate

if TYPE_CHECKING:
    import pathlib

__all__ = ["EnvEntry", "EnvFileError", "parse_env_file", "parse_env_text"]


@dataclass(frozen=True)
class EnvEntry:
    name: str
    value: str
    line: int  # 1-based line where the entry starts


class EnvFileError(Exception):
    """A syntax or interpolation error, located at `file:line`."""

    def __init__(self, message: str, file: str, line: int) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.message = message
        self.file = file
        self.line = line


_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Horizontal whitespace only: a newline always ends an unquoted statement.
_WS = " \t\f\v"
_EXPORT = "export"
# Escapes understood inside double quotes. `\$` becomes `$$` so that interpolation,
# which runs afterwards on the unescaped text, produces a literal `$`.
_DOUBLE_QUOTE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$$"}


def _key_error(key: str) -> str:
    if not key:
        return "missing variable name before '='"
    message = f"invalid variable name {key!r}"
    if ":" in key:
        # compose-go's parser also accepts YAML-style `KEY: value`; we reject it so a
        # typo cannot silently become a variable, and say why.
        message += " (use KEY=VALUE; the YAML-style 'KEY: VALUE' form is not supported)"
    return message


def _decode_double_quoted(raw: str) -> str:
    """Apply the double-quote escapes, yielding a template ready for interpolation."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            # An unknown escape keeps its backslash, as in a shell's double quotes
            # (compose-go drops it, which mangles Windows paths such as "C:\Users").
            out.append(_DOUBLE_QUOTE_ESCAPES.get(nxt, char + nxt))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _find_closing_quote(text: str, start: int, quote: str) -> int:
    """Index of the quote closing the one at `start`, or -1 when it is never closed."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\":
            # Skip the escaped character, so `\"` and `\\"` are both handled right.
            i += 2
            continue
        if char == quote:
            return i
        i += 1
    return -1


def _strip_inline_comment(value: str) -> str:
    cut = value.find(" #")
    if cut != -1:
        value = value[:cut]
    return value.rstrip(_WS)


def parse_env_text(text: str, file: str, lookup: Lookup | None = None) -> list[EnvEntry]:
    """Parse `.env` content; `file` is only used in error messages."""
    # Tolerate a BOM and Windows line endings: editors add them, and a stray "\r"
    # at the end of every value would be an invisible, baffling bug.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    entries: list[EnvEntry] = []
    defined: dict[str, str] = {}

    def scoped_lookup(name: str) -> str | None:
        # Earlier definitions in this file win over the caller's lookup (compose-go
        # prefers the process environment); this keeps a file self-consistent.
        if name in defined:
            return defined[name]
        return lookup(name) if lookup is not None else None

    def expand(template: str, key: str, line: int) -> str:
        try:
            return interpolate(template, scoped_lookup)
        except InterpolationError as exc:
            raise EnvFileError(f"in value of {key}: {exc}", file, line) from exc

    def add(key: str, value: str, line: int) -> None:
        entries.append(EnvEntry(key, value, line))
        defined[key] = value

    pos = 0
    line = 1
    length = len(text)
    while pos < length:
        eol = text.find("\n", pos)
        if eol == -1:
            eol = length
        start_line = line
        body = text[pos:eol].lstrip(_WS)
        body_start = eol - len(body)
        # By default the statement ends with its line; a quoted value moves these on.
        next_pos = eol + 1
        line += 1

        if not body.strip(_WS) or body.startswith("#"):
            pos = next_pos
            continue

        # `export` must be followed by whitespace and something else: `exportFOO=1` is
        # the key `exportFOO`, and a lone `export` is a bare key named "export".
        if body.startswith(_EXPORT) and body[len(_EXPORT) : len(_EXPORT) + 1] in (" ", "\t"):
            stripped = body[len(_EXPORT) :].lstrip(_WS)
            if stripped and not stripped.startswith("#"):
                body_start += len(body) - len(stripped)
                body = stripped

        equals = body.find("=")
        if equals == -1:
            # A bare `KEY` inherits from the caller's environment, like `docker run -e`.
            key = _strip_inline_comment(body)
            if not _KEY_RE.fullmatch(key):
                raise EnvFileError(_key_error(key), file, start_line)
            inherited = lookup(key) if lookup is not None else None
            if inherited is not None:
                add(key, inherited, start_line)
            pos = next_pos
            continue

        key = body[:equals].strip(_WS)
        if not _KEY_RE.fullmatch(key):
            raise EnvFileError(_key_error(key), file, start_line)

        value_start = body_start + equals + 1
        while value_start < eol and text[value_start] in _WS:
            value_start += 1
        quote = text[value_start] if value_start < eol else ""

        if quote in ("'", '"'):
            close = _find_closing_quote(text, value_start, quote)
            if close == -1:
                kind = "single" if quote == "'" else "double"
                raise EnvFileError(f"unterminated {kind}-quoted value for {key}", file, start_line)
            raw = text[value_start + 1 : close]
            # Continue after the line holding the closing quote.
            line = start_line + raw.count("\n") + 1
            after_eol = text.find("\n", close)
            if after_eol == -1:
                after_eol = length
            trailing = text[close + 1 : after_eol].strip(_WS)
            if trailing and not trailing.startswith("#"):
                raise EnvFileError(
                    f"unexpected text after the closing quote of {key}: {trailing!r}",
                    file,
                    line - 1,
                )
            next_pos = after_eol + 1
            # Single quotes are fully literal: no escapes, no interpolation.
            value = raw if quote == "'" else expand(_decode_double_quoted(raw), key, start_line)
        else:
            # Like compose-go, leading whitespace goes first, so `KEY= #x` is "#x":
            # only a `#` preceded by a space inside the value starts a comment.
            value = expand(_strip_inline_comment(text[value_start:eol]), key, start_line)

        add(key, value, start_line)
        pos = next_pos
    return entries


def parse_env_file(path: pathlib.Path, lookup: Lookup | None = None) -> list[EnvEntry]:
    """Reads the file (UTF-8; a UTF-8 BOM is skipped) and parses it.

    OSError propagates: the caller reports a missing file in its own terms.
    """
    # utf-8-sig drops a leading BOM, which Windows editors like to write.
    text = path.read_text(encoding="utf-8-sig")
    return parse_env_text(text, str(path), lookup)
