"""The process runtime and the daemon, end to end: order, health gating, restarts, stops."""

from __future__ import annotations

import time

import pytest

from helpers import Stack, alive, free_port, free_ports, service, start_ticks, wait_for

pytestmark = pytest.mark.timeout(60)


def test_dependent_starts_only_after_its_dependency_is_healthy(stack: Stack) -> None:
    a_port, b_port = free_ports(2)
    stack.write(
        {
            "a": service("a", port=a_port, flags=["--ready-after", "1.0"]),
            "b": service("b", port=b_port, depends_on=["a"]),
        }
    )
    stack.up()

    a_ready = float(stack.read_json("a.ready"))  # a's first successful /health answer
    status = stack.services()
    assert status["a"]["state"] == status["b"]["state"] == "running"
    assert a_ready - status["a"]["started_at"] >= 0.9, "a answered /health before its delay"
    assert status["b"]["started_at"] > a_ready, (
        f"b started at {status['b']['started_at']:.3f}, before a was healthy at {a_ready:.3f}"
    )


def test_independent_services_start_in_parallel(stack: Stack) -> None:
    ports = free_ports(3)
    names = ["one", "two", "three"]
    # The daemon runs already: the time measured is the stack's, not the daemon's start.
    stack.write({})
    stack.up()
    stack.write(
        {
            name: service(name, port=port, flags=["--ready-after", "1.0"])
            for name, port in zip(names, ports, strict=True)
        }
    )
    stack.ok("up", "-d", "--wait")
    stack.assert_healthy()

    # One at a time, each would start only once the one before it answered. Together, all
    # three start before the first is ready (a wall-clock bound would fail on a busy
    # machine; this order does not depend on the machine's speed).
    started = [s["started_at"] for s in stack.services().values()]
    ready = [float(stack.read_json(f"{name}.ready")) for name in names]
    assert max(started) < min(ready), f"started {started}, ready {ready}"


def test_crashing_service_is_restarted_with_backoff(stack: Stack) -> None:
    stack.write(
        {
            "crashy": service("crashy", flags=["--exit", "1"], restart="on-failure"),
            "once": service("once", flags=["--exit", "3"], restart="no"),
        }
    )
    stack.ok("up", "-d")

    restarts = wait_for(
        lambda: stack.live()["crashy"]["restarts"] >= 3, 15.0, "crashy to restart 3 times"
    )
    assert restarts
    log = stack.state_dir / "logs" / "crashy.log"
    text = wait_for(
        lambda: log.exists() and log.read_text().count("crashy: exiting with 1") >= 3 and log,
        5.0,
        "crashy's output in its log file",
    ).read_text()
    assert text.count("crashy: started pid=") >= 3
    assert "crashy: to stderr" in text  # stderr goes to the same file

    once = wait_for(
        lambda: (s := stack.live()["once"])["state"] == "exited" and s,
        5.0,
        "`once` to be reported exited",
    )
    assert once["exit_code"] == 3
    assert once["restarts"] == 0
    assert once["pid"] is None
    # `restart: "no"`: it stays down while crashy keeps being restarted.
    assert [o for o in stack.owned().values() if ":once:" in o] == []


def test_stop_gives_sigterm_its_grace_then_kills_the_whole_group(stack: Stack) -> None:
    stack.write(
        {
            # Traps SIGTERM and leaves 0.3 s later: stopped in about 0.3 s.
            "polite": service(
                "polite", flags=["--term-delay", "0.3"], health=False, stop_grace="5s"
            ),
            # Ignores SIGTERM, has a `sleep 300` child: SIGKILL for both after 1 s.
            "stubborn": service(
                "stubborn", flags=["--on-term", "ignore", "--child"], stop_grace="1s"
            ),
        }
    )
    stack.up()
    pids = stack.pids()
    polite, stubborn = pids["polite"], pids["stubborn"]
    assert polite and stubborn
    child = wait_for(
        lambda: stack.has_file("stubborn.child") and stack.read_json("stubborn.child"),
        5.0,
        "stubborn's child pid",
    )
    ticks = {pid: start_ticks(pid) for pid in (polite, stubborn, child)}
    assert alive(child, ticks[child])

    began = time.monotonic()
    stack.ok("stop", "polite")
    wait_for(lambda: not alive(polite, ticks[polite]), 5.0, "polite to exit")
    took = time.monotonic() - began
    assert stack.has_file("polite.term"), "polite never saw SIGTERM"
    assert 0.3 <= took < 2.0, f"a 0.3 s SIGTERM handler took {took:.2f}s to stop"

    began = time.monotonic()
    stack.ok("stop", "stubborn")
    wait_for(lambda: not alive(stubborn, ticks[stubborn]), 10.0, "stubborn to be killed")
    took = time.monotonic() - began
    wait_for(lambda: not alive(child, ticks[child]), 5.0, "stubborn's `sleep 300` child to die")
    assert 0.9 <= took < 3.0, f"stop_grace 1s, yet the kill came after {took:.2f}s"

    status = stack.services()
    assert status["polite"]["state"] == status["stubborn"]["state"] == "stopped"


def test_stop_and_down_return_only_once_the_processes_are_gone(stack: Stack) -> None:
    """Regression: both returned as soon as SIGTERM was sent, not when the process had gone."""
    stack.write(
        {
            name: service(name, flags=["--on-term", "ignore"], stop_grace="500ms")
            for name in ("one", "two")
        }
    )
    stack.up()
    pids = stack.pids()
    ticks = {name: start_ticks(pid) for name, pid in pids.items() if pid}

    stack.ok("stop", "one")
    assert not alive(pids["one"], ticks["one"]), "`stop` said stopped while one still runs"

    stack.ok("down")
    assert stack.owned() == {}, "`down` returned while services still run"
    wait_for(lambda: not stack.daemons(), 5.0, "the daemon to exit after down")


def test_stop_start_restart_one_service(stack: Stack) -> None:
    alpha_port, beta_port = free_ports(2)
    stack.write(
        {
            "alpha": service("alpha", port=alpha_port, stop_grace="2s"),
            "beta": service("beta", port=beta_port, stop_grace="2s"),
        }
    )
    stack.up()
    before = stack.pids()
    alpha, beta = before["alpha"], before["beta"]
    assert alpha and beta
    alpha_ticks, beta_ticks = start_ticks(alpha), start_ticks(beta)

    stack.ok("stop", "alpha")
    wait_for(lambda: not alive(alpha, alpha_ticks), 5.0, "alpha to exit")
    status = stack.services()
    assert status["alpha"]["state"] == "stopped"
    assert status["alpha"]["pid"] is None
    assert status["beta"]["pid"] == beta
    assert status["beta"]["state"] == "running"

    stack.ok("start", "alpha")
    restarted = wait_for(
        lambda: (s := stack.live()["alpha"])["state"] == "running" and s,
        10.0,
        "alpha to run again",
    )
    assert restarted["pid"] not in (None, alpha)
    assert stack.pids()["beta"] == beta

    stack.ok("restart", "beta")
    again = wait_for(
        lambda: (s := stack.live()["beta"])["state"] == "running" and s,
        10.0,
        "beta to run again after restart",
    )
    assert again["pid"] not in (None, beta)
    assert not alive(beta, beta_ticks)
    assert stack.pids()["alpha"] == restarted["pid"]
    # Exactly one instance of each.
    owners = sorted(o.split(":")[1] for o in stack.group_leaders().values())
    assert owners == ["alpha", "beta"]

    unknown = stack.run("stop", "nope")
    assert unknown.returncode == 2, unknown
    assert "nope" in unknown.stderr


def test_logs_of_one_service_and_since(stack: Stack) -> None:
    alpha_port, beta_port = free_ports(2)
    stack.write(
        {
            "alpha": service("alpha", port=alpha_port),
            "beta": service("beta", port=beta_port),
        }
    )
    stack.up()
    wait_for(
        lambda: _listening(stack.ok("logs").stdout) == {"alpha", "beta"},
        5.0,
        "both services' output in `logs`",
    )

    lines = stack.ok("logs", "alpha").stdout.splitlines()
    assert lines
    assert all(line.startswith("alpha |") for line in lines), lines
    assert any("alpha: listening" in line for line in lines)
    assert not any("beta" in line for line in lines)

    recent = stack.ok("logs", "alpha", "--since", "1h").stdout
    assert "alpha: listening" in recent
    assert "beta" not in recent

    tail = stack.ok("logs", "alpha", "-n", "1").stdout.splitlines()
    assert len(tail) == 1

    both = stack.ok("logs", "alpha", "beta").stdout
    assert "alpha: listening" in both
    assert "beta: listening" in both

    bad = stack.run("logs", "--since", "soon")
    assert bad.returncode == 2, bad


def _listening(output: str) -> set[str]:
    """Services whose `NAME: listening` line is in this `logs` output."""
    texts = [line.split("| ", 1)[-1] for line in output.splitlines()]
    return {text.split(":")[0] for text in texts if ": listening on " in text}


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("status", "--json"),
        ("restart", "alpha"),
    ],
    ids=" ".join,
)
def test_commands_without_a_daemon_say_so_in_one_line(stack: Stack, args: tuple[str]) -> None:
    stack.write({"alpha": service("alpha", port=free_port())})
    result = stack.run(*args)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no devstack daemon" in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not stack.socket.exists()
    assert stack.leftovers() == []


@pytest.mark.parametrize("args", [("down",), ("logs",)], ids=" ".join)
def test_down_and_logs_without_a_daemon_succeed_saying_so(stack: Stack, args: tuple[str]) -> None:
    """As compose: nothing to stop is not an error, and logs are read from disk (none
    here). See tests/integration/test_first_contact.py for both with a stack that ran."""
    stack.write({"alpha": service("alpha", port=free_port())})
    result = stack.run(*args)
    assert result.returncode == 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no devstack daemon is running" in lines[0], result.stderr
    assert result.stdout == ""
    assert not stack.socket.exists()
    assert stack.leftovers() == []
