"""Live reload's `sync` action on a real container: changed files are copied into the running
container (no restart), deletions and new folders follow, ignored paths never go in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dockerstack import DockerStack

from docker_images import BUSYBOX_IMAGE
from helpers import wait_for

pytestmark = pytest.mark.timeout(120)

WATCH = {"DEVSTACK_WATCH": "1"}  # the test harness turns live reload off by default
TARGET = "/app/src"
SYNCED = 15.0  # debounce 20 ms, then one docker put_archive: well under a second here


@pytest.fixture
def synced(dstack: DockerStack) -> DockerStack:
    """`app` built from app/ (its src/ copied to /app/src), with a sync rule on app/src."""
    app = dstack.root / "app"
    (app / "src").mkdir(parents=True)
    (app / "src" / "main.py").write_text("print('v1')\n")
    (app / "Dockerfile").write_text(
        f'FROM {BUSYBOX_IMAGE}\nCOPY src {TARGET}\nCMD ["sh", "-c", "exec sleep 3600"]\n'
    )
    dstack.write(
        {
            "app": {
                "build": "app",
                "watch": [{"path": "./app/src", "action": "sync", "target": TARGET}],
            }
        }
    )
    dstack.up(env=WATCH)
    return dstack


def cat(stack: DockerStack, path: str) -> str | None:
    """The file's content in the container, None when it is not there."""
    code, output = stack.exec("app", f"cat {path}")
    return output if code == 0 else None


def exists(stack: DockerStack, path: str) -> bool:
    code, _ = stack.exec("app", f"test -e {path}")
    return code == 0


def identity(stack: DockerStack) -> tuple[str, Any]:
    """The container's id and when it last started: both stay put across a sync."""
    container = stack.container("app")
    container.reload()
    return str(container.id), container.attrs["State"]["StartedAt"]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_an_edited_file_is_copied_into_the_running_container(synced: DockerStack) -> None:
    before = identity(synced)
    assert cat(synced, f"{TARGET}/main.py") == "print('v1')\n"

    write(synced.root / "app" / "src" / "main.py", "print('v2')\n")

    wait_for(lambda: cat(synced, f"{TARGET}/main.py") == "print('v2')\n", SYNCED, "main.py v2")
    assert identity(synced) == before, "the container was restarted or replaced"
    assert synced.live()["app"]["state"] == "running"
    assert "synced 1 file(s) into /app/src" in synced.log_text("app")


def test_a_new_folder_goes_in_with_its_files(synced: DockerStack) -> None:
    before = identity(synced)

    write(synced.root / "app" / "src" / "pkg" / "deep" / "mod.py", "X = 1\n")

    wait_for(lambda: cat(synced, f"{TARGET}/pkg/deep/mod.py") == "X = 1\n", SYNCED, "pkg/deep")
    assert identity(synced) == before


def test_ignored_paths_are_not_copied(synced: DockerStack) -> None:
    before = identity(synced)
    src = synced.root / "app" / "src"

    write(src / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(src / "__pycache__" / "main.cpython-311.pyc", "bytecode")
    write(src / "notes.swp", "vim")
    # A change that is synced, written last: once it is in, the others had their chance.
    write(src / "after.py", "after\n")

    wait_for(lambda: cat(synced, f"{TARGET}/after.py") == "after\n", SYNCED, "after.py")
    for ignored in (".git", "__pycache__", "notes.swp"):
        assert not exists(synced, f"{TARGET}/{ignored}"), f"{ignored} was copied"
    assert identity(synced) == before


def test_a_deleted_file_is_deleted_in_the_container(synced: DockerStack) -> None:
    before = identity(synced)
    src = synced.root / "app" / "src"
    write(src / "gone.py", "soon gone\n")
    write(src / "old" / "inner.py", "inner\n")
    wait_for(lambda: cat(synced, f"{TARGET}/old/inner.py") == "inner\n", SYNCED, "old/inner.py")

    (src / "gone.py").unlink()
    (src / "old" / "inner.py").unlink()
    (src / "old").rmdir()

    wait_for(lambda: not exists(synced, f"{TARGET}/gone.py"), SYNCED, "gone.py deleted")
    wait_for(lambda: not exists(synced, f"{TARGET}/old"), SYNCED, "old/ deleted")
    assert cat(synced, f"{TARGET}/main.py") == "print('v1')\n"  # the rest stays
    assert identity(synced) == before
