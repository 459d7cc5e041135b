"""YAML 1.2 loading with locations: resolution, locations, merges and hostile input."""

from __future__ import annotations

import contextlib
import math
import random
import time

import pytest

from devstack.config import yaml_loader
from devstack.config.yaml_loader import (
    LoadedDocument,
    LoaderError,
    Location,
    format_path,
    load_yaml,
)


@pytest.fixture(autouse=True, params=["libyaml", "pure-python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on both parsers: libyaml and PyYAML's pure-Python fallback."""
    if request.param == "libyaml":
        if not yaml_loader._HAVE_LIBYAML:
            pytest.skip("PyYAML built without libyaml")
    else:
        monkeypatch.setattr(yaml_loader, "_HAVE_LIBYAML", False)
    return str(request.param)


def load(text: str | bytes, **limits: int) -> LoadedDocument:
    return load_yaml(text, "stack.yaml", **limits)


def error(text: str | bytes, **limits: int) -> LoaderError:
    with pytest.raises(LoaderError) as info:
        load(text, **limits)
    return info.value


def at(line: int, column: int) -> Location:
    return Location("stack.yaml", line, column)


# --- YAML 1.2 core schema -------------------------------------------------------------


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "On"])
def test_yaml11_booleans_are_strings(word: str) -> None:
    doc = load(f"v: {word}\n")
    assert doc.data == {"v": word}
    assert doc.raw_text == {}


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False)],
)
def test_core_booleans(text: str, value: bool) -> None:
    doc = load(f"v: {text}\n")
    assert doc.data["v"] is value
    assert doc.raw_text[("v",)] == text


@pytest.mark.parametrize("text", ["~", "null", "Null", "NULL", ""])
def test_core_nulls(text: str) -> None:
    doc = load(f"v: {text}\n")
    assert doc.data == {"v": None}
    assert doc.raw_text[("v",)] == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0755", 755),  # decimal in 1.2; YAML 1.1 would say 493
        ("0o755", 493),
        ("0x1F", 31),
        ("+12", 12),
        ("-7", -7),
        ("0", 0),
    ],
)
def test_core_ints_keep_their_source_text(text: str, value: int) -> None:
    doc = load(f"MODE: {text}\n")
    assert doc.data["MODE"] == value
    assert type(doc.data["MODE"]) is int
    assert doc.raw_text[("MODE",)] == text


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.10", 1.1), ("1.", 1.0), (".5", 0.5), ("-2.5e3", -2500.0), ("1e3", 1000.0)],
)
def test_core_floats_keep_their_source_text(text: str, value: float) -> None:
    doc = load(f"VERSION: {text}\n")
    assert doc.data["VERSION"] == value
    assert type(doc.data["VERSION"]) is float
    assert doc.raw_text[("VERSION",)] == text


def test_infinities_and_nan() -> None:
    data = load("a: .inf\nb: -.Inf\nc: +.INF\nd: .nan\ne: .NaN\n").data
    assert data["a"] == math.inf
    assert data["b"] == -math.inf
    assert data["c"] == math.inf
    assert math.isnan(data["d"])
    assert math.isnan(data["e"])


@pytest.mark.parametrize(
    "text",
    [
        "22:22",  # base 60 in YAML 1.1
        "1_000",
        "0b101",
        "-0x1F",
        "2024-01-01",  # timestamps are not resolved
        "2024-01-01T10:00:00Z",
        "0o8",
        ".5.5",
        "1.2.3",
        "inf",
        "nan",
        "<<x",
    ],
)
def test_other_plain_scalars_are_strings(text: str) -> None:
    doc = load(f"v: {text}\n")
    assert doc.data == {"v": text}
    assert doc.raw_text == {}


def test_quoted_scalars_are_strings_without_raw_text() -> None:
    doc = load("a: '0755'\nb: \"true\"\nc: 'null'\n")
    assert doc.data == {"a": "0755", "b": "true", "c": "null"}
    assert doc.raw_text == {}


def test_explicit_standard_tags() -> None:
    doc = load("a: !!str 123\nb: !!int '12'\nc: !!float 1\nd: !!bool true\ne: !!null ''\n")
    assert doc.data == {"a": "123", "b": 12, "c": 1.0, "d": True, "e": None}
    assert type(doc.data["c"]) is float
    assert ("a",) not in doc.raw_text  # it is a string: nothing to remember
    assert load("!!map {a: !!seq [1]}\n").data == {"a": [1]}


def test_explicit_tag_with_an_invalid_value() -> None:
    err = error("a: 1\nb: !!bool yes\n")
    assert err.location == at(2, 4)
    assert "'yes' is not a valid !!bool" in err.message
    assert "!!int" in error("a: !!int 1.5\n").message


def test_huge_integer_is_a_loader_error() -> None:
    err = error("a: " + "9" * 5000 + "\n")
    assert "integer too large" in err.message
    assert err.location == at(1, 4)


# --- locations ------------------------------------------------------------------------

MANIFEST = """\
name: shop
services:
  front:
    image: nginx:1.25
    ports:
      - 8080:80
      - "443:443"
    env: {A: 1, B: two}
"""


def test_locations_of_nested_values_and_list_items() -> None:
    doc = load(MANIFEST)
    assert doc.file == "stack.yaml"
    assert doc.locations[()] == at(1, 1)
    assert doc.locations[("name",)] == at(1, 7)
    assert doc.locations[("services", "front")] == at(4, 5)
    assert doc.locations[("services", "front", "image")] == at(4, 12)
    assert doc.locations[("services", "front", "ports")] == at(6, 7)
    assert doc.locations[("services", "front", "ports", 0)] == at(6, 9)
    assert doc.locations[("services", "front", "ports", 1)] == at(7, 9)
    assert doc.locations[("services", "front", "env", "B")] == at(8, 20)
    assert doc.data["services"]["front"]["ports"] == ["8080:80", "443:443"]


def test_key_locations_point_at_the_key() -> None:
    doc = load(MANIFEST)
    assert doc.key_locations[("services",)] == at(2, 1)
    assert doc.key_locations[("services", "front")] == at(3, 3)
    assert doc.key_locations[("services", "front", "image")] == at(4, 5)
    assert doc.key_locations[("services", "front", "env", "B")] == at(8, 17)
    assert ("services", "front", "ports", 0) not in doc.key_locations  # list items have no key


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    doc = load(MANIFEST)
    assert doc.locate(("services", "front", "image")) == at(4, 12)
    assert doc.locate(("services", "front", "missing", 3)) == at(4, 5)
    assert doc.locate(("nope",)) == at(1, 1)
    assert doc.locate(()) == at(1, 1)


def test_raw_text_of_env_values() -> None:
    doc = load("env:\n  VERSION: 1.10\n  MODE: 0755\n  DEBUG: true\n  NAME: x\n")
    assert doc.raw_text == {
        ("env", "VERSION"): "1.10",
        ("env", "MODE"): "0755",
        ("env", "DEBUG"): "true",
    }


def test_non_string_keys_become_their_source_text() -> None:
    doc = load("8080: a\ntrue: b\n0x10: c\n1.50: d\n~: e\n")
    assert doc.data == {"8080": "a", "true": "b", "0x10": "c", "1.50": "d", "~": "e"}
    assert doc.key_locations[("0x10",)] == at(3, 1)


def test_non_scalar_keys_are_rejected() -> None:
    err = error("a: 1\n? [x, y]\n: 2\n")
    assert err.location == at(2, 3)
    assert "key must be a scalar" in err.message
    assert "key must be a scalar" in error("{a: 1}: 2\n").message


def test_alias_value_is_located_at_the_alias_and_its_contents_at_the_anchor() -> None:
    text = "base: &b\n  image: x\n# a comment with *stars\nsvc:\n  - &other 1\n  - *b\n"
    doc = load(text)
    assert doc.data["svc"] == [1, {"image": "x"}]
    assert doc.locations[("svc", 1)] == at(6, 5)  # where `*b` was written
    assert doc.locations[("svc", 1, "image")] == at(2, 10)  # where the value was written
    assert doc.key_locations[("svc", 1, "image")] == at(2, 3)


def test_aliased_collections_are_independent_copies() -> None:
    doc = load("a: &a [1]\nb: *a\n")
    doc.data["b"].append(2)
    assert doc.data == {"a": [1], "b": [1, 2]}


def test_columns_count_characters_and_crlf_counts_as_one_break() -> None:
    doc = load("é: ünïcödé\r\nb: [x, *y]\r\n".replace("*y", "y"))
    assert doc.locations[("é",)] == at(1, 4)
    assert doc.locations[("b", 1)] == at(2, 8)
    doc = load("ä: &a ö\r\nb: {x: *a}\r\n")
    assert doc.locations[("b", "x")] == at(2, 8)


def test_byte_order_mark_is_ignored() -> None:
    doc = load("\ufeffa: 1\nb: [2, *x]\n".replace("*x", "3"))
    assert doc.data == {"a": 1, "b": [2, 3]}
    assert doc.locations[("b", 1)] == at(2, 8)
    assert load("\ufeffa: 1\n".encode()).data == {"a": 1}


# --- merge keys -----------------------------------------------------------------------


def test_merge_key_explicit_keys_win() -> None:
    text = "base: &base\n  image: x\n  port: 80\nsvc:\n  port: 81\n  <<: *base\n"
    doc = load(text)
    assert doc.data["svc"] == {"port": 81, "image": "x"}
    assert doc.locations[("svc", "image")] == at(2, 10)  # located in the base
    assert doc.key_locations[("svc", "image")] == at(2, 3)
    assert doc.locations[("svc", "port")] == at(5, 9)


def test_merge_list_earlier_mappings_win() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n"
    assert load(text).data["c"] == {"x": 1, "y": 1, "z": 3}


def test_merge_of_inline_mapping_and_nested_merges() -> None:
    text = "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: [*b, {w: 0}]}\n"
    assert load(text).data["c"] == {"x": 1, "y": 2, "w": 0}


def test_quoted_merge_key_is_an_ordinary_key() -> None:
    assert load("'<<': 1\n").data == {"<<": 1}


@pytest.mark.parametrize("value", ["1", "[1, 2]", "[{a: 1}, x]"])
def test_merge_of_non_mapping_is_rejected(value: str) -> None:
    err = error(f"a:\n  <<: {value}\n")
    assert "merge" in err.message
    assert err.location is not None
    assert err.location.line == 2


def test_mapping_that_merges_itself_is_rejected() -> None:
    err = error("a: &a {x: 1, <<: *a}\n")
    assert "recursive" in err.message
    assert err.location == at(1, 18)


# --- duplicates, cycles and limits ----------------------------------------------------


def test_duplicate_key_names_both_lines() -> None:
    err = error("name: a\nservices: {}\nname: b\n")
    assert err.message == "duplicate key 'name' (first at line 1)"
    assert err.location == at(3, 1)
    assert str(err) == "stack.yaml:3:1: duplicate key 'name' (first at line 1)"


def test_duplicate_keys_in_nested_and_flow_mappings() -> None:
    assert error("a:\n  b: {x: 1, x: 2}\n").location == at(2, 13)
    # keys that differ as YAML scalars but have the same text still collide
    assert "duplicate key '1'" in error("1: a\n'1': b\n").message
    assert "duplicate key '<<'" in error("a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n").message


def test_billion_laughs_is_rejected_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    # CPU time, not wall time: the point is the work bounded (an expanded bomb takes
    # minutes), and a test worker waiting for a core is not the parser working.
    start = time.process_time()
    err = error("\n".join(lines) + "\n")
    assert time.process_time() - start < 1.0
    assert err.message == "alias expansion exceeds 100000 nodes (a YAML alias bomb?)"
    assert err.location is not None
    # the location is an alias occurrence, `*x` in the text
    source_line = lines[err.location.line - 1]
    assert source_line[err.location.column - 1] == "*"


def test_node_limit_is_configurable_and_counts_alias_visits() -> None:
    text = "a: &a [1, 2, 3, 4]\nb: [*a, *a, *a]\n"
    assert load(text, max_nodes=100).data["b"] == [[1, 2, 3, 4]] * 3
    err = error(text, max_nodes=15)
    assert "alias expansion exceeds 15 nodes" in err.message
    assert err.location == at(2, 9)  # the second `*a`


def test_merge_bomb_is_capped() -> None:
    lines = ["a0: &a0 {" + ", ".join(f"k{i}: {i}" for i in range(10)) + "}"]
    for level in range(1, 9):
        merges = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} {{<<: [{merges}]}}")
    start = time.process_time()  # CPU time, as above
    err = error("\n".join(lines) + "\n")
    assert time.process_time() - start < 1.0
    assert "alias bomb" in err.message


def test_plain_document_over_the_node_limit() -> None:
    err = error("[1, 2, 3, 4, 5]\n", max_nodes=3)
    assert err.message == "document has more than 3 nodes"


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: {c: *a}}\n", "&x [1, {k: *x}]\n"])
def test_recursive_aliases_are_rejected(text: str) -> None:
    err = error(text)
    assert "recursive alias" in err.message
    assert err.location is not None


def test_deep_nesting_is_rejected() -> None:
    err = error("[" * 300 + "]" * 300)
    assert err.message == "nesting deeper than 200 levels"
    assert err.location == at(1, 202)
    block = "".join(" " * i + f"k{i}:\n" for i in range(30))
    assert "nesting deeper than 10 levels" in error(block, max_depth=10).message
    deep = load(block, max_depth=30)
    assert deep.key_locations[tuple(f"k{i}" for i in range(30))] == at(30, 30)


def test_nesting_through_aliases_is_counted() -> None:
    text = "a: &a [[[[1]]]]\nb: [[[*a]]]\n"
    assert load(text, max_depth=8).data["b"] == [[[[[[[1]]]]]]]
    assert "nesting deeper than 7" in error(text, max_depth=7).message


def test_input_over_max_bytes_is_rejected_before_parsing() -> None:
    err = error("a: [" * 10 + "\n", max_bytes=10)  # would be a syntax error if parsed
    assert "over the 10-byte limit" in err.message
    assert "limit" in error(b"a: 1\n" * 10, max_bytes=20).message
    assert load("a: 1\n", max_bytes=5).data == {"a": 1}


# --- bad documents --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !Ref x\n", "!Ref"),
        ("a: !!python/object:os.system x\n", "!!python/object:os.system"),
        ("a: !!python/name:os.system\n", "!!python/name:os.system"),
        ("a: !!binary aGk=\n", "!!binary"),
        ("a: !!timestamp 2024-01-01\n", "!!timestamp"),
        ("a: !!set {x}\n", "!!set"),
        ("a: !GetAtt [x, y]\n", "!GetAtt"),
        ("a: !!seq {x: 1}\n", "!!seq"),
    ],
)
def test_unknown_tags_are_rejected(text: str, tag: str) -> None:
    err = error(text)
    assert f"unsupported tag {tag} " in err.message
    assert err.location == at(1, 4)


def test_syntax_error_is_located() -> None:
    err = error("name: shop\nservices:\n  front: [a, b\n  back: x\n")
    assert err.location is not None
    assert err.location.file == "stack.yaml"
    assert err.location.line == 4
    assert "flow sequence" in err.message
    err = error("a: 1\n b: 2\n")
    assert err.location == at(2, 3)
    assert "mapping values are not allowed" in err.message


def test_undefined_alias_is_a_loader_error() -> None:
    err = error("a: *nope\n")
    assert "undefined alias" in err.message
    assert err.location == at(1, 4)


def test_binary_junk_is_a_loader_error() -> None:
    err = error(b"\x00\xff\xfe\x00junk\x80")
    assert "UTF-8" in err.message
    assert err.location == at(1, 2)
    err = error(b"a: 1\nb: caf\xe9\n")  # Latin-1
    assert err.location == at(2, 7)


def test_control_characters_are_a_loader_error() -> None:
    err = error("a: 1\nb: x\x00y\n")
    assert err.message == "invalid character U+0000 in YAML"
    assert err.location == at(2, 5)
    assert "U+DC80" in error("a: \udc80\n").message  # a lone surrogate in a str


def test_random_bytes_only_ever_raise_loader_error() -> None:
    rng = random.Random(1234)
    alphabet = b"abc:-[]{}&*!|>'\"#?,%@` \n\t\x00\xff\xc3\xa9"
    for _ in range(300):
        blob = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 60)))
        with contextlib.suppress(LoaderError):
            load(blob)


def test_multiple_documents_are_rejected() -> None:
    err = error("a: 1\n---\nb: 2\n")
    assert "single YAML document" in err.message
    assert err.location == at(2, 1)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n", b""])
def test_empty_document_is_none_and_located_at_the_start(text: str | bytes) -> None:
    doc = load(text)
    assert doc.data is None
    assert doc.locate(()) == at(1, 1)


def test_document_of_only_null_is_none() -> None:
    assert load("---\n").data is None
    assert load("--- ~\n").data is None
    assert load("--- ~\n").raw_text == {(): "~"}


def test_explicit_document_markers_are_fine() -> None:
    assert load("---\na: 1\n...\n").data == {"a": 1}


# --- small API pieces -----------------------------------------------------------------


def test_location_and_error_strings() -> None:
    assert str(Location("s.yaml", 3, 7)) == "s.yaml:3:7"
    assert str(LoaderError("boom")) == "boom"
    err = LoaderError("boom", Location("s.yaml", 1, 2))
    assert (err.message, err.location, str(err)) == (
        "boom",
        Location("s.yaml", 1, 2),
        "s.yaml:1:2: boom",
    )


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("services",), "services"),
        (("services", "front", "ports", 0), "services.front.ports[0]"),
        (("services", "my-api", "env"), "services.my-api.env"),
        (("labels", "com.example.team"), 'labels["com.example.team"]'),
        (("a b", "c"), '["a b"].c'),
        ((0, "x", 1, 2), "[0].x[1][2]"),
        (("env", ""), 'env[""]'),
        (("env", 'say "hi"'), 'env["say \\"hi\\""]'),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text
