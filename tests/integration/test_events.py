"""The daemon's event stream and config endpoint, as the TUI uses them."""

from __future__ import annotations

import threading
from typing import Any

from devstack.api.client import Client
from helpers import Stack, service, wait_for


def test_event_stream_gives_snapshots_then_live_changes(stack: Stack) -> None:
    stack.write({"a": service("a", port=None), "b": service("b")})
    stack.up()
    seen: list[dict[str, Any]] = []
    client = Client(stack.socket, timeout=30)

    def follow() -> None:
        # Until both the status showing `a` stopped and the log line of its stop came: the
        # stream interleaves status snapshots and log lines, in no fixed order between them.
        stopped = logged = False
        for event in client.events(tail=50):
            seen.append(event)
            if event["type"] == "status":
                services = event["status"]["services"]
                stopped = stopped or any(
                    s["name"] == "a" and s["state"] == "stopped" for s in services
                )
            elif event["type"] == "log":
                logged = logged or "stop service:a" in event["line"]["text"]
            if stopped and logged:
                return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    wait_for(lambda: len(seen) >= 2, 10.0, "the snapshots")
    assert [e["type"] for e in seen[:2]] == ["status", "backing"]

    stack.ok("stop", "a")

    reader.join(15.0)
    assert not reader.is_alive(), "no status event showed a stopped, or no log line its stop"
    logs = [e["line"] for e in seen if e["type"] == "log"]
    seqs = [line["seq"] for line in logs]
    assert seqs == sorted(set(seqs)), "log lines repeated or out of order"
    assert any("stop service:a" in line["text"] for line in logs)


def test_config_endpoint_masks_secrets_unless_asked(stack: Stack) -> None:
    stack.write({"a": service("a", env={"API_TOKEN": "s3cr3t", "MODE": "x"})})
    stack.up()
    client = Client(stack.socket, timeout=30)

    masked = {v["name"]: v for v in client.config("a")["variables"]}
    shown = {v["name"]: v for v in client.config("a", show_secrets=True)["variables"]}

    assert masked["API_TOKEN"]["value"] == "********"
    assert masked["API_TOKEN"]["masked"] is True
    assert shown["API_TOKEN"]["value"] == "s3cr3t"
    assert masked["MODE"]["value"] == "x"
    assert "devstack.yaml" in masked["MODE"]["source"]
