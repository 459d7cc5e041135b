"""Releases of container services: `build`, `release`, and `up --release` on the old image."""

from __future__ import annotations

import json

from dockerstack import DockerStack

from docker_images import BUSYBOX_IMAGE
from helpers import describe, wait_for


def _app(dstack: DockerStack, version: str) -> None:
    (dstack.root / "app").mkdir(exist_ok=True)
    (dstack.root / "app" / "version.txt").write_text(version)
    (dstack.root / "app" / "Dockerfile").write_text(
        f'FROM {BUSYBOX_IMAGE}\nCOPY version.txt /version.txt\nCMD ["sh", "-c", "exec sleep 3600"]\n'
    )


def test_up_release_runs_the_image_it_recorded_after_a_rebuild(dstack: DockerStack) -> None:
    _app(dstack, "v1")
    dstack.write({"app": {"build": "app"}})
    built = dstack.run("build")
    assert built.returncode == 0, describe(built, dstack)
    assert built.stdout.startswith("app: ") and "sha256:" in built.stdout

    made = dstack.run("release")
    assert made.returncode == 0, describe(made, dstack)
    record = json.loads((dstack.state_dir / "releases" / "r1.json").read_text())
    image_id = record["images"]["app"]["id"]
    assert image_id.startswith("sha256:")
    assert dstack.engine.images.get(f"{dstack.name}/app:r1").id == image_id  # kept by a tag

    _app(dstack, "v2")
    dstack.up()
    assert dstack.exec("app", "cat /version.txt")[1].strip() == "v2"

    result = dstack.run("up", "-d", "--wait", "--release", "r1")
    assert result.returncode == 0, describe(result, dstack)
    wait_for(lambda: dstack.container("app").image.id == image_id, 30.0, "app on r1's image")
    assert dstack.exec("app", "cat /version.txt")[1].strip() == "v1"
