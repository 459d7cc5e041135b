"""The host-process runtime: each service instance in its own process group.

Ownership: every instance is recorded in a state file (pid + start ticks + labels),
written atomically on each change, and also carries a `DEVSTACK_OWNER` variable so a
process started just before a crash, and not yet recorded, is still found and adopted.
A pid is only ever signalled after its start ticks are checked (see procfs).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from devstack.engine.events import LogStore
from devstack.engine.ports import RuntimeError_
from devstack.engine.supervise import spawn
from devstack.fsutil import write_json_atomic
from devstack.model.desired import DesiredService, ProcessSpec
from devstack.model.observed import Workload
from devstack.runtimes import portowner, procfs
from devstack.runtimes.logtail import LogTailer
from devstack.runtimes.write_behind import WriteBehind
from devstack.statefile import (
    OnCorrupt,
    StateError,
    need_dict,
    need_int,
    need_list,
    need_number,
    need_str,
    optional,
    read_state,
)

BASE_ENV = ("PATH", "HOME", "USER", "LANG", "TMPDIR")
OWNER_VAR = "DEVSTACK_OWNER"
STATE_VERSION = 1
ADOPTED_POLL = 0.25


@dataclass
class _Instance:
    workload: Workload
    start_ticks: int | None = None
    popen: subprocess.Popen[bytes] | None = None  # None when adopted from an earlier daemon
    stopping: bool = False


class ProcessRuntime:
    name = "process"

    def __init__(
        self,
        stack_id: str,
        state_dir: Path,
        logs: LogStore,
        on_change: Callable[[], None],
        host_env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        on_disk: Callable[[OSError | None], None] | None = None,
        on_corrupt: OnCorrupt | None = None,
    ) -> None:
        self.stack_id = stack_id
        self._on_corrupt = on_corrupt
        self._state_file = state_dir / "processes.json"
        self._run_dir = state_dir / "run"
        self._run_dir.mkdir(parents=True, exist_ok=True)
        self._logs = logs
        self._on_change = on_change
        self._host_env = dict(os.environ if host_env is None else host_env)
        self._clock = clock
        self._lock = threading.RLock()
        self._instances: dict[tuple[str, int], _Instance] = {}
        self._listeners = portowner.TracedListeners()
        # Called with the error when the state file cannot be written, None once it can.
        self._on_disk = on_disk or (lambda error: None)
        self._unsaved = False  # the state file is behind memory (a full disk): retry_save()
        self._generation = self._written = 0  # changes made, and the last one written
        self._save_lock = threading.Lock()  # one writer at a time (see _flush)
        self._tailer = LogTailer(logs)
        self._closed = threading.Event()
        self._monitor = spawn("adopted", self._watch_adopted, logs, self._closed)
        self._write_behind = WriteBehind(self._flush, logs, self._closed)

    # -- the Runtime port ------------------------------------------------------------

    def observe(self) -> list[Workload]:
        with self._lock:
            return [inst.workload for inst in self._instances.values() if not inst.stopping]

    def present(self) -> set[tuple[str, int]]:
        """Every instance not yet fully gone, including those still stopping."""
        with self._lock:
            return set(self._instances)

    def prepare(self, service: DesiredService) -> DesiredService:
        return service  # a host process needs nothing built

    def start(self, service: DesiredService, replica: int) -> Workload:
        key = (service.name, replica)
        with self._lock:
            old = self._instances.get(key)
            if old and old.workload.state == "running":
                raise RuntimeError_(f"{service.name} is already running (pid {old.workload.pid})")
            self._tailer.remove(*key)
        spec = service.spec
        if not isinstance(spec, ProcessSpec):
            raise RuntimeError_(f"{service.name} is not a host-process service")
        out, err = self._output_paths(service.name, replica)
        env = self._environment(service, replica)
        started = self._clock()
        for path in (out, err):
            path.write_bytes(b"")  # a fresh file per start; the child appends to it
        try:
            with out.open("ab") as fout, err.open("ab") as ferr:
                popen = subprocess.Popen(
                    list(spec.command),
                    cwd=spec.workdir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=fout,
                    stderr=ferr,
                    start_new_session=True,  # own process group: stop signals reach children
                    close_fds=True,
                )
        except OSError as exc:
            reason = f"cannot start {spec.command[0]!r}: {exc.strerror or exc}"
            # Said on its stderr, as a shell would, before the exited instance is visible:
            # status may read it before the engine records this start's error, and must
            # not show a bare "exited with code 127" even for that moment.
            err.write_text(reason + "\n")
            self._logs.emit(service.name, replica, "stderr", reason, ts=started)
            failed = Workload(
                service.name,
                replica,
                "exited",
                service.spec_hash,
                service.digests,
                started,
                exit_code=127,
                exited_at=self._clock(),
            )
            with self._lock:
                self._instances[key] = _Instance(failed)
                self._save()
            self._flush()
            raise RuntimeError_(reason) from exc
        workload = Workload(
            service.name,
            replica,
            "running",
            service.spec_hash,
            service.digests,
            started,
            pid=popen.pid,
        )
        with self._lock:
            self._instances[key] = _Instance(workload, procfs.start_ticks(popen.pid), popen)
            self._save()
        self._write_behind.soon()  # not waited for: see runtimes/write_behind.py
        self._tailer.add(service.name, replica, "stdout", out, from_end=False)
        self._tailer.add(service.name, replica, "stderr", err, from_end=False)
        spawn(f"wait-{popen.pid}", lambda: self._wait(key, popen), self._logs, self._closed)
        return workload

    def stop(self, service: str, replica: int, grace: float) -> None:
        key = (service, replica)
        with self._lock:
            inst = self._instances.get(key)
            if inst is None:
                return
            inst.stopping = True
        if inst.workload.state == "running" and inst.workload.pid:
            self._terminate(inst, grace)
        self._tailer.remove(service, replica)
        with self._lock:
            if self._instances.get(key) is inst:
                del self._instances[key]
            self._save()
        self._flush()

    def remove(self, service: str, replica: int) -> None:
        with self._lock:
            inst = self._instances.get((service, replica))
            if inst and inst.workload.state != "running":
                del self._instances[(service, replica)]
                self._listeners.forget((service, replica))
                self._save()
        self._flush()

    def owns(self, workload: Workload, port: int | None) -> bool:
        """True while `workload` is the live instance (pid + start ticks) and, when `port` is
        given, a process of its group or session listens there, or the listener cannot be
        read (another user's): a port answered by a foreign process is not this instance's."""
        with self._lock:
            inst = self._instances.get(workload.key)
            if inst is None or inst.stopping or inst.workload.state != "running":
                return False
            if inst.workload.started_at != workload.started_at:
                return False
            pid, ticks = inst.workload.pid, inst.start_ticks
        if not (pid and ticks and procfs.is_alive(pid, ticks)):
            return False
        if port is None:
            return True
        return self._listeners.held_by(
            workload.key, workload.started_at, port, lambda h: _of_instance(h, pid), likely=pid
        )

    # -- adoption ----------------------------------------------------------------------

    def adopt(self) -> list[Workload]:
        """Take over the instances an earlier daemon left: from the state file, then by label."""
        found: dict[tuple[str, int], _Instance] = {}
        # A refused file is moved aside: the /proc scan below then finds every instance.
        recorded: list[_Instance] = read_state(self._state_file, parse_state, [], self._on_corrupt)
        for inst in recorded:
            w = inst.workload
            alive = bool(w.pid and inst.start_ticks and procfs.is_alive(w.pid, inst.start_ticks))
            if w.state == "running" and not alive:
                # It died while no daemon watched: its exit code is unknown.
                inst.workload = replace(w, state="exited", exit_code=None, exited_at=self._clock())
            found[w.key] = inst
        for inst in self._scan_labels(found):
            found[inst.workload.key] = inst
        with self._lock:
            self._instances.update(found)
            self._save()
        self._flush()
        for key, inst in found.items():
            if inst.workload.state == "running":
                out, err = self._output_paths(*key)
                # From the end: what was written before is already in the log files on disk.
                self._tailer.add(key[0], key[1], "stdout", out, from_end=True)
                self._tailer.add(key[0], key[1], "stderr", err, from_end=True)
        return [inst.workload for inst in found.values()]

    def _scan_labels(self, known: dict[tuple[str, int], _Instance]) -> list[_Instance]:
        """Group leaders carrying our owner label but missing from the state file."""
        known_pids = {inst.workload.pid for inst in known.values()}
        leaks = []
        for pid, ticks, (service, replica, spec_hash) in scan_owned(self.stack_id):
            if pid in known_pids:
                continue
            w = Workload(service, replica, "running", spec_hash, {}, self._clock(), pid=pid)
            leaks.append(_Instance(w, ticks))
        return leaks

    def close(self) -> None:
        """Stop watching; the processes keep running for the next daemon to adopt."""
        self._closed.set()
        self._flush()  # what the writer had not written yet
        self._tailer.close()

    # -- internals ---------------------------------------------------------------------

    def _environment(self, service: DesiredService, replica: int) -> dict[str, str]:
        # A minimal base, not the daemon's whole environment: a host process sees the same
        # configuration a container would, plus only what `inherit_env` names.
        assert isinstance(service.spec, ProcessSpec)
        names = (*BASE_ENV, *service.spec.inherit_env)
        env = {name: self._host_env[name] for name in names if name in self._host_env}
        env.update(service.spec.env)
        env[OWNER_VAR] = f"{self.stack_id}:{service.name}:{replica}:{service.spec_hash}"
        return env

    def _output_paths(self, service: str, replica: int) -> tuple[Path, Path]:
        # Not `with_suffix`: it would replace the `.<replica>` part, one file for all replicas.
        base = f"{service}.{replica}"
        return self._run_dir / f"{base}.out", self._run_dir / f"{base}.err"

    def _wait(self, key: tuple[str, int], popen: subprocess.Popen[bytes]) -> None:
        code = popen.wait()
        self._exited(key, lambda inst: inst.popen is popen, code)

    def _exited(
        self, key: tuple[str, int], same: Callable[[_Instance], bool], code: int | None
    ) -> None:
        with self._lock:
            inst = self._instances.get(key)
            if inst is None or inst.stopping or not same(inst):
                return
            exited_at = self._clock()
            inst.workload = replace(
                inst.workload, state="exited", exit_code=code, exited_at=exited_at
            )
            self._save()
        self._tailer.remove(*key)
        shown = "unknown code" if code is None else f"code {code}"
        # Stamped with the exit's own time, which the backoff counts from: the state file's
        # write and the tailer's last read come first (50 ms and more under load).
        self._logs.event(f"{key[0]} exited with {shown}", service=key[0], ts=exited_at)
        self._on_change()
        self._flush()

    def _watch_adopted(self) -> None:
        # Adopted processes are not our children: no wait(), so poll /proc for them.
        while not self._closed.wait(ADOPTED_POLL):
            with self._lock:
                adopted = [
                    (key, inst)
                    for key, inst in self._instances.items()
                    if inst.popen is None and inst.workload.state == "running" and not inst.stopping
                ]
            for key, inst in adopted:
                pid, ticks = inst.workload.pid, inst.start_ticks
                if pid and ticks and not procfs.is_alive(pid, ticks):
                    self._exited(key, lambda i, inst=inst: i is inst, None)  # type: ignore[misc]

    def _terminate(self, inst: _Instance, grace: float) -> None:
        pid = inst.workload.pid
        assert pid is not None
        if not self._still_ours(inst):
            return
        _signal_group(pid, signal.SIGTERM)
        if not self._wait_gone(inst, grace):
            if self._still_ours(inst):
                _signal_group(pid, signal.SIGKILL)
            self._wait_gone(inst, 5.0)
        # The leader is gone; give the rest of its group what is left of the grace period.
        deadline = time.monotonic() + max(grace, 0.5)
        while procfs.group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if procfs.group_alive(pid):
            _signal_group(pid, signal.SIGKILL)

    def _still_ours(self, inst: _Instance) -> bool:
        if inst.popen is not None:
            return inst.popen.poll() is None
        pid, ticks = inst.workload.pid, inst.start_ticks
        return bool(pid and ticks and procfs.is_alive(pid, ticks))

    def _wait_gone(self, inst: _Instance, timeout: float) -> bool:
        if inst.popen is not None:
            try:
                inst.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while self._still_ours(inst):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _save(self) -> None:
        """Called with the lock held, after a change: the state file is now behind memory
        (the caller then calls `_flush`, after releasing the lock)."""
        self._generation += 1

    def _flush(self) -> None:
        """Bring the state file up to date with memory; never raises (the caller may be a
        wait thread that must still report the exit), a failed write is retried later.

        Written outside the instances' lock, and coalesced: each write is an fsync (5 ms
        here), and 50 services starting at once each wrote the whole file while holding
        the lock every start, stop and probe needs. A caller that finds its change already
        written by another (a later generation) returns at once, yet every caller returns
        only once the file holds its change, as before."""
        with self._save_lock:
            with self._lock:
                if self._written == self._generation and not self._unsaved:
                    return
                generation = self._generation
                records = [_to_record(inst) for inst in self._instances.values()]
            try:
                write_json_atomic(
                    self._state_file,
                    {"version": STATE_VERSION, "stack": self.stack_id, "instances": records},
                )
            except OSError as exc:
                self._unsaved = True
                self._on_disk(exc)
                return
            self._written = generation
            if self._unsaved:
                self._unsaved = False
                self._on_disk(None)

    def retry_save(self) -> None:
        """Write the state file again if an earlier write failed (called periodically)."""
        if self._unsaved:
            self._flush()


def _of_instance(pid: int, leader: int) -> bool:
    """Is `pid` the instance whose group leader is `leader`, or one of its children?"""
    if pid == leader:
        return True
    fields = procfs.stat_fields(pid)
    # Field 5 is the process group, field 6 the session (index N - 3).
    return bool(fields) and str(leader) in (fields[2], fields[3])  # type: ignore[index]


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def scan_owned(stack_id: str) -> list[tuple[int, int, tuple[str, int, str]]]:
    """(pid, start ticks, (service, replica, hash)) of each live group leader whose
    `DEVSTACK_OWNER` names this stack: found without any state file."""
    prefix = f"{stack_id}:"
    found = []
    for pid in procfs.pids():
        owner = procfs.environ(pid).get(OWNER_VAR, "")
        if not owner.startswith(prefix):
            continue
        try:
            if os.getpgid(pid) != pid:
                continue  # a child of a service: it goes with its group leader
        except ProcessLookupError:
            continue
        label = parse_owner(owner)
        ticks = procfs.start_ticks(pid)
        if label is None or ticks is None:
            continue  # a mark we did not write (someone copied our environment)
        found.append((pid, ticks, label))
    return found


def parse_owner(owner: str) -> tuple[str, int, str] | None:
    """`<stack-id>:<service>:<replica>:<hash>` -> (service, replica, hash)."""
    parts = owner.split(":", 3)
    if len(parts) != 4 or not parts[1] or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2]), parts[3]


def _to_record(inst: _Instance) -> dict[str, Any]:
    return {**asdict(inst.workload), "start_ticks": inst.start_ticks}


def parse_state(data: Any) -> list[_Instance]:
    """processes.json as `_save` writes it; StateError names the first wrong field."""
    state = need_dict(data, "the file")
    version = state.get("version", STATE_VERSION)
    if version != STATE_VERSION:
        raise StateError(f"version {version!r} is not {STATE_VERSION}")
    found = []
    for index, entry in enumerate(need_list(state.get("instances", []), "instances")):
        found.append(_from_record(need_dict(entry, f"instances[{index}]"), f"instances[{index}]"))
    return found


def _from_record(entry: dict[str, Any], where: str) -> _Instance:
    state = entry.get("state")
    if state not in ("running", "exited"):
        raise StateError(f"{where}.state must be running or exited, not {state!r}")
    digests = need_dict(entry.get("digests", {}), f"{where}.digests")
    workload = Workload(
        service=need_str(entry.get("service"), f"{where}.service"),
        replica=need_int(entry.get("replica"), f"{where}.replica"),
        state=state,
        spec_hash=need_str(entry.get("spec_hash"), f"{where}.spec_hash"),
        digests={k: need_str(v, f"{where}.digests.{k}") for k, v in digests.items()},
        started_at=need_number(entry.get("started_at"), f"{where}.started_at"),
        pid=optional(entry.get("pid"), need_int, f"{where}.pid"),
        exit_code=optional(entry.get("exit_code"), _exit_code, f"{where}.exit_code"),
        exited_at=optional(entry.get("exited_at"), need_number, f"{where}.exited_at"),
        runtime=need_str(entry.get("runtime", "process"), f"{where}.runtime"),
    )
    ticks = optional(entry.get("start_ticks"), need_int, f"{where}.start_ticks")
    return _Instance(workload, ticks)


def _exit_code(value: Any, where: str) -> int:
    return need_int(value, where, -255, 255)  # negative: killed by that signal


def peek(state_dir: Path) -> list[Workload]:
    """What the state file says runs, checked against /proc; reads only, adopts nothing."""
    found = []
    recorded: list[_Instance] = read_state(state_dir / "processes.json", parse_state, [])
    for inst in recorded:
        w = inst.workload
        alive = bool(w.pid and inst.start_ticks and procfs.is_alive(w.pid, inst.start_ticks))
        found.append(w if alive or w.state != "running" else replace(w, state="exited"))
    return found
