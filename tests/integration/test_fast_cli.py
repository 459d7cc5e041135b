"""The everyday read-only calls answered before click (cli/fast.py) print exactly what the
full commands print, and hand every other shape of call to the full CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack.cli import fast, fast_up
from devstack.cli.fast import Call
from helpers import Stack, describe, free_port, free_ports, service

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
    parsed = fast.parse(argv)
    assert parsed is not None and vars(parsed) == vars(call)


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


# What the fast path exists to avoid (cli/fast.py): click, and modules that cost 10-20 ms
# each on a 40-70 ms call. importlib.abc came in once through runtimes/docker_sdk.py.
HEAVY = ("click", "typing", "dataclasses", "pathlib", "inspect", "importlib.abc")


@pytest.mark.parametrize("argv", [["status"], ["up", "-d", "--wait"]])
def test_the_fast_path_loads_no_click_nor_other_heavy_module(stack: Stack, argv: list[str]) -> None:
    stack.write({"worker": {"command": ["sleep", "600"]}})
    stack.up()
    probe = (
        f"import sys; from devstack.cli import fast; code = fast.answer({argv!r});"
        f" print(code, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=stack.root, env=stack.cli_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr


def test_a_detached_up_on_a_running_stack_is_answered_without_click(stack: Stack) -> None:
    a_port, b_port = free_ports(2)
    stack.write({"a": service("a", port=a_port)})
    stack.up()
    stack.write({"a": service("a", port=a_port), "b": service("b", port=b_port)})
    changed = stack.ok("up", "--wait")
    assert "» start service:b" in changed.stderr
    assert "2 service(s) running and healthy" in changed.stderr
    assert stack.live()["b"]["state"] == "running"
    # The everyday case: nothing to do, every service already healthy.
    probe = (
        "import sys; from devstack.cli import fast; code = fast.answer(['up', '--wait']);"
        " print(code, 'click' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=stack.root, env=stack.cli_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.stdout.split() == ["0", "False"], describe(done, stack)
    assert done.stderr.strip() == "2 service(s) running and healthy", "a no-op plans nothing"
    assert stack.ok("up", "-d").stderr == ""


def test_a_detached_up_that_fails_is_worded_as_the_full_command_words_it(stack: Stack) -> None:
    port, bad_port = free_ports(2)
    stack.write({"a": service("a", port=port)})
    stack.up()
    # Health-checked: `--wait` waits for it to answer, and sees it exit instead.
    bad = service("bad", port=bad_port, flags=["--exit", "4"])
    stack.write({"a": service("a", port=port), "bad": bad})
    failed = stack.run("up", "--wait", "--wait-timeout", "20")
    assert failed.returncode == 1, describe(failed, stack)
    assert "» start service:bad" in failed.stderr
    assert "exit code 4" in failed.stderr and "bad: exiting with 4" in failed.stderr
    stack.write_text("name: t\nservices:\n  a:\n    command: 3\n")
    invalid = stack.run("up", "-d")
    assert invalid.returncode == 2, describe(invalid, stack)
    assert "devstack.yaml:4" in invalid.stderr and "Traceback" not in invalid.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["up", "-d"], {"detach": True}),
        (["up", "--wait", "--wait-timeout", "5"], {"wait": True, "wait_timeout": 5.0}),
        (["-f", "a.yaml", "up", "--detach", "--env=ci"], {"file": "a.yaml", "environment": "ci"}),
        (["up", "--wait", "--remove-orphans", "--file", "b.yaml"], {"file": "b.yaml"}),
    ],
)
def test_the_up_shapes_answered_here(argv: list[str], expected: dict[str, object]) -> None:
    parsed = fast.parse(argv)
    assert isinstance(parsed, fast_up.UpCall)
    for name, value in expected.items():
        assert getattr(parsed, name) == value, name


@pytest.mark.parametrize(
    "argv",
    [
        ["up", "--no-ui"],
        ["up", "-d", "--dry-run"],
        ["up", "-d", "--build"],
        ["up", "-d", "--profile", "x"],
        ["up", "-d", "--context", "big"],
        ["up", "--wait", "--wait-timeout", "soon"],
        ["up", "-dt"],
        ["-f", "a.yaml", "up", "-d", "-f", "b.yaml"],
    ],
)
def test_every_other_up_goes_to_the_full_cli(argv: list[str]) -> None:
    assert fast.parse(argv) is None
