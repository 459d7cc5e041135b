"""A component the test command sets up skips a test locally and fails it under CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from components import in_ci, unavailable

TESTS = Path(__file__).resolve().parents[1]

# A test file that needs a component that is never there, run by a real pytest with the
# suite's own conftest (the hook that reads the marker).
NEEDY = """
from components import needs, unavailable
import pytest

@needs(True, "frobnicator is not installed")
def test_marked() -> None:
    pass

def test_in_a_fixture_or_test() -> None:
    unavailable("the widget image is missing")
"""


def run_needy(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text((TESTS / "conftest.py").read_text())
    (tmp_path / "test_needy.py").write_text(NEEDY)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{TESTS}:{TESTS.parent / 'src'}"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_ci_a_missing_component_skips_with_the_reason(tmp_path: Path) -> None:
    result = run_needy(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout, result.stdout
    assert "frobnicator is not installed" in result.stdout
    assert "the widget image is missing" in result.stdout


def test_under_ci_a_missing_component_fails_with_the_reason(tmp_path: Path) -> None:
    result = run_needy(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 error" in result.stdout, result.stdout
    assert "frobnicator is not installed (CI is set" in result.stdout
    assert "the widget image is missing (CI is set" in result.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("", False), ("false", False), ("0", False)],
)
def test_ci_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_unavailable_outside_ci_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="gone"):
        unavailable("gone")
