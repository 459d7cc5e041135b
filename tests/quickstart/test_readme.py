"""The README's Quickstart, run as a newcomer runs it, from README.md itself.

The Quickstart's ```console blocks are the contract (docs/development.md, "The user's
install is tested"): a `$ ` line is a command, the lines after it are output that must
appear in that order (other lines may come between), `…` stands for what varies, runs of
spaces count as one. A block starts with `$ cd stacks/NAME`: the stack is copied to a
temporary folder and each command runs there with `bash -c`, this interpreter's `bin`
first on PATH (as with the virtualenv activated). Read-only commands are re-run until
their output matches, as a user would (the worker processes an order asynchronously).

The runs need exactly what the README installs: scripts/quickstart-check.sh makes a fresh
virtualenv with it and sets DEVSTACK_QUICKSTART=1; elsewhere they skip. The parsing tests
run everywhere, so a README edit that breaks the convention fails the main suite too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import MARKER_VAR, Stack, port_busy

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RUN_VAR = "DEVSTACK_QUICKSTART"
# How long a read-only command is retried until its output matches.
RETRY_FOR = 20.0
COMMAND_TIMEOUT = 120.0
# The example stacks' fixed host ports: a taken one would make `up` fail confusingly.
PORTS = {"hello": (8000, 8001), "shop": (8080, 8081)}
# Commands that change nothing, so running them again is what a user would do.
READ_ONLY_DEVSTACK = {"status", "logs", "backing"}

needs_install = pytest.mark.skipif(
    os.environ.get(RUN_VAR) != "1",
    reason="runs in scripts/test.sh's quickstart step (scripts/quickstart-check.sh): "
    "a fresh virtualenv with exactly the README's install",
)


@dataclass
class Step:
    command: str
    line: int  # README.md line of the `$ ` line
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    stack: str
    line: int
    steps: list[Step]


# -- the README convention ----------------------------------------------------------------


def quickstart_blocks(text: str) -> dict[str, Block]:
    """The ```console blocks of the `## Quickstart` section, by the stack they `cd` into."""
    lines = text.splitlines()
    try:
        start = lines.index("## Quickstart")
    except ValueError:
        raise AssertionError("README.md has no '## Quickstart' section") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    blocks: dict[str, Block] = {}
    i = start
    while i < end:
        if lines[i].strip() != "```console":
            i += 1
            continue
        fence = i + 1  # the fence line, 1-based as README.md:LINE reads
        steps: list[Step] = []
        i += 1
        while i < end and lines[i].strip() != "```":
            line = lines[i]
            if line.startswith("$ "):
                steps.append(Step(line[2:].strip(), i + 1))
            elif steps:
                steps[-1].expected.append(line)
            else:
                raise AssertionError(f"README.md:{i + 1}: output before the first `$ ` command")
            i += 1
        if not steps or not re.fullmatch(r"cd stacks/[\w-]+", steps[0].command):
            raise AssertionError(
                f"README.md:{fence}: a console block starts with `$ cd stacks/NAME`"
            )
        name = steps[0].command.removeprefix("cd stacks/")
        blocks[name] = Block(name, fence, steps[1:])
    return blocks


def normalize(line: str) -> str:
    return " ".join(line.split())


def pattern(expected: str) -> re.Pattern[str]:
    """`…` matches anything; runs of spaces are one (table columns move with pids, ports)."""
    return re.compile(".*?".join(re.escape(part) for part in normalize(expected).split("…")))


def first_missing(expected: list[str], stdout: str, stderr: str) -> str | None:
    """The first expected line not found in order; None when all are.

    stdout and stderr are captured apart, so each keeps its own order: an expected line
    may match in either, after what matched before in that stream.
    """
    streams = [[normalize(x) for x in s.splitlines()] for s in (stdout, stderr)]
    cursors = [0, 0]
    for line in expected:
        regex = pattern(line)
        for n, lines in enumerate(streams):
            found = next(
                (k for k in range(cursors[n], len(lines)) if regex.fullmatch(lines[k])), None
            )
            if found is not None:
                cursors[n] = found + 1
                break
        else:
            return line
    return None


def read_only(command: str) -> bool:
    words = shlex.split(command)
    if words[0] == "curl":
        return not any(w.startswith(("-X", "-d", "--data", "--request")) for w in words[1:])
    return words[0] == "devstack" and len(words) > 1 and words[1] in READ_ONLY_DEVSTACK


# -- tests of the convention (run everywhere) ---------------------------------------------


def test_readme_has_a_quickstart_block_per_example_stack() -> None:
    blocks = quickstart_blocks(README.read_text())
    assert sorted(blocks) == ["hello", "shop"]
    for block in blocks.values():
        commands = [step.command for step in block.steps]
        assert commands[-1] == "devstack down", f"README.md:{block.line}: ends with down"
        assert all(step.expected for step in block.steps), (
            f"README.md:{block.line}: every command shows what it prints"
        )


def test_ellipsis_and_spacing() -> None:
    out = "SERVICE  PID   URL\ngreeter  9813  http://127.0.0.1:8000\n"
    assert first_missing(["greeter  …  http://127.0.0.1:8000"], out, "") is None
    assert first_missing(["SERVICE PID URL", "greeter … …:8000"], out, "") is None
    assert first_missing(["greeter … http://127.0.0.1:8001"], out, "") == (
        "greeter … http://127.0.0.1:8001"
    )
    # In order within a stream; either stream.
    assert first_missing(["greeter …", "SERVICE …"], out, "") == "SERVICE …"
    assert first_missing(["» start x", "greeter …"], out, "» start x\n") is None


def test_read_only_commands() -> None:
    assert read_only("curl localhost:8001")
    assert not read_only("curl -XPOST localhost:8080/orders -d '{}'")
    assert read_only("devstack logs worker")
    assert not read_only("devstack swap uploads moto")


# -- the runs -----------------------------------------------------------------------------


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short: the control socket lives in .devstack/ only while its path fits in sun_path.
    path = Path(tempfile.mkdtemp(prefix="ds-qs-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_step(step: Step, cwd: Path, env: dict[str, str]) -> None:
    retry = read_only(step.command)
    deadline = time.monotonic() + RETRY_FOR
    while True:
        result = subprocess.run(
            ["bash", "-c", step.command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        missing = first_missing(step.expected, result.stdout, result.stderr)
        if result.returncode == 0 and missing is None:
            return
        if not retry or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    why = (
        f"exited {result.returncode}"
        if result.returncode != 0
        else f"printed no line matching {missing!r}"
    )
    raise AssertionError(
        f"README.md:{step.line}: `$ {step.command}` {why}\n"
        f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    )


@needs_install
@pytest.mark.parametrize("name", sorted(PORTS))
def test_quickstart_runs_as_written(name: str, workdir: Path) -> None:
    block = quickstart_blocks(README.read_text())[name]
    busy = [port for port in PORTS[name] if port_busy(port)]
    assert not busy, f"the {name} stack needs 127.0.0.1 port(s) {busy}, which are taken"
    root = workdir / name
    shutil.copytree(
        ROOT / "stacks" / name,
        root,
        ignore=shutil.ignore_patterns(".devstack", "__pycache__", "vendor"),
    )
    stack = Stack(root)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    env[MARKER_VAR] = str(stack.root)  # lets the cleanup find a daemon `down` missed
    try:
        for step in block.steps:
            run_step(step, stack.root, env)
    finally:
        stack.cleanup()
    assert not stack.leftovers(), f"processes left after `devstack down`: {stack.leftovers()}"
