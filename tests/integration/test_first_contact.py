"""First contact: what a newcomer meets on a fresh clone, through the real CLI and daemon.

No traceback and no bare 500: every error is one line that names the culprit (the
argument, the missing extra, the file:line) with the exit code a script can test. See
docs/troubleshooting.md. The hooks in tests/hooks/ hide `moto` from the CLI and its
daemon (as an install with only the ministack extra) and inject a fault into the daemon.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import Stack, describe, service, wait_for

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / "tests" / "hooks"
SHOP = REPO / "stacks" / "shop"
MOTO_HINT = "pip install 'devstack[moto]' (or: pip install 'moto[server]')"


def hooked(**variables: str) -> dict[str, str]:
    """The environment that loads tests/hooks/sitecustomize.py in the CLI and the daemon."""
    path = os.pathsep.join(p for p in (str(HOOKS), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, **variables}


WITHOUT_MOTO = hooked(DEVSTACK_TEST_HIDE="moto")


def one_error(result: subprocess.CompletedProcess[str], stack: Stack) -> str:
    """The single `error: ...` line a failed command printed (and nothing like a traceback)."""
    assert "Traceback" not in result.stderr, describe(result, stack)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), describe(result, stack)
    return lines[0].removeprefix("error: ")


def test_the_hook_really_hides_moto(stack: Stack) -> None:
    """Guards the tests below: they must run as if moto were not installed."""
    probe = "import importlib.util as u; print(u.find_spec('moto')); import moto.server"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=stack.cli_env(WITHOUT_MOTO),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "None\n"
    assert "ModuleNotFoundError: No module named 'moto'" in result.stderr


def test_without_moto_the_shop_says_how_to_install_it(stack: Stack) -> None:
    shutil.copytree(SHOP, stack.root, dirs_exist_ok=True)
    missing = (
        "backing service 'uploads': provider 'moto' needs moto, which is not installed "
        f"here: {MOTO_HINT}"
    )

    for args in (
        ("config", "show", "api", "--env", "moto"),
        ("config", "diff", "dev", "moto"),
        ("release", "--env", "moto"),
        ("up", "--dry-run", "--env", "moto"),
        ("up", "-d", "--env", "moto"),
    ):
        result = stack.run(*args, env=WITHOUT_MOTO)
        assert result.returncode == 2, describe(result, stack)
        assert one_error(result, stack) == missing, args

    # The manifest itself is fine (it runs where moto is installed): valid, with a note.
    result = stack.run("validate", env=WITHOUT_MOTO)
    assert result.returncode == 0, describe(result, stack)
    assert result.stderr == f"note: environment 'moto' cannot run here: {missing}\n"
    assert "stack 'shop' is valid" in result.stdout
    assert not stack.daemons()  # nothing was started for the refused `up`


@pytest.fixture
def backed(stack: Stack) -> Stack:
    """A running stack whose `uploads` (s3) is on MiniStack, with moto hidden."""
    pytest.importorskip("ministack", reason="MiniStack is not installed")
    stack.write(
        {"web": service("web", uses=["uploads"])},
        backing={"uploads": {"kind": "s3", "bucket": "fc-uploads"}},
    )
    stack.up(env=WITHOUT_MOTO)
    return stack


def test_a_swap_that_cannot_work_names_the_argument_and_changes_nothing(backed: Stack) -> None:
    pid = backed.pids()["web"]
    refusals = {
        ("uploads", "moto"): "backing service 'uploads': provider 'moto' needs moto, which is "
        f"not installed here: {MOTO_HINT}",
        ("uploads", "nosuch"): "cannot swap uploads to nosuch: unknown provider 'nosuch' "
        "(known: container, localstack, ministack, moto, process)",
        ("uploads", "container"): "cannot swap uploads to container: provider 'container' "
        "(container) cannot serve s3 (it serves: postgres, redis)",
        ("uploads", "ministak"): "cannot swap uploads to ministak: unknown provider 'ministak' "
        "(did you mean 'ministack'?)",
        ("uplods", "moto"): "unknown backing service 'uplods' (did you mean 'uploads'?)",
    }
    for (backing, provider), message in refusals.items():
        result = backed.run("swap", backing, provider, env=WITHOUT_MOTO)
        assert result.returncode == 2, describe(result, backed)
        assert one_error(result, backed) == message

    rows = {row["name"]: row for row in json.loads(backed.ok("backing", "--json").stdout)}
    assert rows["uploads"]["provider"] == "ministack" and not rows["uploads"]["swapped"]
    assert backed.pids()["web"] == pid  # nothing restarted


def test_an_unexpected_daemon_error_is_one_line_pointing_at_the_log(stack: Stack) -> None:
    faulty = hooked(DEVSTACK_TEST_FAULT="status")
    stack.write({"web": service("web")})
    stack.ok("up", "-d", env=faulty)

    result = stack.run("status", env=faulty)

    assert result.returncode == 1, describe(result, stack)
    assert result.stderr == (
        "error: the daemon failed on GET /v1/status: RuntimeError: injected fault in "
        "Daemon.status (details: .devstack/daemon.log)\n"
    )
    log = (stack.state_dir / "daemon.log").read_text()
    assert "unexpected error on GET /v1/status" in log
    assert "Traceback (most recent call last)" in log and "injected fault" in log
    # Seen from elsewhere, the log is named as that user reaches it.
    elsewhere = subprocess.run(
        [sys.executable, "-m", "devstack.cli.main", "-f", f"{stack.root.name}/devstack.yaml",
         "status"],
        cwd=stack.root.parent,
        env=stack.cli_env(faulty),
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert elsewhere.stderr.endswith(f"(details: {stack.root.name}/.devstack/daemon.log)\n")
    # The daemon survives its own bug: everything else still answers.
    assert stack.ok("logs", "-n", "1").returncode == 0


def test_unknown_names_are_the_argument_s_fault_in_every_command(stack: Stack) -> None:
    stack.write(
        {"web": service("web"), "jobs": service("jobs")},
        environments={"staging": {}},
    )
    expected = {
        ("up", "-d", "--env", "nope"): "unknown environment 'nope' (known: dev, staging)",
        ("up", "-d", "--env", "stagin"): "unknown environment 'stagin' (did you mean 'staging'?)",
        ("config", "show", "wbe"): "unknown service 'wbe' (did you mean 'web'?)",
        ("config", "diff", "dev", "prod"): "unknown environment 'prod' (known: dev, staging)",
        ("logs", "wbe"): "unknown service 'wbe' (did you mean 'web'?)",
    }
    for args, message in expected.items():  # no daemon: checked locally
        result = stack.run(*args)
        assert result.returncode == 2, describe(result, stack)
        assert one_error(result, stack) == message, args
    assert not stack.daemons()

    stack.up()
    expected = {
        ("up", "-d", "--env", "nope"): "unknown environment 'nope' (known: dev, staging)",
        ("logs", "nosuch"): "unknown service 'nosuch' (known: jobs, web)",
        ("logs", "wbe"): "unknown service 'wbe' (did you mean 'web'?)",
        ("restart", "wbe"): "unknown service 'wbe' (did you mean 'web'?)",
        ("scale", "jbos=2"): "unknown service 'jbos' (did you mean 'jobs'?)",
    }
    for args, message in expected.items():  # with a daemon: its 404, the same line
        result = stack.run(*args)
        assert result.returncode == 2, describe(result, stack)
        assert one_error(result, stack) == message, args


def test_validate_reports_every_phase_in_one_run(stack: Stack) -> None:
    stack.write_text(
        """\
name: t
environments:
  staging: {env_file: [.env.staging]}
services:
  broken: {command: x, restart: sometimes}
  web:
    command: x
    depends_on: [nosuch]
  jobs:
    command: x
    depends_on: [broken]
    env: {TOKEN: "${FC_TOKEN:?set FC_TOKEN}"}
"""
    )

    result = stack.run("validate", env={"FC_TOKEN": ""})

    assert result.returncode == 2, describe(result, stack)
    out = result.stderr
    assert out.startswith("error: 4 problems in the manifest:\n"), out
    assert "devstack.yaml:5:" in out and "services.broken.restart" in out  # schema
    assert "devstack.yaml:8:" in out and "unknown service 'nosuch'" in out  # references
    assert "env file .env.staging not found" in out  # env files (staging)
    assert "services.jobs.env.TOKEN" in out and "set FC_TOKEN" in out  # required variable
    assert "'broken'" not in out.split("services.broken.restart")[1]  # no knock-on problem


def test_down_with_nothing_running_is_not_an_error(stack: Stack) -> None:
    stack.write({"web": service("web")})

    never_started = stack.run("down")
    stack.up()
    stack.ok("down")
    after_down = stack.run("down")

    nothing = f"nothing to stop: no devstack daemon is running for {stack.manifest}\n"
    for result in (never_started, after_down):
        assert result.returncode == 0, describe(result, stack)
        assert result.stderr == nothing
    assert not stack.daemons()  # saying so started nothing


def test_down_stops_what_outlived_its_daemon(stack: Stack) -> None:
    stack.write({"web": service("web")})
    stack.up()
    pid = stack.pids()["web"]
    for daemon in stack.daemons():
        os.kill(daemon, signal.SIGKILL)
    wait_for(lambda: not stack.daemons(), 10.0, "the daemon to die")

    result = stack.run("down")

    assert result.returncode == 0, describe(result, stack)
    assert "nothing to stop" not in result.stderr
    wait_for(lambda: pid not in stack.owned(), 10.0, "web to stop")


def test_logs_without_a_daemon_read_the_files_on_disk(stack: Stack) -> None:
    stack.write({"web": service("web"), "jobs": service("jobs")})
    stack.up()
    wait_for(lambda: "web: to stderr" in stack.ok("logs", "web").stdout, 10.0, "web's lines")
    stack.ok("down")

    everything = stack.ok("logs")
    last = stack.ok("logs", "-n", "1", "web")
    jobs = stack.ok("logs", "jobs")
    unknown = stack.run("logs", "wbe")

    assert re.search(r"^web +\| web: started pid=", everything.stdout, re.MULTILINE)
    assert re.search(r"^jobs +\| jobs: started pid=", everything.stdout, re.MULTILINE)
    assert "showing the logs on disk" in everything.stderr
    assert len(last.stdout.splitlines()) == 1 and last.stdout.startswith("web ")
    assert jobs.stdout and all(line.startswith("jobs ") for line in jobs.stdout.splitlines())
    assert unknown.returncode == 2
    assert one_error(unknown, stack) == "unknown service 'wbe' (did you mean 'web'?)"
