"""YAML 1.2 (core schema) loading that remembers where every value was written.

We compose PyYAML's node graph and build plain data ourselves instead of using its
constructor: that is where file/line/column are still known, where alias expansion can be
capped (billion laughs), and where duplicate keys and exotic tags can be refused.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

Path = tuple[str | int, ...]

_T = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = _T + "str", _T + "int", _T + "float", _T + "bool", _T + "null"
MAP, SEQ, MERGE = _T + "map", _T + "seq", _T + "merge"

# Anchored with \Z: PyYAML's resolver calls `regexp.match(value)`.
_NULL = re.compile(r"(?:~|null|Null|NULL|)\Z")
_BOOL = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
_INT = re.compile(r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT = re.compile(
    r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
# YAML's printable set; checked up front so the error names the offending character.
_NON_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Line breaks as PyYAML and libyaml count them (marks must agree with our own offsets).
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# What may come between a collection's start (anchor and tag included) or its previous
# member and an alias member, then the alias `*name` itself.
# Possessive quantifiers: a `*` inside a comment or an anchor name is not an alias.
_ALIAS_TEXT = re.compile(r"(?:\s|#[^\n]*+|[-?:,\[{]|[&!][^\s,\[\]{}]*+)*(\*)[^\s,\[\]{}]+")


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema. PyYAML's own resolver is YAML 1.1, where `no` is false,
    `0755` is octal, `22:22` is a base-60 number and dates become datetimes."""


for _tag, _regexp, _first in (
    (BOOL, _BOOL, "tTfF"),
    (NULL, _NULL, ["~", "n", "N", ""]),
    (INT, _INT, "-+0123456789"),  # before FLOAT, whose pattern also matches "123"
    (FLOAT, _FLOAT, "-+.0123456789"),
    (MERGE, re.compile(r"<<\Z"), "<"),  # not in 1.2 core, but compose-era manifests use it
):
    _CoreResolver.add_implicit_resolver(_tag, _regexp, list(_first))


class _PyLoader(Reader, Scanner, Parser, Composer, _CoreResolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _CoreResolver.__init__(self)


_HAVE_LIBYAML = bool(yaml.__with_libyaml__)
if _HAVE_LIBYAML:  # libyaml's parser, as in yaml.CSafeLoader: much faster than pure Python
    from yaml._yaml import CParser

    class _CLoader(CParser, _CoreResolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _CoreResolver.__init__(self)


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class LoaderError(Exception):
    """A YAML document that cannot be read; carries a location when known."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


@dataclass(frozen=True)
class Override:
    """A value tagged `!override` (compose): it replaces, rather than merges with, the
    value it overrides. Only produced when `load_yaml(..., compose_tags=True)`."""

    value: Any


class _Reset:
    """A value tagged `!reset` (compose): the key is removed from what it overrides."""

    def __repr__(self) -> str:
        return "RESET"


RESET = _Reset()
COMPOSE_TAGS = ("!reset", "!override")


@dataclass
class LoadedDocument:
    data: Any
    file: str
    locations: dict[Path, Location] = field(default_factory=dict)
    key_locations: dict[Path, Location] = field(default_factory=dict)
    raw_text: dict[Path, str] = field(default_factory=dict)

    def locate(self, path: Path) -> Location | None:
        """Best location for path: the exact one, else the nearest ancestor's."""
        for end in range(len(path), -1, -1):
            found = self.locations.get(path[:end])
            if found is not None:
                return found
        return None


def format_path(path: Path) -> str:
    """('services','front','ports',0) -> 'services.front.ports[0]'; keys that are not
    identifier-like (contain '.' or spaces) are quoted as ["a.b"]."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part or re.search(r'[\s.\[\]"]', part):
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
        else:
            out += f".{part}" if out else part
    return out


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_T) :] if tag.startswith(_T) else tag


class _Text:
    """The source text, with index -> line/column for the few places marks are not enough."""

    def __init__(self, text: str, file: str) -> None:
        self.text, self.file = text, file
        self._starts: list[int] | None = None

    def location(self, index: int) -> Location:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in _BREAK.finditer(self.text))]
        line = bisect_right(self._starts, index)
        return Location(self.file, line, index - self._starts[line - 1] + 1)


# key location, value node, value location, the alias being expanded (if any)
_Pair = tuple[Location, Node, Location, Location | None]
_Via = Location | None  # where the alias being expanded was used; None outside expansions


class _Walker:
    """Node graph -> plain data, recording locations; counts nodes to stop alias bombs."""

    def __init__(
        self, source: _Text, max_nodes: int, max_depth: int, compose_tags: bool = False
    ) -> None:
        self.source, self.file = source, source.file
        self.compose_tags = compose_tags
        self.max_nodes, self.max_depth = max_nodes, max_depth
        self.doc = LoadedDocument(None, source.file)
        self.nodes = 0
        self.active: set[int] = set()  # collections on the current path, to catch cycles
        self.marks: dict[int, Location] = {}  # aliases revisit nodes: build each Location once

    def at(self, node: Node) -> Location:
        found = self.marks.get(id(node))
        if found is None:
            mark = node.start_mark
            found = self.marks[id(node)] = Location(self.file, mark.line + 1, mark.column + 1)
        return found

    def tick(self, node: Node, via: _Via) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            if via is not None:
                bomb = f"alias expansion exceeds {self.max_nodes} nodes (a YAML alias bomb?)"
                raise LoaderError(bomb, via)
            raise LoaderError(f"document has more than {self.max_nodes} nodes", self.at(node))

    def member(self, node: Node, cursor: int, via: _Via) -> tuple[Location, _Via, int]:
        """(where a collection member was written, its `via`, the cursor after it).

        Composition replaces `*name` by the anchored node itself, so the only trace of an
        alias is a member starting before its predecessor ended (anchors come first): we
        then find the `*name` text after the cursor to report where the alias was used.
        """
        if via is not None:  # inside an expansion: keep reporting the outermost alias
            return self.at(node), via, cursor
        if node.start_mark.index >= cursor and id(node) not in self.active:
            return self.at(node), None, node.end_mark.index
        found = _ALIAS_TEXT.match(self.source.text, cursor)
        if found is None:  # pragma: no cover - defensive: marks disagree with the text
            return self.at(node), self.at(node), cursor
        where = self.source.location(found.start(1))
        return where, where, found.end()

    def visit(self, node: Node, path: Path, depth: int, loc: Location, via: _Via) -> Any:
        self.tick(node, via)
        if depth > self.max_depth:
            raise LoaderError(f"nesting deeper than {self.max_depth} levels", loc)
        self.doc.locations[path] = loc
        if self.compose_tags and node.tag in COMPOSE_TAGS:
            if node.tag == "!reset":
                return RESET
            # Read the node as if untagged, then mark it: the merge replaces with it.
            node.tag = MAP if isinstance(node, MappingNode) else SEQ
            if isinstance(node, ScalarNode):
                node.tag = STR
            return Override(self.visit(node, path, depth, loc, via))
        if isinstance(node, ScalarNode):
            value = self.scalar(node, loc)
            if not node.style and not isinstance(value, str):  # plain: keep the text as written
                self.doc.raw_text[path] = node.value
            return value
        if id(node) in self.active:
            raise LoaderError("recursive alias: a collection contains itself", via or loc)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self.check_tag(node, SEQ, "sequence")
                out: list[Any] = []
                cursor = node.start_mark.index
                for index, item in enumerate(node.value):
                    item_loc, item_via, cursor = self.member(item, cursor, via)
                    out.append(self.visit(item, (*path, index), depth + 1, item_loc, item_via))
                return out
            mapping: dict[str, Any] = {}
            assert isinstance(node, MappingNode)  # the only other kind of node
            pairs = self.pairs(node, depth, via, frozenset())
            for key, (key_loc, value, value_loc, value_via) in pairs.items():
                self.doc.key_locations[(*path, key)] = key_loc
                mapping[key] = self.visit(value, (*path, key), depth + 1, value_loc, value_via)
            return mapping
        finally:
            self.active.discard(id(node))

    def pairs(
        self, node: MappingNode, depth: int, via: _Via, merging: frozenset[int]
    ) -> dict[str, _Pair]:
        """The mapping's entries with `<<` applied: own keys win, then earlier merged mappings."""
        self.check_tag(node, MAP, "mapping")
        own: dict[str, _Pair] = {}
        merged: list[dict[str, _Pair]] = []
        merge_at: Location | None = None
        cursor = node.start_mark.index
        for key_node, value_node in node.value:
            key_loc, key_via, cursor = self.member(key_node, cursor, via)
            self.tick(key_node, key_via)
            value_loc, value_via, cursor = self.member(value_node, cursor, via)
            if key_node.tag == MERGE and isinstance(key_node, ScalarNode):
                if merge_at is not None:
                    raise LoaderError(
                        f"duplicate key '<<' (first at line {merge_at.line})", key_loc
                    )
                merge_at = key_loc
                inner = merging | {id(node)}
                merged += self.merge_sources(value_node, depth, value_loc, value_via, inner)
                continue
            if not isinstance(key_node, ScalarNode):
                raise LoaderError("a mapping key must be a scalar", key_loc)
            # `8080:` or `true:` become the text as written: manifests index by string
            value = self.scalar(key_node, key_loc)
            key = value if isinstance(value, str) else str(key_node.value)
            if key in own:
                first = own[key][0].line
                raise LoaderError(f"duplicate key {key!r} (first at line {first})", key_loc)
            own[key] = (key_loc, value_node, value_loc, value_via)
        for source in merged:
            for key, pair in source.items():
                own.setdefault(key, pair)
        return own

    def merge_sources(
        self, node: Node, depth: int, loc: Location, via: _Via, merging: frozenset[int]
    ) -> list[dict[str, _Pair]]:
        items: list[tuple[Node, Location, _Via]] = [(node, loc, via)]
        if isinstance(node, SequenceNode):  # `<<: [*a, *b]`
            self.tick(node, via)
            self.check_tag(node, SEQ, "sequence")
            items, cursor = [], node.start_mark.index
            for item in node.value:
                item_loc, item_via, cursor = self.member(item, cursor, via)
                items.append((item, item_loc, item_via))
        sources = []
        for item, item_loc, item_via in items:
            if not isinstance(item, MappingNode):
                raise LoaderError("'<<' (merge) needs a mapping or a list of mappings", item_loc)
            if id(item) in merging:
                raise LoaderError("recursive alias: a mapping merges itself", item_via or item_loc)
            if depth + 1 > self.max_depth:
                raise LoaderError(f"nesting deeper than {self.max_depth} levels", item_loc)
            self.tick(item, item_via)
            sources.append(self.pairs(item, depth + 1, item_via, merging))
        return sources

    def check_tag(self, node: Node, expected: str, kind: str) -> None:
        if node.tag != expected:
            raise LoaderError(f"unsupported tag {_tag_name(node.tag)} on a {kind}", self.at(node))

    def scalar(self, node: ScalarNode, loc: Location) -> Any:
        tag, text = node.tag, node.value
        if tag in (STR, MERGE):  # a `<<` that is not a key is just text
            return text
        if tag == NULL and _NULL.match(text):
            return None
        if tag == BOOL and _BOOL.match(text):
            return text[0] in "tT"
        if tag == INT and _INT.match(text):
            try:
                if text.startswith(("0o", "0x")):
                    return int(text[2:], 8 if text[1] == "o" else 16)
                return int(text)
            except ValueError:  # Python refuses to parse decimal ints over 4300 digits
                raise LoaderError("integer too large", loc) from None
        if tag == FLOAT and _FLOAT.match(text):
            if text.lower().endswith("inf"):
                return -math.inf if text.startswith("-") else math.inf
            return math.nan if text.lower() == ".nan" else float(text)
        if tag in (NULL, BOOL, INT, FLOAT):  # explicitly tagged, e.g. `!!int abc`
            raise LoaderError(f"{text!r} is not a valid {_tag_name(tag)}", loc)
        raise LoaderError(f"unsupported tag {_tag_name(tag)} on a scalar", loc)


def _decode(text: str | bytes, file: str, max_bytes: int) -> str:
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise LoaderError(
            f"file is {size} bytes, over the {max_bytes}-byte limit", Location(file, 1, 1)
        )
    if isinstance(text, bytes):
        raw = text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            prefix = _Text(raw[: exc.start].decode("utf-8"), file)
            where = prefix.location(len(prefix.text))
            raise LoaderError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", where) from None
    text = text.removeprefix("\ufeff")  # libyaml does not count a BOM in its marks, PyYAML does
    bad_char = _NON_PRINTABLE.search(text)
    if bad_char:
        where = _Text(text, file).location(bad_char.start())
        raise LoaderError(f"invalid character U+{ord(bad_char.group()):04X} in YAML", where)
    return text


def _translate(exc: yaml.YAMLError, source: _Text) -> LoaderError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = Location(source.file, mark.line + 1, mark.column + 1) if mark else None
        if exc.context == "expected a single document in the stream":
            return LoaderError("expected a single YAML document, found several", where)
        message = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context:
            at = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            message += f" ({exc.context}{at})"
        return LoaderError(message, where)
    if isinstance(exc, yaml.reader.ReaderError):
        return LoaderError(f"unreadable YAML: {exc.reason}", source.location(exc.position))
    return LoaderError(f"invalid YAML: {exc}", Location(source.file, 1, 1))


def load_yaml(
    text: str | bytes,
    file: str,
    *,
    max_nodes: int = 100_000,
    max_depth: int = 200,
    max_bytes: int = 5 * 1024 * 1024,
    compose_tags: bool = False,
) -> LoadedDocument:
    """Parse one YAML 1.2 document into plain data, with the location of every value.

    `compose_tags`: accept compose's merge tags, `!reset` (-> RESET) and `!override`
    (-> Override(value)); other tags are still refused."""
    source = _Text(_decode(text, file, max_bytes), file)
    loader = _CLoader(source.text) if _HAVE_LIBYAML else _PyLoader(source.text)
    try:
        root = loader.get_single_node()
        walker = _Walker(source, max_nodes, max_depth, compose_tags)
        if root is None:  # empty document: still give errors about it a place to point at
            walker.doc.locations[()] = Location(file, 1, 1)
        else:
            walker.doc.data = walker.visit(root, (), 0, walker.at(root), None)
        return walker.doc
    except yaml.YAMLError as exc:
        raise _translate(exc, source) from None
    except RecursionError:  # pure-Python composer on deep input, or a huge max_depth
        raise LoaderError("document nested too deeply", Location(file, 1, 1)) from None
    finally:
        loader.dispose()
