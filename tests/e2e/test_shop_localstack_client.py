"""The shop's stats service, written with localstack-client, on the real default stack
(MiniStack as a host process), and what a swap that splits a consumer's bindings onto a
real moto tells about such code.

The shop's fixed ports (8080, 8081) are replaced by free ones, so this runs beside others.
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

from helpers import Stack, free_port, wait_for

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
pytest.importorskip("moto.server", reason="moto is not installed (pip install 'moto[server]')")
pytest.importorskip("localstack_client", reason="localstack-client is not installed")

SHOP = Path(__file__).resolve().parents[2] / "stacks" / "shop"

pytestmark = pytest.mark.timeout(150)


class Shop:
    def __init__(self, stack: Stack, api: int, stats: int) -> None:
        self.stack, self.api, self.stats = stack, f"http://127.0.0.1:{api}", stats

    def call(self, url: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.load(reply)

    def stats_now(self) -> Any:
        return self.call(f"http://127.0.0.1:{self.stats}/stats")

    def config(self, service: str) -> dict[str, Any]:
        result = self.stack.ok("config", "show", service, "--json", env=_env())
        data: dict[str, Any] = json.loads(result.stdout)
        return data


@pytest.fixture
def shop(stack: Stack) -> Shop:
    api, stats = free_port(), free_port()
    text = (SHOP / "devstack.yaml").read_text()
    text = text.replace('"8080"', f'"{api}"').replace('"8081"', f'"{stats}"')
    stack.manifest.write_text(text)
    shutil.copytree(SHOP / "seed", stack.root / "seed")
    for name in ("api", "worker", "stats"):
        shutil.copytree(
            SHOP / "services" / name,
            stack.root / "services" / name,
            ignore=shutil.ignore_patterns("vendor", "vendor.tmp", "__pycache__"),
        )
    return Shop(stack, api, stats)


def _env() -> dict[str, str]:
    # The services run `python3` and need boto3 and localstack-client: this interpreter's.
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_stats_reads_the_shop_through_localstack_client_then_a_split_is_noted(shop: Shop) -> None:
    shop.stack.up(env=_env())

    variables = {v["name"]: v["value"] for v in shop.config("stats")["variables"]}
    ministack = variables["AWS_ENDPOINT_URL"]
    assert variables["LOCALSTACK_HOST"] == ministack.removeprefix("http://")
    assert ministack.startswith("http://127.0.0.1:")

    order = shop.call(f"{shop.api}/orders", {"item": "tea", "qty": 1})
    assert sum(shop.stats_now()["orders"].values()) == 1  # pending or already done
    found = wait_for(
        lambda: (s := shop.stats_now())["orders"] == {"done": 1} and s,
        20.0,
        f"stats to count order {order['id']} as done",
    )
    # What localstack-client resolved by itself, from the variables devstack injected.
    assert found == {"orders": {"done": 1}, "new_checkout": True, "endpoint": ministack}

    # Moving orders to moto would split stats (orders on moto, flags on MiniStack).
    preview = shop.stack.ok("swap", "orders", "moto", "--dry-run", env=_env())
    assert (
        f"note: stats: localstack-client code reaches only ministack ({ministack}, from "
        "LOCALSTACK_HOST): orders on moto out of its reach"
    ) in preview.stdout.splitlines()

    # For real, onto a real moto: the worker's uploads on moto, its queue on MiniStack.
    swapped = shop.stack.ok("swap", "uploads", "moto", env=_env())
    worker_note = (
        f"worker: localstack-client code reaches only ministack ({ministack}, from "
        "LOCALSTACK_HOST): uploads on moto out of its reach"
    )
    assert f"note: {worker_note}" in swapped.stdout.splitlines()
    shown = shop.stack.ok("config", "show", "worker", env=_env())
    assert f"note: {worker_note}" in shown.stderr.splitlines()
    assert "AWS_ENDPOINT_URL=" not in shown.stdout  # two endpoints: no shared one
    assert shop.config("worker")["notes"] == [worker_note]
    assert shop.config("stats")["notes"] == []  # orders and flags stayed together
    assert shop.stats_now()["orders"] == {"done": 1}
