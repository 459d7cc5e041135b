"""`validate`'s phases: every problem of every phase, without knock-on problems."""

from __future__ import annotations

import textwrap
from pathlib import Path

from devstack.config.validation import validate_manifest


def report_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(textwrap.dedent(text))
    report = validate_manifest(manifest, env or {})
    return [str(p) for p in report.problems] + report.unchecked


def test_schema_and_reference_problems_come_together(tmp_path: Path) -> None:
    found = report_of(
        tmp_path,
        """\
        name: t
        services:
          a: {command: x, ports: nope}
          b: {command: x, depends_on: [c]}
        """,
    )

    assert len(found) == 2, found
    assert "devstack.yaml:3:" in found[0] and "services.a.ports" in found[0]
    assert "services.b.depends_on[0]: unknown service 'c'" in found[1]


def test_a_service_depending_on_a_broken_one_is_still_checked(tmp_path: Path) -> None:
    found = report_of(
        tmp_path,
        """\
        name: t
        services:
          broken: {command: x, bogus: 1}
          user:
            command: x
            depends_on: [broken]
            env: {B: "${NEEDED:?set NEEDED}"}
          linked:
            command: x
            env: {A: "${services.broken.url}"}
        """,
    )

    assert any("services.broken.bogus" in p for p in found), found
    assert any("services.user.env.B" in p and "set NEEDED" in p for p in found), found
    assert not any("'broken'" in p for p in found), found  # no knock-on problem
    assert len(found) == 2, found


def test_a_dependency_cycle_does_not_stop_the_environments(tmp_path: Path) -> None:
    found = report_of(
        tmp_path,
        """\
        name: t
        environments: {staging: {env_file: [.env.missing]}}
        services:
          a: {command: x, depends_on: [b]}
          b: {command: x, depends_on: [a]}
        """,
    )

    assert any("dependency cycle" in p for p in found), found
    assert any("env file .env.missing not found" in p for p in found), found


def test_a_problem_outside_any_entry_stops_the_later_phases_and_says_so(tmp_path: Path) -> None:
    found = report_of(
        tmp_path,
        """\
        name: Not Valid
        services:
          a: {command: x, depends_on: [nosuch]}
        """,
    )

    assert "is not a valid name" in found[0]
    assert found[-1] == "references and environments: not checked (fix the above)"


def test_a_valid_manifest_has_no_problem(tmp_path: Path) -> None:
    assert report_of(tmp_path, "name: t\nservices: {a: {command: x}}\n") == []
