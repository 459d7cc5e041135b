"""Golden cases for compose-style interpolation."""

from __future__ import annotations

import pytest

from devstack.config.interpolate import InterpolationError, interpolate, references

ENV: dict[str, str] = {
    "HOME": "/home/dev",
    "USER": "dev",
    "EMPTY": "",
    "PORT": "8080",
    "TEMPLATED": "${USER}",  # a value that looks like a template stays literal
    "DOLLAR": "$$",
    "_under": "u",
    "services.greeter.url": "http://greeter:8080",
    "backing.uploads.bucket": "uploads",
    "a.b-c": "dashed",
}

GOLDEN: list[tuple[str, str, str]] = [
    # (id, template, expected)
    ("plain text", "no references here", "no references here"),
    ("empty template", "", ""),
    ("unbraced", "$HOME/bin", "/home/dev/bin"),
    ("braced", "${HOME}/bin", "/home/dev/bin"),
    ("adjacent", "$USER$PORT${USER}", "dev8080dev"),
    ("underscore name", "$_under-${_under}", "u-u"),
    ("unbraced stops at dot", "$HOME.x", "/home/dev.x"),
    ("unbraced stops at dash", "$USER-x", "dev-x"),
    ("unbraced name is greedy", "$USERNAME", ""),
    ("braced allows suffix", "${USER}NAME", "devNAME"),
    ("dotted braced name", "${services.greeter.url}/hi", "http://greeter:8080/hi"),
    ("dotted name 2", "s3://${backing.uploads.bucket}", "s3://uploads"),
    ("dash inside dotted segment", "${a.b-c}", "dashed"),
    ("unset is empty", "[$NOPE][${NOPE}]", "[][]"),
    ("empty is empty", "[$EMPTY]", "[]"),
    # escapes and literal dollars
    ("escaped dollar", "$$HOME", "$HOME"),
    ("escaped braced", "$${HOME}", "${HOME}"),
    ("double escape", "$$$$", "$$"),
    ("escape then ref", "$$$HOME", "$/home/dev"),
    ("dollar space", "cost: $ 5", "cost: $ 5"),
    ("dollar digit", "$1 and $2", "$1 and $2"),
    ("dollar dash", "$-", "$-"),
    ("trailing dollar", "price$", "price$"),
    ("lone dollar", "$", "$"),
    ("closing brace outside", "a}b", "a}b"),
    # :- and -
    ("soft default unset", "${NOPE:-def}", "def"),
    ("soft default empty", "${EMPTY:-def}", "def"),
    ("soft default set", "${USER:-def}", "dev"),
    ("hard default unset", "${NOPE-def}", "def"),
    ("hard default empty", "${EMPTY-def}", ""),
    ("hard default set", "${USER-def}", "dev"),
    ("empty default", "[${NOPE:-}][${NOPE-}]", "[][]"),
    ("default with spaces", "${NOPE:-a b c}", "a b c"),
    ("default with colon", "${NOPE:-host:5432}", "host:5432"),
    ("default with dash", "${NOPE:--x}", "-x"),
    ("dotted soft default", "${services.nope.url:-http://x}", "http://x"),
    # ? and :? when satisfied
    ("required set", "${USER:?need user}", "dev"),
    ("required-if-unset, empty ok", "[${EMPTY?need it}]", "[]"),
    # :+ and +
    ("alt set", "${USER:+yes}", "yes"),
    ("alt empty", "[${EMPTY:+yes}]", "[]"),
    ("alt unset", "[${NOPE:+yes}]", "[]"),
    ("plus set", "${USER+yes}", "yes"),
    ("plus empty", "${EMPTY+yes}", "yes"),
    ("plus unset", "[${NOPE+yes}]", "[]"),
    # nesting
    ("nested default", "${NOPE:-${NOPE2:-x}}", "x"),
    ("nested default resolves", "${NOPE:-${USER:-x}}", "dev"),
    ("nested unbraced", "${NOPE:-$USER}", "dev"),
    ("nested with text", "${NOPE:-pre-${USER}-post}", "pre-dev-post"),
    ("deep nesting", "${A:-${B:-${C:-${D:-deep}}}}", "deep"),
    ("text after nested", "${NOPE:-${USER}}!", "dev!"),
    ("two nested", "${NOPE:-${USER}${PORT}}", "dev8080"),
    ("nested alt", "${USER:+${HOME}/x}", "/home/dev/x"),
    ("escape in default", "${NOPE:-$$USER}", "$USER"),
    ("escaped brace in default", "${NOPE:-$${X}}", "${X}"),
    ("dollar before brace in default", "${NOPE:-$}", "$"),
    ("unused branch not evaluated", "${USER:-${NOPE:?boom}}", "dev"),
    ("unused alt not evaluated", "${NOPE:+${NOPE:?boom}}", ""),
    # no recursion into looked-up values
    ("value not re-interpolated", "${TEMPLATED}", "${USER}"),
    ("dollars in value kept", "$DOLLAR", "$$"),
    ("value in default not re-interpolated", "${NOPE:-$TEMPLATED}", "${USER}"),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    [pytest.param(t, e, id=i) for i, t, e in GOLDEN],
)
def test_interpolate_golden(template: str, expected: str) -> None:
    assert interpolate(template, ENV.get) == expected


REQUIRED_ERRORS: list[tuple[str, str, str]] = [
    # (template, variable, message)
    (
        "${NOPE:?set NOPE please}",
        "NOPE",
        "required variable NOPE is missing a value: set NOPE please",
    ),
    (
        "${EMPTY:?must not be empty}",
        "EMPTY",
        "required variable EMPTY is missing a value: must not be empty",
    ),
    ("${NOPE?gone}", "NOPE", "required variable NOPE is missing a value: gone"),
    ("${NOPE:?}", "NOPE", "required variable NOPE is missing a value"),
    ("${NOPE?}", "NOPE", "required variable NOPE is missing a value"),
    ("${NOPE:?ask $USER}", "NOPE", "required variable NOPE is missing a value: ask dev"),
    ("${NOPE:-${INNER:?inner}}", "INNER", "required variable INNER is missing a value: inner"),
    (
        "${services.x.url:?no url}",
        "services.x.url",
        "required variable services.x.url is missing a value: no url",
    ),
]


@pytest.mark.parametrize(("template", "variable", "message"), REQUIRED_ERRORS)
def test_required_errors(template: str, variable: str, message: str) -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate(template, ENV.get)
    assert str(info.value) == message
    assert info.value.message == message
    assert info.value.variable == variable


MALFORMED: list[tuple[str, str]] = [
    # (template, the expression named in the message)
    ("${}", "${}"),
    ("x ${VAR", "${VAR"),
    ("${VAR:x}", "${VAR:x}"),
    ("${1abc}", "${1abc}"),
    ("${ VAR}", "${ VAR}"),
    ("${VAR }", "${VAR }"),
    ("${VAR:}", "${VAR:}"),
    ("${VAR!}", "${VAR!}"),
    ("${$VAR}", "${$VAR}"),
    ("${VAR:-unterminated", "${VAR:-unterminated"),
    ("${A:-${B}", "${A:-${B}"),
    ("${A:-${B:x}}", "${B:x}"),
    ("${services..url}", "${services..url}"),
    ("ok ${USER} then ${}", "${}"),
    # syntax errors are reported even in a branch evaluation would skip
    ("${USER:-${}}", "${}"),
]


@pytest.mark.parametrize(("template", "expression"), MALFORMED)
def test_malformed(template: str, expression: str) -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate(template, ENV.get)
    assert str(info.value) == f"invalid interpolation format for '{expression}'"
    assert info.value.variable is None


@pytest.mark.parametrize(("template", "expression"), MALFORMED)
def test_references_rejects_malformed(template: str, expression: str) -> None:
    with pytest.raises(InterpolationError, match="invalid interpolation format"):
        references(template)


REFERENCES: list[tuple[str, list[str]]] = [
    ("", []),
    ("plain", []),
    ("$A", ["A"]),
    ("$A ${B} $A ${B}", ["A", "B"]),
    ("$$A $${B}", []),
    ("$$$A", ["A"]),
    ("${A:-${B:-$C}}", ["A", "B", "C"]),
    ("${A:?need $B} ${C:+${D}} ${E-${A}}", ["A", "B", "C", "D", "E"]),
    ("${services.greeter.url} $HOME.x", ["services.greeter.url", "HOME"]),
    ("$1 $ $", []),
    ("${Z} ${Y} ${X}", ["Z", "Y", "X"]),
]


@pytest.mark.parametrize(("template", "expected"), REFERENCES)
def test_references(template: str, expected: list[str]) -> None:
    assert references(template) == expected


def test_lookup_called_once_per_reference_and_only_for_read_names() -> None:
    calls: list[str] = []

    def lookup(name: str) -> str | None:
        calls.append(name)
        return "v" if name == "SET" else None

    assert interpolate("${SET:-${OTHER}} ${UNSET:-$SET}", lookup) == "v v"
    assert calls == ["SET", "UNSET", "SET"]


def test_lookup_receives_dotted_names() -> None:
    seen: list[str] = []

    def lookup(name: str) -> str | None:
        seen.append(name)
        return None

    interpolate("${backing.uploads.bucket}", lookup)
    assert seen == ["backing.uploads.bucket"]
