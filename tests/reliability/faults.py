"""Fault injection: SIGKILL a stack's daemon at a random instant of an operation, recover.

A seed picks the operation (`up`, an environment switch, a swap, `down`...: they take
turns) and the instant: a random fraction of how long that operation took on this stack when nothing
was killed. The operation runs through the real CLI; at the instant every daemon of the
stack gets SIGKILL; then the CLI must end with a clear message (no traceback), every state
file must parse, and `up -d --wait` must bring the stack back with exactly one of
everything (the target's own checks). Seeds make a failure reproducible in kind (which
operation, when); the exact interleaving is the machine's.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from invariants import daemon_problems, state_file_problems

from helpers import Stack, alive, describe, wait_for

CLI_END_TIMEOUT = 60.0  # how long the CLI may take to notice its daemon died
RECOVER_TIMEOUT = 120.0
CONVERGE_TIMEOUT = 15.0  # after `up --wait`: a retired provider may still be stopping


@dataclass(frozen=True)
class Op:
    """One operation to interrupt: its CLI arguments (computed from the stack's current
    state) and whether it needs the stack up or down first."""

    args: Callable[[Stack], Sequence[str]]
    needs_up: bool


@dataclass
class Target:
    """A stack to torture: its operations and what must hold once it has recovered."""

    ops: dict[str, Op]
    converged: Callable[[Stack], list[str]]  # problems once `up --wait` returned
    gone: Callable[[Stack], list[str]]  # problems after a clean `down`


@dataclass
class SeedResult:
    seed: int
    op: str
    delay: float
    killed: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cli_error: str = ""  # the interrupted CLI's stderr tail when it printed a traceback
    seconds: float = 0.0

    def __str__(self) -> str:
        head = (
            f"seed {self.seed}: SIGKILL {self.killed or 'no daemon'} {self.delay:.3f}s into"
            f" {self.op} ({self.seconds:.1f}s)"
        )
        return "\n  ".join([head, *self.problems])


def is_up(stack: Stack) -> bool:
    return bool(stack.daemons()) and stack.socket.exists()


def ensure(stack: Stack, up: bool) -> None:
    if up and not is_up(stack):
        stack.ok("up", "-d", "--wait", timeout=RECOVER_TIMEOUT)
    elif not up and (stack.daemons() or stack.socket.exists()):
        stack.ok("down", timeout=RECOVER_TIMEOUT)


def measure(stack: Stack, target: Target) -> dict[str, float]:
    """How long each operation takes on this stack, uninterrupted: the kill instants are
    fractions of these. Runs the operations needing the stack down first."""
    durations = {}
    for name, op in sorted(target.ops.items(), key=lambda item: item[1].needs_up):
        ensure(stack, op.needs_up)
        args = list(op.args(stack))
        started = time.monotonic()
        stack.ok(*args, timeout=RECOVER_TIMEOUT)
        durations[name] = time.monotonic() - started
    return durations


def kill_daemons(stack: Stack, cli: subprocess.Popen[str], delay: float) -> list[int]:
    """At `delay` seconds after the CLI started, SIGKILL every daemon of the stack.

    The sleep is the injection point itself (an instant picked by the seed), not a wait
    for a condition. If no daemon exists yet (an `up` that is still spawning one), the
    first one to appear is killed, as long as the CLI still runs."""
    time.sleep(delay)
    victims = stack.daemons()
    if not victims:
        deadline = time.monotonic() + 10.0
        while not victims and cli.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
            victims = stack.daemons()
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in victims:
        wait_for(lambda pid=pid: not alive(pid), 10.0, f"daemon {pid} to die")
    return victims


def run_seed(stack: Stack, target: Target, durations: dict[str, float], seed: int) -> SeedResult:
    # The operation cycles with the seed (a few seeds still cover every operation); the
    # instant is the seed's random fraction of the operation's duration.
    name = sorted(target.ops)[seed % len(target.ops)]
    op = target.ops[name]
    fraction = random.Random(seed).random()
    began = time.monotonic()
    ensure(stack, op.needs_up)
    result = SeedResult(seed, name, fraction * durations[name])
    args = list(op.args(stack))
    result.op = f"`{' '.join(args)}`"
    cli = subprocess.Popen(
        [sys.executable, "-m", "devstack.cli.main", *args],
        cwd=stack.root,
        env=stack.cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        result.killed = kill_daemons(stack, cli, result.delay)
        _, err = cli.communicate(timeout=CLI_END_TIMEOUT)
    except subprocess.TimeoutExpired:
        cli.kill()
        _, err = cli.communicate()
        result.problems.append(f"the CLI still ran {CLI_END_TIMEOUT:g}s after its daemon died")
    if "Traceback" in err:
        # Whatever the operation (`up`, a switch, a swap, `down`), a user whose daemon died
        # must read one clear line, not Python's internals: a traceback fails the seed.
        result.cli_error = err[-600:]
        result.problems.append(f"the interrupted CLI printed a traceback:\n{result.cli_error}")
    result.problems += state_file_problems(stack)
    recovered = stack.run("up", "-d", "--wait", timeout=RECOVER_TIMEOUT)
    if recovered.returncode != 0:
        result.problems.append("recovery failed:\n" + describe(recovered, stack))
    else:
        result.problems += settle(stack, target.converged)
        result.problems += daemon_problems(stack, 1)
    result.seconds = time.monotonic() - began
    return result


def settle(stack: Stack, check: Callable[[Stack], list[str]]) -> list[str]:
    """The check's problems once they are gone, or the last ones at the deadline."""
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    problems = _checked(stack, check)
    while problems and time.monotonic() < deadline:
        time.sleep(0.1)
        problems = _checked(stack, check)
    return problems


def _checked(stack: Stack, check: Callable[[Stack], list[str]]) -> list[str]:
    # A daemon that stops answering is a problem of this seed, not the end of the lane.
    try:
        return check(stack)
    except (OSError, AssertionError, ValueError) as exc:
        return [f"the check could not run: {exc!r}"]


def run_lane(stack: Stack, target: Target, seeds: Sequence[int]) -> list[SeedResult]:
    """Every seed on one stack in turn, then a clean `down` that must leave nothing."""
    durations = measure(stack, target)
    results = []
    for seed in seeds:
        results.append(run_seed(stack, target, durations, seed))
        print(results[-1], flush=True)  # progress, seen with -s even if the test times out
    ensure(stack, up=False)
    final = SeedResult(-1, "final down", 0.0)
    final.problems = settle(stack, target.gone) + state_file_problems(stack)
    if final.problems:
        results.append(final)
    return results


def run_lanes(stacks: Sequence[Stack], target: Target, seeds: Sequence[int]) -> list[SeedResult]:
    """Seeds spread over independent stacks run side by side (most of a seed is waiting)."""
    lanes = [list(seeds[i :: len(stacks)]) for i in range(len(stacks))]
    with ThreadPoolExecutor(len(stacks)) as pool:
        futures = [
            pool.submit(run_lane, s, target, lane) for s, lane in zip(stacks, lanes, strict=True)
        ]
        return [r for f in futures for r in f.result()]


def report(results: Sequence[SeedResult]) -> str:
    """The failing seeds in full, or a one-line summary."""
    failed = [r for r in results if r.problems]
    seeds = [r for r in results if r.seed >= 0]
    mean = sum(r.seconds for r in seeds) / max(len(seeds), 1)
    tracebacks = [r.seed for r in seeds if r.cli_error]
    summary = (
        f"{len(seeds)} seeds, {len(failed)} failed, {mean:.2f}s per seed;"
        f" the interrupted CLI printed a traceback in seeds {tracebacks}"
    )
    return "\n".join([summary, *map(str, failed)])
