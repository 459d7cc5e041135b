"""The shop example in containers: api and worker built from their Dockerfiles, S3, SQS and
SSM on a real LocalStack container, the orders table on MiniStack through the relay."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dockerstack import DockerStack

from components import unavailable
from docker_images import LOCALSTACK_IMAGE, PYTHON_IMAGE, ensure_image, localstack_image_missing
from helpers import describe, port_busy, wait_for

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")

SHOP = Path(__file__).resolve().parents[2] / "stacks" / "shop"
API = "http://127.0.0.1:18080"
pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(port_busy(18080), reason="port 18080 is busy on 127.0.0.1"),
]


def _call(path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(API + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def _processed(item: str) -> dict[str, Any]:
    order = _call("/orders", {"item": item, "qty": 1})

    def done() -> dict[str, Any] | None:
        found = _call(f"/orders/{order['id']}")
        return found if found.get("status") == "done" else None

    return wait_for(done, 30.0, f"the worker to process the {item} order")


@pytest.fixture
def shop(dstack: DockerStack) -> DockerStack:
    reason = localstack_image_missing()
    if reason:
        unavailable(reason)
    ensure_image(PYTHON_IMAGE)
    vendored = subprocess.run(
        ["bash", str(SHOP / "services" / "vendor.sh")], capture_output=True, text=True, check=False
    )
    if vendored.returncode != 0:
        pytest.skip(f"cannot vendor boto3 for the images: {vendored.stderr.strip()[-200:]}")
    # At the stack root (build contexts adjusted) so the fixture's teardown finds it.
    text = (SHOP / "docker" / "devstack.yaml").read_text()
    text = text.replace("name: shop-docker", f"name: {dstack.name}")
    dstack.manifest.write_text(text.replace("../services/", "services/"))
    shutil.copytree(
        SHOP / "services",
        dstack.root / "services",
        ignore=shutil.ignore_patterns("__pycache__", "vendor.tmp"),
    )
    return dstack


def test_shop_in_containers_on_localstack_and_a_swap(shop: DockerStack) -> None:
    env = {"PYTHON_IMAGE": PYTHON_IMAGE, "LOCALSTACK_IMAGE": LOCALSTACK_IMAGE}
    result = shop.run("up", "-d", "--wait", "--wait-timeout", "300", env=env, timeout=400)
    assert result.returncode == 0, describe(result, shop)

    assert _call("/flags") == {"new-checkout": True}
    _processed("tea")
    endpoints = _call("/config")["endpoints"]
    assert endpoints["s3"] == "http://localstack:4566"  # the stack network
    assert endpoints["dynamodb"].startswith("http://host.docker.internal:")  # via the relay

    swapped = shop.run("swap", "uploads", "ministack", env=env, timeout=200)
    assert swapped.returncode == 0, describe(swapped, shop)
    assert "restarts: api, worker" in swapped.stdout
    assert _call("/config")["endpoints"]["s3"].startswith("http://host.docker.internal:")
    _processed("cake")
