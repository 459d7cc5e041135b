"""DS107/DS108 against a real git repository: env files git would commit, and their secrets."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from devstack.config.loader import load_stack
from devstack.lint.findings import Finding
from devstack.lint.gitignore import GitIgnore
from devstack.lint.runner import lint

MANIFEST = """\
    name: t
    environments:
      dev: {env_file: [.env]}
      staging:
        env_file:
          - {path: .env.staging, required: false}
    services:
      a: {command: python3 a.py}
    """
STAGING = """\
    # staging settings
    LOG_LEVEL=info
    DB_PASSWORD=hunter2
    DATABASE_URL=postgres://shop:${DB_PASSWORD}@db/shop
    CACHE_URL='redis://:s3cret@cache:6379/0'
    INHERITED_TOKEN
    """


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stack in a fresh git repository (`git init`, nothing committed)."""
    git(tmp_path, "init", "-q")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "devstack.yaml").write_text(textwrap.dedent(MANIFEST))
    (tmp_path / ".env").write_text("LOG_LEVEL=debug\n")
    (tmp_path / ".env.staging").write_text(textwrap.dedent(STAGING))
    return tmp_path


def findings(
    root: Path, environments: list[str] | None = None, git: GitIgnore | None = None
) -> list[Finding]:
    loaded = load_stack(root / "devstack.yaml")
    return lint(loaded, {"DB_PASSWORD": "x"}, environments=environments, git=git)


def where(found: list[Finding]) -> list[tuple[str, str, str]]:
    return [(str(f.location), f.rule.id, f.field) for f in found]


def test_env_files_git_would_commit_are_reported_with_their_credentials(repo: Path) -> None:
    found = findings(repo)
    assert where(found) == [
        (".env.staging:3:1", "DS108", "environments.staging.env_file[0].path"),
        (".env.staging:5:1", "DS108", "environments.staging.env_file[0].path"),
        ("devstack.yaml:3:20", "DS107", "environments.dev.env_file[0]"),
        ("devstack.yaml:6:16", "DS107", "environments.staging.env_file[0].path"),
    ]
    assert "DB_PASSWORD holds a value for a secret-named variable" in found[0].message
    assert "CACHE_URL holds a password inside a URL" in found[1].message
    assert all("hunter2" not in str(f) and "s3cret" not in str(f) for f in found)
    assert found[0].rule.severity == "error"
    assert found[2].rule.severity == "warning"
    assert "add .env to .gitignore" in found[2].fix
    assert "next `git add .` commits it" in found[2].message


def test_ignored_env_files_may_hold_credentials(repo: Path) -> None:
    (repo / ".gitignore").write_text(".env*\n")
    assert findings(repo) == []


def test_a_tracked_env_file_is_reported_even_when_a_pattern_matches_it(repo: Path) -> None:
    git(repo, "add", ".env")
    (repo / ".gitignore").write_text(".env*\n")
    found = findings(repo)
    assert where(found) == [("devstack.yaml:3:20", "DS107", "environments.dev.env_file[0]")]
    assert "is committed to git" in found[0].message
    assert "git rm --cached .env" in found[0].fix


def test_only_the_chosen_environment_is_audited(repo: Path) -> None:
    assert [f.rule.id for f in findings(repo, environments=["dev"])] == ["DS107"]


def test_outside_a_repository_nothing_is_said_about_ignoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "devstack.yaml").write_text(textwrap.dedent(MANIFEST))
    (tmp_path / ".env.staging").write_text(textwrap.dedent(STAGING))
    assert GitIgnore().state(tmp_path / ".env.staging") is None
    assert findings(tmp_path) == []


def test_without_git_nothing_is_said_about_ignoring(repo: Path) -> None:
    assert findings(repo, git=GitIgnore(git=str(repo / "no-such-git"))) == []
