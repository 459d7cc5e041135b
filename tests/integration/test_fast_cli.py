"""The everyday read-only calls answered before click (cli/fast.py) print exactly what the
full commands print, and hand every other shape of call to the full CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack.cli import fast
from devstack.cli.fast import Call
from helpers import Stack, describe, free_port, service

pytestmark = pytest.mark.timeout(90)

FULL = [sys.executable, "-m", "devstack.cli.main"]  # the click CLI, never the fast path


def _full(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FULL, *args], cwd=stack.root, env=stack.cli_env(), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def _without_uptime(table: str) -> list[list[str]]:
    """The status table's cells, UPTIME left out (the two calls are a second apart)."""
    rows = [line.split() for line in table.splitlines()]
    header = next(row for row in rows if row and row[0] == "SERVICE")
    column = header.index("UPTIME")
    return [row[:column] + row[column + 1 :] if len(row) == len(header) else row for row in rows]


def test_fast_answers_equal_the_full_commands(stack: Stack) -> None:
    stack.write(
        {"web": service("web", port=free_port()), "worker": service("worker", uses=["files"])},
        backing={"files": {"kind": "s3", "bucket": "fast-files"}},
    )
    stack.up()
    for args in (["status", "--json"], ["backing", "--json"]):
        fast_out, full_out = stack.ok(*args).stdout, _full(stack, *args).stdout
        assert json.loads(fast_out) == json.loads(full_out), args
    assert _without_uptime(stack.ok("status").stdout) == _without_uptime(
        _full(stack, "status").stdout
    )
    assert stack.ok("backing").stdout == _full(stack, "backing").stdout
    for args in (["logs", "-n", "5"], ["logs", "-t", "--tail=3", "web"], ["logs", "-n2", "worker"]):
        shown = stack.ok(*args)
        assert shown.stdout == _full(stack, *args).stdout, args
        assert shown.stdout.strip(), args  # the services logged: an empty answer proves nothing


def test_what_fast_does_not_answer_is_worded_by_the_full_cli(stack: Stack) -> None:
    stack.write({"worker": {"command": ["sleep", "600"]}})
    stack.up()
    unknown = stack.run("logs", "-n", "2", "nosuch")
    assert unknown.returncode == 2, describe(unknown, stack)
    assert "unknown service 'nosuch'" in unknown.stderr
    bad = stack.run("logs", "-n", "x")
    assert bad.returncode == 2 and "'x' is not a valid integer" in bad.stderr
    stack.ok("down")
    offline = stack.run("status")  # no daemon: the full command's answer
    assert offline.returncode == 1, describe(offline, stack)
    assert "no devstack daemon is running" in offline.stderr


@pytest.mark.parametrize(
    ("argv", "call"),
    [
        (["status"], Call("status")),
        (["status", "--json", "-f", "a.yaml"], Call("status", file="a.yaml", as_json=True)),
        (["-f", "a.yaml", "backing"], Call("backing", file="a.yaml")),
        (["--file=a.yaml", "logs", "-n", "3"], Call("logs", file="a.yaml", tail=3)),
        (
            ["logs", "--file", "a.yaml", "-n3", "-t", "api", "db"],
            Call("logs", file="a.yaml", tail=3, timestamps=True, services=["api", "db"]),
        ),
    ],
)
def test_the_shapes_answered_here(argv: list[str], call: Call) -> None:
    assert fast.parse(argv) == call


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["up"],
        ["status", "--help"],
        ["status", "-h"],
        ["--version"],
        ["logs"],
        ["logs", "-f", "-n", "3"],
        ["logs", "-n", "3", "--since", "5m"],
        ["logs", "-n", "x"],
        ["logs", "-n"],
        ["backing", "--verbose"],
        ["status", "--", "x"],
        ["-f"],
    ],
)
def test_every_other_shape_goes_to_the_full_cli(argv: list[str]) -> None:
    assert fast.parse(argv) is None


def test_the_fast_path_loads_no_click(stack: Stack) -> None:
    stack.write({"worker": {"command": ["sleep", "600"]}})
    stack.up()
    probe = "import sys; from devstack.cli import fast; fast.answer(['status']); print('click' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=stack.root, env=stack.cli_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.stdout.splitlines()[-1] == "False", done.stderr
