"""A small YAML writer for generated manifests: block style, key order kept, comments.

PyYAML's dumper cannot place comments and re-orders nothing we ask it to keep, so the
importer writes its own YAML. Strings are quoted whenever YAML 1.2 could read them as
anything but that string (a number, a boolean, null) or when they hold characters that
have a meaning in YAML; everything else is written plain, as a person would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

Path = tuple[str | int, ...]

# Plain scalars we are sure YAML reads back as the same string.
_PLAIN = re.compile(
    r"^(?:[A-Za-z0-9_./]|-(?=[A-Za-z]))[A-Za-z0-9_./@+:-]*(?: [A-Za-z0-9_./@+:-]+)*$"
)
# What YAML 1.2 or 1.1 (older tools) would read as a boolean, null or number.
_NOT_PLAIN = re.compile(
    r"^(?:true|false|yes|no|on|off|y|n|null|~|[-+]?(?:\.?[0-9][0-9_]*)(?:[.:][0-9_]*)*(?:e[-+]?[0-9]+)?"
    r"|0x[0-9a-f]+|0o[0-7]+|[-+]?\.inf|\.nan|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)$",
    re.IGNORECASE,
)
FLOW_WIDTH = 72  # short lists of scalars read better on one line


def scalar(value: Any) -> str:
    """One scalar as YAML text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    mapping_like = ": " in text or text.endswith(":")  # `a: b` and `a:` read as a mapping
    if _PLAIN.match(text) and not _NOT_PLAIN.match(text) and not mapping_like:
        return text
    return _quoted(text)


# Printable in YAML and not a line break (a break inside quotes would be folded away).
_ESCAPE = re.compile("[^\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes, plus `\\u` for what YAML cannot print.
    Text with `"` or `\\` in it reads better single-quoted, where nothing is escaped."""
    if ('"' in text or "\\" in text) and "'" not in text and not _ESCAPE.search(text):
        return f"'{text}'"
    body = json.dumps(text, ensure_ascii=False)
    return _ESCAPE.sub(lambda m: _escape(m.group()), body)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _flow(items: Sequence[Any]) -> str | None:
    if any(isinstance(item, Mapping | list) for item in items):
        return None
    text = "[" + ", ".join(scalar(item) for item in items) + "]"
    return text if len(text) <= FLOW_WIDTH else None


class Document:
    """Plain data plus comments attached to paths; rendered by `render()`."""

    def __init__(self, data: dict[str, Any], header: list[str] | None = None) -> None:
        self.data = data
        self.header = header or []
        self.comments: dict[Path, list[str]] = {}  # written on the lines above the key

    def comment(self, path: Path, text: str) -> None:
        lines = self.comments.setdefault(path, [])
        if text not in lines:
            lines.append(text)

    def render(self) -> str:
        out = [f"# {line}" if line else "#" for line in self.header]
        if out:
            out.append("")
        top_level = list(self.data.items())
        for index, (key, value) in enumerate(top_level):
            if index:
                out.append("")  # a blank line between top-level sections
            self._entry(out, (key,), key, value, 0)
        return "\n".join(out) + "\n"

    def _comments(self, out: list[str], path: Path, indent: int) -> None:
        for line in self.comments.get(path, []):
            out.append(" " * indent + f"# {line}")

    def _entry(self, out: list[str], path: Path, key: str, value: Any, indent: int) -> None:
        pad = " " * indent
        self._comments(out, path, indent)
        head = f"{pad}{scalar(key)}:"
        if isinstance(value, Mapping):
            if not value:
                out.append(f"{head} {{}}")
                return
            out.append(head)
            for sub_key, sub_value in value.items():
                self._entry(out, (*path, sub_key), sub_key, sub_value, indent + 2)
        elif isinstance(value, list):
            flow = _flow(value)
            if flow is not None and not any((*path, i) in self.comments for i in range(len(value))):
                out.append(f"{head} {flow}")
                return
            out.append(head)
            for index, item in enumerate(value):
                self._item(out, (*path, index), item, indent + 2)
        else:
            out.append(f"{head} {scalar(value)}")

    def _item(self, out: list[str], path: Path, value: Any, indent: int) -> None:
        pad = " " * indent
        self._comments(out, path, indent)
        if isinstance(value, Mapping) and value:
            first = True
            for key, sub in value.items():
                lines: list[str] = []
                self._entry(lines, (*path, key), key, sub, indent + 2)
                if first:
                    lines[0] = f"{pad}- " + lines[0].lstrip()
                    first = False
                out.extend(lines)
        elif isinstance(value, list) and value:
            flow = _flow(value)
            out.append(f"{pad}- {flow}" if flow else f"{pad}- {json.dumps(value)}")
        elif isinstance(value, Mapping):
            out.append(f"{pad}- {{}}")
        else:
            out.append(f"{pad}- {scalar(value)}")
