"""Which events count for a watched path, and when its schedules need rebuilding.

Events are built by hand (watchdog's event classes are plain data): no file system, no
threads. What counted is read from the debouncer's pending paths.
"""

from __future__ import annotations

import errno
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileModifiedEvent,
    FileMovedEvent,
)

from devstack.testing import FakeClock
from devstack.watch.debounce import Debouncer, ManualTimer
from devstack.watch.filters import IgnoreRules
from devstack.watch.routing import Key, Target, describe_error

ROOT = Path("/work/shop")
ANCHOR: Key = ("/work", False)


def target(path: Path = ROOT, flat: tuple[str, ...] = (), patterns: tuple[str, ...] = ()) -> Target:
    clock = FakeClock()
    debouncer = Debouncer(lambda _: None, clock=clock, timer=ManualTimer(clock))
    made = Target("api", path, IgnoreRules(patterns), debouncer)
    made.flat = frozenset(flat)
    return made


def test_a_file_target_counts_only_events_on_itself() -> None:
    manifest = target(ROOT / "devstack.yaml")
    folder: Key = (str(ROOT), False)

    manifest.offer(folder, FileModifiedEvent(str(ROOT / "README.md")))
    manifest.offer(folder, FileModifiedEvent(str(ROOT / "devstack.yaml")))

    assert manifest.debouncer.pending == {ROOT / "devstack.yaml"}


def test_a_rename_onto_a_watched_file_counts_it() -> None:
    manifest = target(ROOT / "devstack.yaml")
    tmp, dest = str(ROOT / ".devstack.yaml.tmp"), str(ROOT / "devstack.yaml")

    replan = manifest.offer((str(ROOT), False), FileMovedEvent(tmp, dest))

    assert manifest.debouncer.pending == {ROOT / "devstack.yaml"}
    assert not replan


def test_a_move_inside_a_watched_folder_counts_both_ends() -> None:
    tree = target()

    tree.offer((str(ROOT), True), FileMovedEvent(str(ROOT / "a.py"), str(ROOT / "src/b.py")))

    assert tree.debouncer.pending == {ROOT / "a.py", ROOT / "src/b.py"}


def test_a_move_from_an_ignored_name_counts_only_the_destination() -> None:
    tree = target()

    tree.offer((str(ROOT), True), FileMovedEvent(str(ROOT / "app.py~"), str(ROOT / "app.py")))

    assert tree.debouncer.pending == {ROOT / "app.py"}


def test_ignored_paths_and_paths_outside_the_tree_do_not_count() -> None:
    tree = target(patterns=("*.log",))
    key: Key = (str(ROOT), True)

    for path in (".git/index", "node_modules/x/y.js", "server.log", "src/__pycache__/a.pyc"):
        tree.offer(key, FileModifiedEvent(str(ROOT / path)))
    tree.offer(key, FileModifiedEvent("/work/shop-other/app.py"))

    assert tree.debouncer.pending == frozenset()


def test_a_new_subfolder_of_a_flat_folder_asks_for_a_replan() -> None:
    tree = target(flat=(str(ROOT),))

    assert tree.offer((str(ROOT), False), DirCreatedEvent(str(ROOT / "lib")))
    assert not tree.offer((str(ROOT / "src"), True), DirCreatedEvent(str(ROOT / "src/deep")))
    assert tree.debouncer.pending == {ROOT / "lib", ROOT / "src/deep"}


def test_a_new_ignored_folder_asks_for_a_replan_but_does_not_count() -> None:
    tree = target()
    key: Key = (str(ROOT / "web"), True)

    assert tree.offer(key, DirCreatedEvent(str(ROOT / "web/node_modules")))
    assert not tree.offer(key, DirCreatedEvent(str(ROOT / "web/node_modules/react")))
    assert not tree.offer(key, DirDeletedEvent(str(ROOT / "web/node_modules")))
    assert tree.debouncer.pending == frozenset()


def test_the_anchor_sees_the_watched_folder_come_and_go() -> None:
    tree = target()

    assert tree.offer(ANCHOR, DirCreatedEvent(str(ROOT)))
    assert tree.offer(ANCHOR, DirMovedEvent(str(ROOT), "/work/shop.old"))
    assert not tree.offer(ANCHOR, DirCreatedEvent("/work/other"))
    assert tree.debouncer.pending == {ROOT}


def test_errors_read_as_one_line_with_the_remedy() -> None:
    limit = describe_error("api", ROOT, OSError(errno.ENOSPC, "inotify watch limit reached"))
    instances = describe_error("api", ROOT, OSError(errno.EMFILE, "too many"))
    denied = describe_error("api", ROOT, OSError(errno.EACCES, "Permission denied"))

    assert limit.startswith("watch api: cannot watch /work/shop: inotify watch limit reached")
    assert "sysctl fs.inotify.max_user_watches=" in limit
    assert "fs.inotify.max_user_instances" in instances
    assert denied == "watch api: cannot watch /work/shop: Permission denied"
    assert all("\n" not in line for line in (limit, instances, denied))
