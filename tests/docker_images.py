"""Docker engine and locally built test images, for tests that run real containers.

No registry is reachable, so nothing is pulled: `scripts/test-images.sh` builds the images
(cached by tag) and `scripts/docker-setup.sh` installs and starts the engine when it can.
Plain functions, no fixtures; everything goes through the `docker` CLI in a subprocess.

    reason = ensure_engine()
    if reason:
        pytest.skip(reason)
    ensure_image(BUSYBOX_IMAGE)

Run long-lived commands in these images with `docker run --init`: busybox (and python3) as
PID 1 ignore SIGTERM, so `docker stop` would wait out its grace period and SIGKILL.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP_SCRIPT = ROOT / "scripts" / "docker-setup.sh"
IMAGES_SCRIPT = ROOT / "scripts" / "test-images.sh"

BUSYBOX_IMAGE = "devstack-test/busybox:1"
PYTHON_IMAGE = "devstack-test/python:1"
# LocalStack's last open release: S3, SQS, SSM, Secrets Manager, SNS... on port 4566, health
# at /_localstack/health. Not DynamoDB (it downloads a JDK at run time, and no network is
# reachable). Built only where pyenv has a Python 3.13: see localstack_image_missing().
LOCALSTACK_IMAGE = "devstack-test/localstack:2026.3.0"
# Image name -> extra arguments scripts/test-images.sh needs to build it.
_BUILD_ARGS: dict[str, list[str]] = {
    BUSYBOX_IMAGE: [],
    PYTHON_IMAGE: ["--python"],
    LOCALSTACK_IMAGE: ["--localstack"],
}

# Installing the engine with apt and running debootstrap take minutes on a fresh machine.
SETUP_TIMEOUT = 600.0
BUILD_TIMEOUT = 900.0

# Why the engine could not be had, once ensure_engine has failed: not retried in a process
# (docker-setup.sh may run apt-get; one try per test session is enough).
_engine_failure: dict[str, str] = {}


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _docker_ok(*args: str) -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return _run(["docker", *args], timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit code {proc.returncode}"


def ensure_engine() -> str | None:
    """Return None when `docker info` works (after running docker-setup.sh if it did not),
    else a one-line reason, e.g. for `pytest.skip`. A failure is remembered per process."""
    if "reason" in _engine_failure:
        return _engine_failure["reason"]
    if _docker_ok("info"):
        return None
    try:
        proc = _run(["bash", str(SETUP_SCRIPT)], timeout=SETUP_TIMEOUT)
    except subprocess.TimeoutExpired:
        reason = f"{SETUP_SCRIPT.name} timed out after {SETUP_TIMEOUT:g}s"
    else:
        if proc.returncode == 0 and _docker_ok("info"):
            return None
        reason = _last_line(proc)
    _engine_failure["reason"] = f"docker engine unavailable: {reason}"
    return _engine_failure["reason"]


def ensure_image(name: str) -> None:
    """Make sure the test image `name` (one of the *_IMAGE names) exists, building it
    with scripts/test-images.sh when `docker image inspect` fails. Raises RuntimeError when
    the build fails and ValueError for an image the script does not build."""
    if name not in _BUILD_ARGS:
        known = ", ".join(sorted(_BUILD_ARGS))
        raise ValueError(f"no recipe for image {name!r}; test-images.sh builds {known}")
    if _docker_ok("image", "inspect", name):
        return
    args = ["bash", str(IMAGES_SCRIPT), *_BUILD_ARGS[name]]
    try:
        proc = _run(args, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{' '.join(args)} timed out after {BUILD_TIMEOUT:g}s") from exc
    if proc.returncode != 0 or not _docker_ok("image", "inspect", name):
        output = (proc.stdout + proc.stderr).strip()
        raise RuntimeError(
            f"building {name} failed ({IMAGES_SCRIPT.name} exit {proc.returncode}):\n{output}"
        )


def image_present(name: str) -> bool:
    """True when the image `name` exists on the engine (`docker image inspect` works)."""
    return _docker_ok("image", "inspect", name)


def localstack_image_missing() -> str | None:
    """Return None when LOCALSTACK_IMAGE exists (building it with `test-images.sh
    --localstack` when it does not), else a one-line reason, e.g. for `pytest.skip`: the
    script skips that image, exit 0, on a machine without pyenv's Python 3.13. Raises
    RuntimeError when the build itself fails or times out."""
    if image_present(LOCALSTACK_IMAGE):
        return None
    args = ["bash", str(IMAGES_SCRIPT), *_BUILD_ARGS[LOCALSTACK_IMAGE]]
    try:
        proc = _run(args, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{' '.join(args)} timed out after {BUILD_TIMEOUT:g}s") from exc
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise RuntimeError(
            f"building {LOCALSTACK_IMAGE} failed ({IMAGES_SCRIPT.name} exit {proc.returncode}):"
            f"\n{output}"
        )
    if image_present(LOCALSTACK_IMAGE):
        return None
    skipped = [line for line in proc.stdout.splitlines() if "skipping LocalStack image" in line]
    return skipped[-1].removeprefix("test-images: ") if skipped else f"{LOCALSTACK_IMAGE} not built"
