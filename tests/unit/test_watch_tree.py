"""Cover planning: which folders get flat or recursive schedules so ignored ones are skipped."""

from __future__ import annotations

from pathlib import Path

from devstack.watch.filters import IgnoreRules
from devstack.watch.tree import plan_cover, unwatched

RULES = IgnoreRules()


def tree(root: Path, *folders: str) -> Path:
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    return root


def names(root: Path, paths: frozenset[Path]) -> set[str]:
    return {str(p.relative_to(root)) for p in paths}


def test_a_tree_without_ignored_folders_is_one_recursive_schedule(tmp_path: Path) -> None:
    root = tree(tmp_path / "p", "src/a", "src/b", "tests")

    cover = plan_cover(root, RULES)

    assert cover.recursive == {root}
    assert cover.flat == frozenset()
    assert set(cover.folders.values()) == {
        root,
        *(root / f for f in ("src", "src/a", "src/b", "tests")),
    }


def test_ignored_folders_are_left_out_of_every_schedule(tmp_path: Path) -> None:
    root = tree(tmp_path / "p", ".git/objects", "node_modules/x", "src/app", "docs")

    cover = plan_cover(root, RULES)

    assert names(root, cover.flat) == {"."}
    assert names(root, cover.recursive) == {"src", "docs"}
    assert not any(".git" in p.parts or "node_modules" in p.parts for p in cover.folders.values())


def test_nested_ignored_folders_make_each_folder_above_them_flat(tmp_path: Path) -> None:
    root = tree(tmp_path / "p", "services/api/node_modules/x", "services/api/src", "services/web")

    cover = plan_cover(root, RULES)

    assert names(root, cover.flat) == {".", "services", "services/api"}
    assert names(root, cover.recursive) == {"services/api/src", "services/web"}


def test_user_patterns_prune_too(tmp_path: Path) -> None:
    root = tree(tmp_path / "p", "build/out", "src")

    cover = plan_cover(root, IgnoreRules(["build/"]))

    assert names(root, cover.recursive) == {"src"}
    assert root / "build" not in cover.folders.values()


def test_a_tight_budget_prunes_only_the_shallow_ignored_folders(tmp_path: Path) -> None:
    packages = [f"src/pkg{i}/__pycache__" for i in range(10)]
    root = tree(tmp_path / "p", ".git", *packages)

    cover = plan_cover(root, RULES, max_schedules=4)

    assert names(root, cover.flat) == {"."}
    assert names(root, cover.recursive) == {"src"}  # its __pycache__ folders are filtered


def test_over_budget_even_at_the_top_it_falls_back_to_one_recursive_schedule(
    tmp_path: Path,
) -> None:
    root = tree(tmp_path / "p", ".git", *(f"d{i}" for i in range(10)))

    cover = plan_cover(root, RULES, max_schedules=4)

    assert cover.recursive == {root}
    assert cover.flat == frozenset()


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    root = tree(tmp_path / "p", "src")
    outside = tree(tmp_path / "outside", "deep/er")
    (root / "link").symlink_to(outside, target_is_directory=True)

    cover = plan_cover(root, RULES)

    assert set(cover.folders.values()) == {root, root / "src"}


def test_a_file_or_a_missing_path_has_no_cover(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")

    assert len(plan_cover(tmp_path / "f", RULES)) == 0
    assert len(plan_cover(tmp_path / "missing", RULES)) == 0


def test_unwatched_lists_the_folders_no_inotify_watch_covers(tmp_path: Path) -> None:
    root = tree(tmp_path / "p", "a", "b")
    folders = plan_cover(root, RULES).folders
    inode_a = (root / "a").stat().st_ino

    missing = unwatched(folders, watched=[inode_a])

    assert missing == sorted([root, root / "b"])
    assert unwatched(folders, watched=folders) == []
