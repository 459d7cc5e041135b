"""What one harness run asks of every benchmark: scales, repetitions, a work folder."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


class Skipped(Exception):
    """The benchmark cannot run here (no engine, no image, no tool); the message says why."""


@dataclass(frozen=True)
class Plan:
    scales: tuple[int, ...]  # N services / containers
    reps: int  # repetitions of each measurement at each scale
    quick: bool  # smaller trees, shorter windows, fewer variants
    work: Path  # a private temp folder for stacks, Procfiles, compose files

    def folder(self, *parts: str) -> Path:
        path = self.work.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def python_pass() -> float:
    """A bare interpreter start: the floor under any CLI command written in Python."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start
