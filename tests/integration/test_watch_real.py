"""The watcher against the real file system (inotify): what counts as a change, and idleness.

Every wait is a poll with a deadline: for a callback to arrive, or, to show that none
arrives, for a window of twice the debounce delay. Tests that expect nothing end by
changing a file that does count and seeing only that one, so a dead watcher cannot pass.
"""

from __future__ import annotations

import errno
import gc
import os
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.inotify import InotifyObserver

from devstack.watch import Watcher
from devstack.watch.tree import inotify_inodes

DEBOUNCE = 0.1
DEADLINE = 10.0


class Calls:
    """Records on_change calls; waits for them with deadlines."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.calls: list[frozenset[Path]] = []

    def __call__(self, changed: frozenset[Path]) -> None:
        with self._cond:
            self.calls.append(changed)
            self._cond.notify_all()

    def wait(self, count: int = 1, timeout: float = DEADLINE) -> list[frozenset[Path]]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(
                    f"expected {count} call(s) within {timeout}s, got {self.calls}"
                )
            return list(self.calls)

    def wait_for_path(self, path: Path, timeout: float = DEADLINE) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: any(path in c for c in self.calls), timeout):
                raise AssertionError(f"no call with {path} within {timeout}s: {self.calls}")

    def quiet(self, seconds: float, count: int) -> None:
        """Assert that no call beyond the first `count` arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while (left := deadline - time.monotonic()) > 0:
                assert len(self.calls) == count, f"unexpected call(s): {self.calls[count:]}"
                self._cond.wait(left)
            assert len(self.calls) == count, f"unexpected call(s): {self.calls[count:]}"


@pytest.fixture
def errors() -> list[str]:
    return []


@pytest.fixture
def watcher(errors: list[str]) -> Iterator[Watcher]:
    # Earlier tests' garbage is collected here, on the main thread: collected later in a
    # watchdog thread, an unclosed file's ResourceWarning (an error under pytest's
    # filterwarnings) killed that thread and the watch with it (seen once in a full run).
    gc.collect()
    w = Watcher(errors.append)
    try:
        yield w
    finally:
        w.close()


def project(root: Path) -> Path:
    """A small project: sources, a manifest, and the folders a watcher must not watch."""
    for folder in ("src/app", ".git/objects/ab", "node_modules/left-pad", ".devstack/logs"):
        (root / folder).mkdir(parents=True)
    (root / "src/app/main.py").write_text("print('hi')\n")
    (root / "devstack.yaml").write_text("name: shop\n")
    (root / ".git/HEAD").write_text("ref: refs/heads/main\n")
    return root


def test_editing_a_watched_file_calls_back_once(watcher: Watcher, tmp_path: Path) -> None:
    root = project(tmp_path)
    manifest = root / "devstack.yaml"
    calls = Calls()
    watcher.watch("manifest", [manifest], calls, debounce=DEBOUNCE)

    with manifest.open("a") as handle:
        handle.write("services: {}\n")

    assert calls.wait() == [frozenset({manifest})]
    calls.quiet(2 * DEBOUNCE, count=1)


def test_an_editor_style_save_by_rename_counts_every_time(watcher: Watcher, tmp_path: Path) -> None:
    root = project(tmp_path)
    manifest = root / "devstack.yaml"
    calls = Calls()
    watcher.watch("manifest", [manifest], calls, debounce=DEBOUNCE)

    for round_ in (1, 2):  # the second save replaces the file the first one put there
        temp = root / f".devstack.yaml.{round_}.tmp"
        temp.write_text(f"name: shop{round_}\n")
        temp.replace(manifest)  # os.replace: atomic, as editors save
        assert calls.wait(round_)[-1] == frozenset({manifest})


def test_a_thousand_writes_in_a_burst_make_exactly_one_call(
    watcher: Watcher, tmp_path: Path
) -> None:
    root = project(tmp_path)
    calls = Calls()
    debounce = 0.3
    # max_wait well above the time the burst takes, so only the trailing edge fires.
    watcher.watch("api", [root], calls, debounce=debounce, max_wait=30.0)
    written = [root / "src" / f"m{i}.py" for i in range(1000)]

    for path in written:
        path.write_text("x = 1\n")

    [changed] = calls.wait()
    assert changed == frozenset(written)
    calls.quiet(2 * debounce, count=1)


def test_changes_in_ignored_folders_call_nothing(
    watcher: Watcher, tmp_path: Path, errors: list[str]
) -> None:
    root = project(tmp_path)
    calls = Calls()
    watcher.watch("api", [root], calls, debounce=DEBOUNCE, ignore=["*.log"])

    (root / ".git/index").write_text("x")
    (root / ".git/objects/ab/cdef").write_text("x")
    (root / "node_modules/left-pad/index.js").write_text("x")
    (root / "node_modules/new-dep").mkdir()
    (root / ".devstack/logs/api.log").write_text("x")
    (root / "src/app/__pycache__").mkdir()
    (root / "src/app/__pycache__/main.cpython-311.pyc").write_text("x")
    (root / "src/app/.main.py.swp").write_text("x")
    (root / "server.log").write_text("x")
    calls.quiet(2 * DEBOUNCE, count=0)
    (root / "src/app/main.py").write_text("print('changed')\n")

    assert calls.wait() == [frozenset({root / "src/app/main.py"})]
    assert errors == []


def test_a_file_saved_while_the_watch_is_replanned_is_not_lost(
    watcher: Watcher, tmp_path: Path, errors: list[str]
) -> None:
    # A new ignored folder makes the watcher replace its schedules (to prune it), and
    # watchdog drops what the replaced schedule had read but not yet dispatched: files
    # saved in that moment used to go unseen (a sync that never happened). Several such
    # folders, each followed at once by a save, make the moment likely.
    root = project(tmp_path)
    calls = Calls()
    watcher.watch("api", [root], calls, debounce=DEBOUNCE)
    saved = []
    for index in range(5):
        (root / f"src/app/pkg{index}/__pycache__").mkdir(parents=True)
        (root / f"src/app/pkg{index}/mod.py").write_text("x\n")
        saved.append(root / f"src/app/pkg{index}/mod.py")
    for path in saved:
        calls.wait_for_path(path)
    assert errors == []


def test_ignored_folders_get_no_inotify_watch(watcher: Watcher, tmp_path: Path) -> None:
    root = project(tmp_path)

    watcher.watch("api", [root], Calls(), debounce=DEBOUNCE)

    watched = inotify_inodes()
    assert watched is not None
    assert (root / "src/app").stat().st_ino in watched
    for folder in (".git", ".git/objects", "node_modules", "node_modules/left-pad", ".devstack"):
        assert (root / folder).stat().st_ino not in watched, folder


def test_an_ignored_folder_created_later_loses_its_watches(
    watcher: Watcher, tmp_path: Path
) -> None:
    """`npm install` in a watched folder: node_modules/ is pruned once it appears."""
    root = project(tmp_path)
    calls = Calls()
    watcher.watch("web", [root / "src"], calls, debounce=DEBOUNCE)

    # Made under another name first, so it surely has watches before it is renamed.
    (root / "src/staging/react/cjs").mkdir(parents=True)
    modules = (root / "src/staging/react").stat().st_ino
    deadline = time.monotonic() + DEADLINE
    while modules not in (inotify_inodes() or set()):
        assert time.monotonic() < deadline, "src/staging/react never got an inotify watch"
        time.sleep(0.02)
    (root / "src/staging").rename(root / "src/node_modules")
    while modules in (inotify_inodes() or set()):
        assert time.monotonic() < deadline, "src/node_modules/react kept its inotify watch"
        time.sleep(0.02)
    (root / "src/node_modules/react/cjs/react.js").write_text("x")
    (root / "src/app/main.py").write_text("x")

    calls.wait_for_path(root / "src/app/main.py")
    changed = {p for call in calls.calls for p in call}
    assert not any("node_modules" in p.parts and p.name != "node_modules" for p in changed)


def test_reading_watched_files_wakes_nothing(watcher: Watcher, tmp_path: Path) -> None:
    root = project(tmp_path)
    calls = Calls()
    watcher.watch("api", [root], calls, debounce=DEBOUNCE)

    for path in root.rglob("*"):
        if path.is_file():
            path.read_bytes()
    list(os.scandir(root / "src/app"))
    calls.quiet(2 * DEBOUNCE, count=0)
    (root / "src/app/main.py").touch()  # a touch (attributes only) is a change

    assert calls.wait() == [frozenset({root / "src/app/main.py"})]


def test_a_move_reports_both_ends(watcher: Watcher, tmp_path: Path) -> None:
    root = project(tmp_path)
    calls = Calls()
    watcher.watch("api", [root / "src"], calls, debounce=DEBOUNCE)

    (root / "src/app/main.py").rename(root / "src/app/server.py")

    assert calls.wait() == [frozenset({root / "src/app/main.py", root / "src/app/server.py"})]


def test_a_new_folder_next_to_an_ignored_one_is_watched(watcher: Watcher, tmp_path: Path) -> None:
    root = project(tmp_path)
    calls = Calls()
    watcher.watch("api", [root], calls, debounce=DEBOUNCE)

    (root / "lib").mkdir()
    calls.wait_for_path(root / "lib")
    deadline = time.monotonic() + DEADLINE
    while (root / "lib").stat().st_ino not in (inotify_inodes() or set()):
        assert time.monotonic() < deadline, "lib/ never got an inotify watch"
        time.sleep(0.02)
    (root / "lib/util.py").write_text("x")

    calls.wait_for_path(root / "lib/util.py")


def test_a_folder_created_later_is_watched_once_it_appears(
    watcher: Watcher, tmp_path: Path, errors: list[str]
) -> None:
    calls = Calls()
    later = tmp_path / "later"
    watcher.watch("api", [later], calls, debounce=DEBOUNCE)
    assert errors == [f"watch api: {later} does not exist; it is watched once it appears"]

    later.mkdir()
    calls.wait_for_path(later)
    deadline = time.monotonic() + DEADLINE
    while later.stat().st_ino not in (inotify_inodes() or set()):
        assert time.monotonic() < deadline, "later/ never got an inotify watch"
        time.sleep(0.02)
    (later / "app.py").write_text("x")

    calls.wait_for_path(later / "app.py")


def test_a_watched_folder_deleted_and_created_again_is_watched_again(
    watcher: Watcher, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    calls = Calls()
    watcher.watch("api", [src], calls, debounce=DEBOUNCE)

    src.rmdir()
    src.mkdir()
    calls.wait_for_path(src)
    deadline = time.monotonic() + DEADLINE
    while src.stat().st_ino not in (inotify_inodes() or set()):
        assert time.monotonic() < deadline, "the new src/ never got an inotify watch"
        time.sleep(0.02)
    (src / "app.py").write_text("x")

    calls.wait_for_path(src / "app.py")


def test_a_missing_folder_without_a_parent_is_one_error_line(
    watcher: Watcher, tmp_path: Path, errors: list[str]
) -> None:
    missing = tmp_path / "no" / "such"

    handle = watcher.watch("api", [missing], Calls())

    assert errors == [f"watch api: {missing} does not exist, nor does its folder; not watched"]
    handle.close()


def test_the_inotify_watch_limit_is_one_error_line(tmp_path: Path) -> None:
    class Exhausted(InotifyObserver):
        def schedule(self, *args: object, **kwargs: object) -> ObservedWatch:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    def factory() -> BaseObserver:
        return Exhausted()

    errors: list[str] = []
    watcher = Watcher(errors.append, observer_factory=factory)
    try:
        watcher.watch("api", [tmp_path], Calls())
    finally:
        watcher.close()

    [error] = errors  # one line, though the folder and its parent both failed
    assert error.startswith(f"watch api: cannot watch {tmp_path}: inotify watch limit reached")
    assert "(fs.inotify.max_user_watches=" in error
    assert "\n" not in error


def test_a_failing_on_change_is_reported_and_watching_goes_on(
    watcher: Watcher, tmp_path: Path, errors: list[str]
) -> None:
    root = project(tmp_path)
    calls = Calls()

    def on_change(changed: frozenset[Path]) -> None:
        calls(changed)
        if len(calls.calls) == 1:
            raise RuntimeError("restart failed")

    watcher.watch("api", [root / "src"], on_change, debounce=DEBOUNCE)
    (root / "src/app/a.py").write_text("x")
    calls.wait(1)
    (root / "src/app/b.py").write_text("x")
    calls.wait(2)

    assert errors == ["watch api: on_change failed: RuntimeError('restart failed')"]


def test_closing_one_watch_leaves_another_on_the_same_folder_working(
    watcher: Watcher, tmp_path: Path
) -> None:
    root = project(tmp_path)
    env = root / ".env"
    env.write_text("A=1\n")
    manifest_calls, env_calls = Calls(), Calls()
    manifest = watcher.watch(
        "manifest", [root / "devstack.yaml"], manifest_calls, debounce=DEBOUNCE
    )
    watcher.watch("env", [env], env_calls, debounce=DEBOUNCE)

    manifest.close()
    env.write_text("A=2\n")
    (root / "devstack.yaml").write_text("name: other\n")

    assert env_calls.wait() == [frozenset({env})]
    manifest_calls.quiet(2 * DEBOUNCE, count=0)
    assert watcher.keys() == ["env"]


def test_watching_a_key_again_replaces_the_earlier_watch(watcher: Watcher, tmp_path: Path) -> None:
    root = project(tmp_path)
    first, second = Calls(), Calls()
    watcher.watch("api", [root / "src"], first, debounce=DEBOUNCE)
    watcher.watch("api", [root / "src"], second, debounce=DEBOUNCE)

    (root / "src/app/main.py").write_text("x")

    second.wait()
    first.quiet(2 * DEBOUNCE, count=0)


def test_close_stops_every_thread_it_started(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = set(threading.enumerate())
    watcher = Watcher()
    calls = Calls()
    watcher.watch("api", [root], calls, debounce=DEBOUNCE)
    (root / "lib").mkdir()  # starts the replan thread
    calls.wait_for_path(root / "lib")

    watcher.close()

    assert set(threading.enumerate()) - before == set()


def test_a_20k_file_tree_is_watched_and_the_watcher_stays_idle(
    watcher: Watcher, tmp_path: Path
) -> None:
    """A correctness check for the inotify spin: watchdog's defaults also ask inotify for
    opens and closes; its own walk of a tree with thousands of folders then overflows the
    kernel queue, which makes it walk again, forever (100% of a core). Content events only
    keep it asleep. 5,000 folders of 4 files: past the point where the defaults spin."""
    root = tmp_path / "big"
    for index in range(5000):
        folder = root / f"d{index // 100}" / f"s{index % 100}"
        folder.mkdir(parents=True)
        for name in ("a.py", "b.py", "c.txt", "d.json"):  # empty: 2 syscalls a file
            os.close(os.open(folder / name, os.O_CREAT | os.O_WRONLY, 0o644))
    calls = Calls()
    watcher.watch("big", [root], calls, debounce=DEBOUNCE)

    before = resource.getrusage(resource.RUSAGE_SELF)
    calls.quiet(2.0, count=0)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    assert cpu < 0.2, f"the watcher used {cpu:.2f}s of CPU in 2s of no changes"
    (root / "d7/s7/a.py").write_text("y")
    assert calls.wait() == [frozenset({root / "d7/s7/a.py"})]
