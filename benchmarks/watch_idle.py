"""Live reload on a big tree: setup, idle CPU, memory, and write-to-callback latency.

A tree of --files files (default 50,000, 10 per folder: 5,000 folders) is created in a temp
folder, then:

- baseline, before any watcher exists: `os.stat` polling of one file every --poll-interval
  (what a watcher without inotify does), latency from a write to the poll seeing it over
  --writes writes; plus the time one stat pass over the whole tree takes (what polling the
  tree would cost per interval);
- `Watcher.watch` of the tree: setup seconds, RSS delta (VmRSS), inotify watches and
  threads it holds;
- idle: CPU time of the whole process over --idle seconds of no changes, as % of a core;
- latency: --writes writes to one file, each timed from just before the write to the
  on_change call, with debounce 0 (the notification path itself: inotify, watchdog's
  threads, the filter, the debouncer's thread; the daemon adds its debounce on top);
- watchdog's defaults (no event filter) on the same tree, in a child process, for
  --idle seconds: its CPU %, to show the spin DESIGN.md §8 describes (skip: --no-defaults).

Usage: python benchmarks/watch_idle.py [--files 50000] [--per-folder 10] [--idle 10]
       [--writes 20] [--poll-interval 0.01] [--no-defaults]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import emit, summary

from devstack.watch import Watcher
from devstack.watch.tree import inotify_inodes

DEADLINE = 10.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_tree(root: Path, files: int, per_folder: int) -> list[Path]:
    """`files` empty files, `per_folder` to a folder, folders grouped 100 to a parent."""
    folders = (files + per_folder - 1) // per_folder
    made: list[Path] = []
    for index in range(folders):
        folder = root / f"d{index // 100}" / f"s{index % 100}"
        folder.mkdir(parents=True)
        for n in range(min(per_folder, files - index * per_folder)):
            path = folder / f"f{n}.txt"
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))  # empty, and fast
            made.append(path)
    return made


def write(path: Path, round_: int) -> float:
    """Change the file (size and mtime both move); returns the time just before."""
    start = time.perf_counter()
    path.write_bytes(b"x" * (round_ % 7 + 2))
    return start


def poll_latency(path: Path, writes: int, interval: float) -> list[float]:
    """The baseline: a thread stats `path` every `interval`; seconds from write to seen."""
    seen = threading.Event()
    stop = threading.Event()
    state = {"at": 0.0}
    first = path.stat()  # before the thread starts, so the first write cannot slip past

    def poller() -> None:
        last = first
        while not stop.wait(interval):
            now = path.stat()
            if (now.st_mtime_ns, now.st_size) != (last.st_mtime_ns, last.st_size):
                last = now
                state["at"] = time.perf_counter()
                seen.set()

    thread = threading.Thread(target=poller, daemon=True)
    thread.start()
    samples = []
    for round_ in range(writes):
        seen.clear()
        start = write(path, round_)
        if not seen.wait(DEADLINE):
            raise SystemExit("the stat poller never saw a write")
        samples.append(state["at"] - start)
        time.sleep(random.uniform(0.02, 0.05))  # decorrelate from the poll phase
    stop.set()
    thread.join()
    return samples


def watch_latency(
    calls: list[float], event: threading.Event, path: Path, writes: int
) -> list[float]:
    samples = []
    for round_ in range(writes):
        event.clear()
        start = write(path, round_)
        if not event.wait(DEADLINE):
            raise SystemExit("the watcher never called back")
        samples.append(calls[-1] - start)
        time.sleep(random.uniform(0.02, 0.05))
    return samples


def defaults_child(root: str, idle: float) -> None:
    """In a child process: watchdog with default settings on the tree; print its idle CPU."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    class Count(FileSystemEventHandler):
        events = 0

        def dispatch(self, event: FileSystemEvent) -> None:
            Count.events += 1

    observer = Observer()
    observer.start()
    start = time.perf_counter()
    observer.schedule(Count(), root, recursive=True)
    setup = time.perf_counter() - start
    before = cpu_seconds()
    time.sleep(idle)
    cpu = cpu_seconds() - before
    print(json.dumps({"setup_s": setup, "cpu_pct": 100 * cpu / idle, "events": Count.events}))
    sys.stdout.flush()
    os._exit(0)  # a spinning observer may take long to stop; the figure is what matters


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--per-folder", type=int, default=10)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--poll-interval", type=float, default=0.01)
    parser.add_argument("--no-defaults", action="store_true")
    parser.add_argument("--defaults-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.defaults_child:
        defaults_child(args.defaults_child, args.idle)
        return

    with tempfile.TemporaryDirectory(prefix="devstack-watch-bench-") as tmp:
        root = Path(tmp) / "tree"
        start = time.perf_counter()
        files = make_tree(root, args.files, args.per_folder)
        print(f"tree: {len(files)} files in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        target = files[len(files) // 2]

        start = time.perf_counter()
        for path in files:
            path.stat()
        scan = time.perf_counter() - start
        polled = summary(poll_latency(target, args.writes, args.poll_interval))

        calls: list[float] = []
        called = threading.Event()
        errors: list[str] = []

        def on_change(_: frozenset[Path]) -> None:
            calls.append(time.perf_counter())
            called.set()

        threads_before = threading.active_count()
        rss_before = rss_mib()
        watcher = Watcher(errors.append)
        start = time.perf_counter()
        watcher.watch("bench", [root], on_change, debounce=0.0)
        setup = time.perf_counter() - start
        rss_delta = rss_mib() - rss_before
        watches = len(inotify_inodes() or ())
        threads = threading.active_count() - threads_before

        before, wall = cpu_seconds(), time.perf_counter()
        time.sleep(args.idle)
        idle_cpu = cpu_seconds() - before
        idle_pct = 100 * idle_cpu / (time.perf_counter() - wall)
        spurious = len(calls)

        watched = summary(watch_latency(calls, called, target, args.writes))
        watcher.close()

        figures: dict[str, object] = {
            "files": len(files),
            "folders": (len(files) + args.per_folder - 1) // args.per_folder,
            "setup_s": setup,
            "rss_delta_mib": rss_delta,
            "inotify_watches": watches,
            "threads": threads,
            "idle_cpu_pct": idle_pct,
            "idle_calls": spurious,
            "latency_p50_s": watched["p50"],
            "latency_p95_s": watched["p95"],
            "poll_interval_s": args.poll_interval,
            "poll_p50_s": polled["p50"],
            "poll_p95_s": polled["p95"],
            "ratio_p50": watched["p50"] / polled["p50"],
            "stat_scan_s": scan,
            "errors": len(errors),
        }
        if not args.no_defaults:
            child = subprocess.run(
                [sys.executable, __file__, "--defaults-child", str(root), "--idle", str(args.idle)],
                capture_output=True,
                text=True,
                check=False,
                timeout=args.idle + 120,
            )
            lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
            if lines:
                defaults = json.loads(lines[-1])
                figures["defaults_setup_s"] = defaults["setup_s"]
                figures["defaults_idle_cpu_pct"] = defaults["cpu_pct"]
            else:
                print(f"defaults child failed: {child.stderr[-500:]}", file=sys.stderr)
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        emit("watch_idle", figures)


if __name__ == "__main__":
    main()
