"""`devstack run` and `devstack exec` on host-process services: real CLI, real processes.

A one-off runs in the service's workdir with the service's effective config (the running
environment, bindings, env), attached to the caller, its exit code propagated; it is never
part of the stack (no owner label: the daemon never adopts it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml

from helpers import Stack, describe, environ, free_port, service

pytestmark = pytest.mark.timeout(90)

# A backing service of kind `url` binds without any provider: PAYMENTS_URL.
BACKING = {"payments": {"kind": "url", "url": "http://127.0.0.1:9/pay"}}
ENVIRONMENTS = {
    "dev": {"vars": {"GREETING": "hello"}},
    "staging": {"vars": {"GREETING": "bonjour"}},
}
PRINT_CONFIG = 'pwd; echo "MSG=$MSG"; echo "PAYMENTS_URL=$PAYMENTS_URL"; echo "PORT=$PORT"'


def cli(
    stack: Stack, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI with `input` on its stdin (Stack.run gives it /dev/null)."""
    return subprocess.run(
        [sys.executable, "-m", "devstack.cli.main", *args],
        cwd=stack.root,
        env=stack.cli_env(env),
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def attached(stack: Stack, *args: str) -> Iterator[subprocess.Popen[str]]:
    """The CLI running in the background with pipes on all three ends, in its own process
    group (as a terminal's foreground job); killed with its group if a test fails."""
    with subprocess.Popen(
        [sys.executable, "-m", "devstack.cli.main", *args],
        cwd=stack.root,
        env=stack.cli_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            yield child
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.splitlines()


@pytest.fixture
def web(stack: Stack) -> Stack:
    """A stack with `web` (an HTTP service in ./sub, bound to `payments`) and its env."""
    (stack.root / "sub").mkdir()
    entry = service(
        "web",
        port=free_port(),
        workdir="sub",
        uses=["payments"],
        env={"MSG": "${GREETING}, world", "API_TOKEN": "s3cret"},
        inherit_env=["RUN_TEST_INHERITED"],
    )
    entry["command"][1] = "../svc.py"  # svc.py is beside the manifest
    stack.write({"web": entry}, environments=ENVIRONMENTS, backing=BACKING)
    return stack


def port_of(stack: Stack, name: str) -> str:
    return str(yaml.safe_load(stack.manifest.read_text())["services"][name]["ports"][0])


@pytest.mark.parametrize(("script", "code"), [("exit 0", 0), ("exit 3", 3), ("kill -9 $$", 137)])
def test_run_propagates_the_one_offs_exit_code(web: Stack, script: str, code: int) -> None:
    result = web.run("run", "web", "--", "sh", "-c", script)

    assert result.returncode == code, describe(result, web)


def test_a_one_off_runs_in_the_services_workdir_with_its_config(web: Stack) -> None:
    host = {"RUN_TEST_INHERITED": "passed", "RUN_TEST_HOST_ONLY": "leaked"}
    script = f'{PRINT_CONFIG}; echo "INHERITED=$RUN_TEST_INHERITED HOST=$RUN_TEST_HOST_ONLY"'

    result = web.run("run", "web", "--", "sh", "-c", script, env=host)

    assert result.returncode == 0, describe(result, web)
    assert lines(result) == [
        str(web.root / "sub"),
        "MSG=hello, world",
        "PAYMENTS_URL=http://127.0.0.1:9/pay",
        f"PORT={port_of(web, 'web')}",
        "INHERITED=passed HOST=",
    ]


def test_run_with_env_uses_that_environment(web: Stack) -> None:
    result = web.run("run", "--env", "staging", "web", "--", "sh", "-c", 'echo "$MSG"')

    assert result.returncode == 0, describe(result, web)
    assert result.stdout == "bonjour, world\n"


def test_run_without_a_command_runs_the_services_own(stack: Stack) -> None:
    stack.write({"job": {"command": ["sh", "-c", "echo own command; exit 6"]}})

    result = stack.run("run", "job")

    assert result.returncode == 6, describe(result, stack)
    assert result.stdout == "own command\n"


def test_a_one_off_follows_the_running_environment_and_leaves_the_stack_alone(
    web: Stack,
) -> None:
    web.up("--env", "staging")
    pids = web.pids()
    owned = web.owned()
    script = 'echo "$MSG"; echo "OWNER=${DEVSTACK_OWNER:-none}"; read line; exit 5'
    with attached(web, "run", "web", "--", "sh", "-c", script) as one_off:
        assert one_off.stdout is not None and one_off.stdin is not None
        assert one_off.stdout.readline() == "bonjour, world\n"  # the running environment
        assert one_off.stdout.readline() == "OWNER=none\n"
        # A reconcile while the one-off runs neither adopts it nor stops it as an orphan.
        web.up("--remove-orphans")
        assert set(web.services()) == {"web"}
        assert web.owned() == owned
        assert one_off.poll() is None
        one_off.stdin.write("done\n")
        one_off.stdin.close()
        assert one_off.wait(timeout=30) == 5
    assert web.pids() == pids


def test_exec_runs_a_command_in_a_running_process_services_context(web: Stack) -> None:
    web.up()

    result = web.run("exec", "web", "--", "sh", "-c", f"{PRINT_CONFIG}; exit 4")

    assert result.returncode == 4, describe(result, web)
    assert lines(result)[:3] == [
        str(web.root / "sub"),
        "MSG=hello, world",
        "PAYMENTS_URL=http://127.0.0.1:9/pay",
    ]


def test_exec_without_a_command_opens_the_users_shell_there(web: Stack) -> None:
    web.up()

    result = cli(web, "exec", "web", input='echo "$MSG in $PWD"\nexit 3\n', env={"SHELL": "sh"})

    assert result.returncode == 3, describe(result, web)
    assert result.stdout == f"hello, world in {web.root / 'sub'}\n"


def test_exec_refuses_a_stopped_service_an_unknown_one_and_a_missing_replica(
    web: Stack,
) -> None:
    no_daemon = web.run("exec", "web", "--", "true")
    assert no_daemon.returncode == 1, describe(no_daemon)
    assert "web is not running" in no_daemon.stderr
    assert "no devstack daemon is running" in no_daemon.stderr

    web.up()
    replica = web.run("exec", "--replica", "1", "web", "--", "true")
    assert replica.returncode == 2, describe(replica)
    assert "web has 1 replica (web): no web#1" in replica.stderr

    web.ok("stop", "web")
    stopped = web.run("exec", "web", "--", "true")
    assert stopped.returncode == 1, describe(stopped)
    assert "web is not running" in stopped.stderr and "stopped" in stopped.stderr
    assert "Traceback" not in stopped.stderr

    for command in ("exec", "run"):
        unknown = web.run(command, "nope", "--", "true")
        assert unknown.returncode == 2, describe(unknown)
        assert "unknown service 'nope' in devstack.yaml (known: web)" in unknown.stderr


def test_run_of_a_missing_program_is_127_with_a_clear_error(web: Stack) -> None:
    result = web.run("run", "web", "--", "no-such-program-here")

    assert result.returncode == 127, describe(result)
    assert "cannot run 'no-such-program-here'" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_warns_when_what_the_service_depends_on_is_not_running(stack: Stack) -> None:
    stack.write({"db": service("db"), "app": service("app", depends_on=["db"])})

    alone = stack.run("run", "app", "--", "true")
    assert alone.returncode == 0, describe(alone)
    assert "no devstack daemon is running for this stack" in alone.stderr
    assert "app depends on is not running: db" in alone.stderr

    stack.up()
    stack.ok("stop", "db")
    stopped = stack.run("run", "app", "--", "true")
    assert stopped.returncode == 0, describe(stopped)
    assert "warning: app depends on db, which is stopped" in stopped.stderr

    stack.ok("start", "db")
    running = stack.run("run", "app", "--", "true")
    assert "warning" not in running.stderr, describe(running)


@pytest.mark.parametrize(
    ("sig", "trap", "group", "code"),
    [
        (signal.SIGINT, "INT", True, 42),  # Ctrl-C: the terminal signals the whole group
        (signal.SIGTERM, "TERM", False, 43),  # sent to devstack alone: passed on
    ],
)
def test_signals_reach_the_one_off(
    web: Stack, sig: signal.Signals, trap: str, group: bool, code: int
) -> None:
    script = f"trap 'echo got {trap}; exit {code}' {trap}; echo ready; while :; do sleep 0.05; done"
    with attached(web, "run", "web", "--", "sh", "-c", script) as one_off:
        assert one_off.stdout is not None
        assert one_off.stdout.readline() == "ready\n"
        if group:
            os.killpg(one_off.pid, sig)
        else:
            os.kill(one_off.pid, sig)
        assert one_off.wait(timeout=20) == code
        assert one_off.stdout.read() == f"got {trap}\n"


def test_exec_into_a_replica_gets_that_replicas_port(web: Stack) -> None:
    doc = yaml.safe_load(web.manifest.read_text())
    doc["services"]["web"]["replicas"] = 2
    web.manifest.write_text(yaml.safe_dump(doc, sort_keys=False))
    web.up()
    ports = {
        owner.split(":")[2]: environ(pid)["PORT"] for pid, owner in web.group_leaders().items()
    }
    assert set(ports) == {"0", "1"} and ports["0"] != ports["1"]

    for replica in ("0", "1"):
        result = web.run("exec", "--replica", replica, "web", "--", "sh", "-c", 'echo "$PORT"')
        assert result.returncode == 0, describe(result, web)
        assert result.stdout == f"{ports[replica]}\n"
