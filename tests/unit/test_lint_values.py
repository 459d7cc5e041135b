"""The pure parts of lint: value classifiers, image references, FROM lines, rule selection."""

from __future__ import annotations

import pytest

from devstack.lint.dockerfile import base_images
from devstack.lint.findings import RULES, Finding, Summary, select_rules
from devstack.lint.images import unpinned
from devstack.lint.values import find_credential, find_endpoint


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("http://localhost:4566", "aws"),
        ("https://dynamodb.us-east-1.amazonaws.com", "aws"),
        ("redis://cache:6379/0", "redis"),
        ("postgresql://u@db/x", "postgres"),
        ("https://api.example.com/v1", "url"),
        ("host.docker.internal:8000", "url"),
        ("${UPSTREAM:-http://localhost:9000}", "url"),
    ],
)
def test_endpoints_get_the_backing_kind_they_should_be(value: str, kind: str) -> None:
    found = find_endpoint(value)
    assert found is not None
    assert found.kind == kind


@pytest.mark.parametrize(
    "value",
    ["info", "1.2.3.4", "${services.api.url}", "file:///etc/x", "python:3.11", "a $$://b", ""],
)
def test_ordinary_values_are_not_endpoints(value: str) -> None:
    assert find_endpoint(value) is None


def test_an_endpoint_is_shown_without_its_credentials() -> None:
    found = find_endpoint("postgres://shop:hunter2@db:5432/x")
    assert found is not None
    assert found.text == "postgres://db:5432"


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("LOG_LEVEL", "debug", False),
        ("DB_PASSWORD", "", False),
        ("DB_PASSWORD", "${DB_PASSWORD}", False),
        ("URL", "https://user@example.com", False),
        ("URL", "https://user:${PW}@example.com", False),
        ("PRIMARY_KEY", "id", True),  # named like a secret: devstack masks it too
        ("ANYTHING", "x AKIAABCDEFGHIJKLMNOP y", True),
    ],
)
def test_credentials(name: str, value: str, secret: bool) -> None:
    assert (find_credential(name, value) is not None) is secret


@pytest.mark.parametrize(
    ("ref", "pinned"),
    [
        ("redis", False),
        ("redis:latest", False),
        ("redis:7.2", True),
        ("registry.example.invalid/org/app:1", True),
        ("localhost:5000/app", False),
        ("localhost:5000/app:2", True),
        ("app@sha256:abc", True),
        ("app:latest@sha256:abc", True),
    ],
)
def test_image_references(ref: str, pinned: bool) -> None:
    assert (unpinned(ref) is None) is pinned


def test_from_lines_follow_args_continuations_and_stages() -> None:
    text = (
        "ARG TAG=3.20\n"
        "FROM \\\n  alpine:${TAG} AS base\n"
        "ARG TAG=ignored-after-from\n"
        "FROM base\n"
        "FROM node AS web\n"
    )
    images = base_images(text, {})
    assert [(i.ref, i.line) for i in images] == [("alpine:3.20", 2), ("node", 6)]
    assert images[1].column == 6


def test_rules_are_selected_by_code_or_prefix() -> None:
    assert select_rules([], []) == set(RULES)
    assert select_rules(["DS11"], []) == {"DS110", "DS111", "DS112", "DS113"}
    assert select_rules(["ds10"], ["DS101", "DS102"]) == set(RULES) & {
        f"DS10{n}" for n in range(3, 10)
    }
    with pytest.raises(ValueError, match="unknown rule 'DS2'"):
        select_rules(["DS2"], [])


def test_the_summary_counts_errors_and_warnings() -> None:
    error = Finding(RULES["DS103"], None, "services.a.env.X", "m", "f")
    warning = Finding(RULES["DS106"], None, "services.a", "m", "f")
    assert str(Summary.of([])) == "no findings"
    assert str(Summary.of([error, warning, warning])) == "3 findings (1 error, 2 warnings)"
    assert str(error) == "DS103 error [III config] services.a.env.X: m; fix: f"
