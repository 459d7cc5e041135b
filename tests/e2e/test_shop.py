"""The shop example as a user meets it: stacks/shop on the embedded default (MiniStack,
no Docker), an order through api and worker, then S3 and SQS swapped to moto and back.

The api's port (8080) is fixed by the example, so the module is skipped when it is taken.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from helpers import Stack, port_busy, wait_for

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
pytest.importorskip("moto.server", reason="moto is not installed (pip install 'moto[server]')")

SHOP = Path(__file__).resolve().parents[2] / "stacks" / "shop"
API = "http://127.0.0.1:8080"

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(port_busy(8080), reason="port 8080 is busy on 127.0.0.1"),
    pytest.mark.skipif(port_busy(8081), reason="port 8081 (stats) is busy on 127.0.0.1"),
]


@pytest.fixture
def shop(stack: Stack) -> Stack:
    shutil.copy2(SHOP / "devstack.yaml", stack.root / "devstack.yaml")
    shutil.copytree(SHOP / "seed", stack.root / "seed")
    for name in ("api", "worker", "stats"):
        shutil.copytree(
            SHOP / "services" / name,
            stack.root / "services" / name,
            ignore=shutil.ignore_patterns("vendor", "vendor.tmp", "__pycache__"),
        )
    return stack


def _env() -> dict[str, str]:
    # The services run `python3` and need boto3: this virtualenv's interpreter has it.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    # No linger: the test sees the unused emulator retired at once after the swaps back.
    return {"PATH": path, "DEVSTACK_PROVIDER_LINGER": "0"}


def _call(path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(API + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def _order_is_processed(item: str) -> dict[str, Any]:
    order = _call("/orders", {"item": item, "qty": 1})
    assert order["status"] == "pending"

    def done() -> dict[str, Any] | None:
        found = _call(f"/orders/{order['id']}")
        return found if found.get("status") == "done" else None

    return wait_for(done, 20.0, f"the worker to process the {item} order")


def test_shop_works_before_and_after_swapping_s3_and_sqs(shop: Stack) -> None:
    shop.up(env=_env())
    assert _call("/flags") == {"new-checkout": True}
    _order_is_processed("tea")
    before = _call("/config")["endpoints"]
    assert before["s3"] == before["sqs"] == before["dynamodb"]

    shop.ok("swap", "uploads", "moto", env=_env())
    shop.ok("swap", "jobs", "moto", env=_env())

    after = _call("/config")["endpoints"]
    assert after["s3"] == after["sqs"] != before["s3"]
    assert after["dynamodb"] == before["dynamodb"]  # orders stayed on MiniStack
    _order_is_processed("cake")

    shop.ok("swap", "uploads", "--undo", env=_env())
    shop.ok("swap", "jobs", "--undo", env=_env())
    assert _call("/config")["endpoints"] == before
    _order_is_processed("jam")
    wait_for(lambda: "moto" not in shop.services(), 15.0, "moto to be retired")
