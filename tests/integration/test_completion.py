"""Shell completion of manifest names, through click's completion protocol in a subprocess."""

from __future__ import annotations

import pytest

from helpers import Stack, describe

MANIFEST = """\
name: c
environments: {staging: {}, prod: {}}
services:
  api: {command: "sleep 1"}
  apiworker: {command: "sleep 1"}
  web: {command: "sleep 1"}
backing:
  uploads: {kind: s3}
providers:
  mymoto: {type: moto}
"""


def _complete(stack: Stack, line: str) -> list[str]:
    """What bash would be offered for `line` (a trailing space starts a new word)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    result = stack.run(
        env={"_DEVSTACK_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(cword)}
    )
    assert result.returncode == 0 and not result.stderr, describe(result, stack)
    return [item.split(",", 1)[1] for item in result.stdout.splitlines() if item]


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ("devstack restart a", ["api", "apiworker"]),
        ("devstack logs ", ["api", "apiworker", "web"]),
        ("devstack exec w", ["web"]),
        ("devstack config show ", ["api", "apiworker", "web"]),
        ("devstack up --env ", ["dev", "prod", "staging"]),
        ("devstack config diff s", ["staging"]),
        ("devstack swap ", ["uploads"]),
        ("devstack swap uploads m", ["ministack", "moto", "mymoto"]),
        ("devstack scale w", ["web="]),
    ],
)
def test_completes_names_from_the_manifest(stack: Stack, line: str, wanted: list[str]) -> None:
    stack.write_text(MANIFEST)
    assert _complete(stack, line) == wanted


def test_completion_follows_the_file_option(stack: Stack) -> None:
    (stack.root / "other.yaml").write_text(MANIFEST)
    assert _complete(stack, "devstack -f other.yaml stop a") == ["api", "apiworker"]
    assert _complete(stack, "devstack stop -f other.yaml a") == ["api", "apiworker"]


def test_completion_of_a_broken_or_missing_manifest_is_quiet(stack: Stack) -> None:
    assert _complete(stack, "devstack restart ") == []  # no manifest at all
    stack.write_text("services: [unclosed\n")
    assert _complete(stack, "devstack restart ") == []
    assert _complete(stack, "devstack up --env ") == ["dev"]
