"""`devstack rebuild SERVICE`: the image is built again and the service restarted."""

from __future__ import annotations

from dockerstack import DockerStack

from docker_images import BUSYBOX_IMAGE
from helpers import describe


def test_rebuild_builds_again_and_restarts_only_that_service(dstack: DockerStack) -> None:
    (dstack.root / "app").mkdir()
    (dstack.root / "app" / "Dockerfile").write_text(
        f'FROM {BUSYBOX_IMAGE}\nCMD ["sh", "-c", "exec sleep 3600"]\n'
    )
    dstack.write(
        {
            "app": {"build": "app"},
            "other": {"image": BUSYBOX_IMAGE, "command": ["sh", "-c", "exec sleep 3600"]},
        }
    )
    dstack.up()
    before = dstack.ids()

    result = dstack.run("rebuild", "app")

    assert result.returncode == 0, describe(result, dstack)
    after = dstack.ids()
    assert after["app"] != before["app"]
    assert after["other"] == before["other"]
    assert dstack.log_text("app").count("building ") >= 2  # the first up, then the rebuild


def test_rebuild_of_a_service_without_build_is_refused(dstack: DockerStack) -> None:
    dstack.write({"other": {"image": BUSYBOX_IMAGE, "command": ["sh", "-c", "exec sleep 3600"]}})
    dstack.up()

    result = dstack.run("rebuild", "other")

    assert result.returncode == 2, describe(result, dstack)  # a bad argument
    assert "has no build" in result.stderr
