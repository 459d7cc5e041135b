"""A bad manifest stops `up` before anything starts: exit code 2 and a located error."""

from __future__ import annotations

import itertools
import time

import pytest

from helpers import Stack

pytestmark = pytest.mark.timeout(60)

HEAD = "name: bad\nservices:\n  x:\n    command: python3 svc.py --name x\n"

CASES = [
    pytest.param(
        HEAD + '    ports: ["99999"]\n',
        "devstack.yaml:5:13: services.x.ports[0]: ",
        "99999",
        id="port-out-of-range",
    ),
    pytest.param(
        HEAD + '    ports: ["8000", "http"]\n',
        "devstack.yaml:5:21: services.x.ports[1]: ",
        "'http'",
        id="port-not-a-number",
    ),
    pytest.param(
        HEAD + "    restrat: always\n",
        "devstack.yaml:5:5: services.x.restrat: ",
        "unknown key",
        id="unknown-key",
    ),
    pytest.param(
        HEAD + "    depends_on: [nope]\n",
        "devstack.yaml:5:18: services.x.depends_on[0]: ",
        "nope",
        id="unknown-dependency",
    ),
    pytest.param(
        HEAD + "    stop_grace: forever\n",
        "devstack.yaml:5:17: services.x.stop_grace: ",
        "forever",
        id="bad-duration",
    ),
    pytest.param(
        HEAD + '    env: {A: "${services.nope.port}"}\n',
        "devstack.yaml:5:14: services.x.env.A: ",
        "nope",
        id="unknown-service-reference",
    ),
    pytest.param(
        HEAD + "    depends_on: [y]\n  y:\n    command: python3 svc.py --name y\n"
        "    depends_on: [x]\n",
        "devstack.yaml:5:17: services.x.depends_on: ",
        "cycle",
        id="dependency-cycle",
    ),
    pytest.param(
        HEAD + "    ports: [8000\n",
        "devstack.yaml:6:1: ",
        "expected",
        id="yaml-syntax",
    ),
    pytest.param(
        HEAD + "  x:\n    command: python3 svc.py --name again\n",
        "devstack.yaml:5:3: ",
        "duplicate",
        id="duplicate-key",
    ),
]


def _assert_nothing_started(stack: Stack) -> None:
    assert not stack.socket.exists(), "a daemon socket was created"
    assert stack.daemons() == [], "a daemon was started"
    assert stack.owned() == {}, "a service was started"


@pytest.mark.parametrize(("text", "where", "what"), CASES)
def test_bad_manifest_is_refused_with_its_location(
    stack: Stack, text: str, where: str, what: str
) -> None:
    stack.write_text(text)
    result = stack.run("up", "-d", "--wait")
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    problems = [line.strip() for line in result.stderr.splitlines()]
    located = [line for line in problems if line.startswith(where)]
    assert located, f"no line starts with {where!r}:\n{result.stderr}"
    assert what in located[0], result.stderr
    _assert_nothing_started(stack)


def test_validate_and_dry_run_refuse_a_bad_manifest_too(stack: Stack) -> None:
    stack.write_text(HEAD + '    ports: ["99999"]\n')
    for args in (("validate",), ("up", "--dry-run"), ("config", "show", "x")):
        result = stack.run(*args)
        assert result.returncode == 2, result
        assert "devstack.yaml:5:13: services.x.ports[0]: " in result.stderr
    _assert_nothing_started(stack)


def test_every_problem_is_listed_at_once(stack: Stack) -> None:
    stack.write_text(HEAD + '    ports: ["0"]\n    restart: sometimes\n')
    result = stack.run("up", "-d")
    assert result.returncode == 2, result
    assert "devstack.yaml:5:13: services.x.ports[0]: " in result.stderr
    assert "devstack.yaml:6:14: services.x.restart: " in result.stderr
    _assert_nothing_started(stack)


def test_missing_manifest_is_a_usage_error(stack: Stack) -> None:
    result = stack.run("up", "-d")
    assert result.returncode == 2, result
    assert "devstack.yaml" in result.stderr
    _assert_nothing_started(stack)


def test_unknown_environment_is_refused(stack: Stack) -> None:
    stack.write_text(HEAD)
    result = stack.run("up", "-d", "--env", "nowhere")
    assert result.returncode == 2, result
    assert "nowhere" in result.stderr
    _assert_nothing_started(stack)


def test_yaml_alias_bomb_is_rejected_quickly(stack: Stack) -> None:
    levels = "abcdefghi"
    lines = ["name: bomb", f"x-{levels[0]}: &{levels[0]} [{', '.join(['lol'] * 9)}]"]
    for previous, level in itertools.pairwise(levels):
        lines.append(f"x-{level}: &{level} [{', '.join(['*' + previous] * 9)}]")
    lines.append("services: {}")
    stack.write_text("\n".join(lines) + "\n")  # 9**9 (387 million) strings once expanded

    began = time.monotonic()
    result = stack.run("up", "-d", timeout=30)
    took = time.monotonic() - began

    assert result.returncode == 2, result
    assert "alias" in result.stderr
    assert "devstack.yaml:" in result.stderr
    # Expanded, it would take minutes and gigabytes; rejected, seconds even on a busy
    # machine. The bound is generous on purpose: it guards the cap, it is no benchmark.
    assert took < 15.0, f"the alias bomb took {took:.2f}s to reject"
    _assert_nothing_started(stack)
