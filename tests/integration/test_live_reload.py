"""Live reload against a real daemon: manifest edits, broken edits, watched sources."""

from __future__ import annotations

from pathlib import Path

import yaml

from helpers import Stack, service, wait_for

WATCH = {"DEVSTACK_WATCH": "1"}  # the test harness turns live reload off by default


def edit(stack: Stack, change: dict[str, object]) -> None:
    """Rewrite the manifest the way an editor saves: a new file renamed over the old one."""
    doc = yaml.safe_load(stack.manifest.read_text())
    for name, env in change.items():
        doc["services"][name]["env"] = env
    temp = stack.manifest.with_suffix(".tmp")
    temp.write_text(yaml.safe_dump(doc, sort_keys=False))
    temp.replace(stack.manifest)


def restarted(stack: Stack, name: str, old_pid: int | None) -> int:
    def new_pid() -> int | None:
        pid = stack.live()[name]["pid"]
        return pid if pid and pid != old_pid and stack.live()[name]["state"] == "running" else None

    return wait_for(new_pid, 15.0, f"{name} to restart")


def test_an_env_edit_restarts_exactly_the_service_it_touches(stack: Stack) -> None:
    stack.write({"a": service("a", env={"GREETING": "hi"}), "b": service("b")})
    stack.up(env=WATCH)
    before = stack.pids()

    edit(stack, {"a": {"GREETING": "hello"}})

    restarted(stack, "a", before["a"])
    assert stack.pids()["b"] == before["b"]
    assert "GREETING=hello" in stack.ok("config", "show", "a").stdout
    assert "manifest change applied" in stack.ok("logs", "devstack").stdout


def test_a_broken_edit_is_reported_and_changes_nothing(stack: Stack) -> None:
    stack.write({"a": service("a", env={"GREETING": "hi"})})
    stack.up(env=WATCH)
    before = stack.pids()
    good = stack.manifest.read_text()

    stack.manifest.write_text(good + "  oops: [unclosed\n")

    problems = wait_for(lambda: stack.status()["problems"], 10.0, "the problem to be reported")
    assert "devstack.yaml:" in problems[0]
    assert "not applied" in stack.ok("status").stdout
    assert "manifest edit not applied" in stack.ok("logs", "devstack").stdout
    assert stack.pids() == before

    stack.manifest.write_text(good)
    edit(stack, {"a": {"GREETING": "fixed"}})

    restarted(stack, "a", before["a"])
    assert stack.status()["problems"] == []


def test_a_burst_of_source_changes_restarts_the_service_once(stack: Stack) -> None:
    src = stack.root / "src"
    src.mkdir()
    stack.write({"a": service("a", watch=[{"path": "src"}]), "b": service("b")})
    stack.up(env=WATCH)
    before = stack.pids()

    for index in range(1000):
        (src / f"f{index % 50}.py").write_text(f"x = {index}\n")
    (stack.root / "src" / "__pycache__").mkdir()
    (stack.root / "src" / "__pycache__" / "x.pyc").write_bytes(b"ignored")

    restarted(stack, "a", before["a"])
    assert stack.pids()["b"] == before["b"]

    def restarts_logged() -> int:
        return stack.ok("logs", "a").stdout.count("watched files changed")

    # One action for the burst: give a second one time to show up, then count.
    wait_for(lambda: restarts_logged() >= 1, 5.0, "the restart to be logged")
    after = stack.pids()["a"]
    Path(stack.root / "marker").write_text("not watched")
    wait_for(lambda: stack.live()["a"]["state"] == "running", 5.0, "a to run")
    assert restarts_logged() == 1, stack.ok("logs", "a").stdout[-3000:]
    assert stack.pids()["a"] == after
