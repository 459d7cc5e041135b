"""Ignore rules: the defaults, gitignore-style user patterns, nested folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.watch.filters import IgnoreRules, ignored, parse_pattern

ROOT = Path("/work/shop")


def at(relative: str) -> Path:
    return ROOT / relative


@pytest.mark.parametrize(
    "relative",
    [
        ".git/index",
        ".git/objects/ab/cdef",
        "node_modules/left-pad/index.js",
        "web/node_modules/react/index.js",
        "services/api/__pycache__/app.cpython-311.pyc",
        "app.pyc",
        ".devstack/logs/api.log",
        ".app.py.swp",
        ".app.py.swx",
        "app.py~",
        "src/.#app.py",
        "src/4913",
    ],
)
def test_defaults_ignore_vcs_dependencies_caches_and_editor_litter(relative: str) -> None:
    assert ignored(at(relative), ROOT)


@pytest.mark.parametrize(
    "relative",
    ["app.py", "src/app.py", "devstack.yaml", ".env", "src/git/x.py", "src/.github/ci.yml"],
)
def test_defaults_keep_source_and_config(relative: str) -> None:
    assert not ignored(at(relative), ROOT)


def test_the_root_itself_and_paths_outside_it_are_not_ignored() -> None:
    assert not ignored(ROOT, ROOT, ["*"])
    assert not ignored(Path("/elsewhere/.git/index"), ROOT)


def test_a_name_pattern_matches_at_any_depth() -> None:
    patterns = ["*.log"]

    assert ignored(at("app.log"), ROOT, patterns)
    assert ignored(at("services/api/logs/today.log"), ROOT, patterns)
    assert not ignored(at("services/api/log.py"), ROOT, patterns)


def test_a_trailing_slash_matches_folders_and_everything_inside() -> None:
    patterns = ["build/"]

    assert ignored(at("build/out.js"), ROOT, patterns)
    assert ignored(at("web/build/static/main.js"), ROOT, patterns)
    assert ignored(at("build"), ROOT, patterns, is_dir=True)
    assert ignored(at("build"), ROOT, patterns)  # kind unknown (deleted): a folder, maybe
    assert not ignored(at("build"), ROOT, patterns, is_dir=False)
    assert not ignored(at("src/build.py"), ROOT, patterns)


def test_double_star_spans_folders() -> None:
    patterns = ["**/tmp/*"]

    assert ignored(at("tmp/x"), ROOT, patterns)
    assert ignored(at("a/b/tmp/x"), ROOT, patterns)
    assert ignored(at("a/tmp/x/deeper.txt"), ROOT, patterns)
    assert not ignored(at("a/tmp"), ROOT, patterns, is_dir=True)
    assert not ignored(at("a/tmpfile"), ROOT, patterns)


def test_a_slash_anchors_the_pattern_at_the_root() -> None:
    assert ignored(at("dist/app.js"), ROOT, ["/dist"])
    assert not ignored(at("web/dist/app.js"), ROOT, ["/dist"])
    assert ignored(at("src/gen/models.py"), ROOT, ["src/gen"])
    assert not ignored(at("lib/src/gen/models.py"), ROOT, ["src/gen"])


def test_a_trailing_double_star_matches_the_contents_not_the_folder() -> None:
    patterns = ["cache/**"]

    assert ignored(at("cache/a/b"), ROOT, patterns)
    assert not ignored(at("cache"), ROOT, patterns, is_dir=True)


def test_a_negation_re_includes_unless_a_parent_folder_is_excluded() -> None:
    assert not ignored(at("debug.log"), ROOT, ["*.log", "!debug.log"])
    assert ignored(at("other.log"), ROOT, ["*.log", "!debug.log"])
    assert ignored(at("build/keep.txt"), ROOT, ["build/", "!keep.txt"])


def test_a_negation_can_watch_a_default_folder_again() -> None:
    assert not ignored(at("node_modules/my-lib/index.js"), ROOT, ["!node_modules"])


def test_comments_and_blank_lines_are_no_patterns() -> None:
    assert parse_pattern("# build/") is None
    assert parse_pattern("   ") is None
    assert IgnoreRules(["", "# x"], defaults=False).patterns == ()


def test_rules_without_defaults_ignore_only_what_they_say() -> None:
    rules = IgnoreRules(["*.tmp"], defaults=False)

    assert rules.ignored(at(".git/index"), ROOT) is False
    assert rules.ignored(at("a.tmp"), ROOT) is True


def test_matching_is_case_sensitive() -> None:
    assert not ignored(at("App.LOG"), ROOT, ["*.log"])
