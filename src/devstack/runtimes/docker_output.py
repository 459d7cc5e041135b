"""Container output into the log stream: one follower per container and stream."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import docker.errors
from docker import APIClient

from devstack.engine.events import LogStore, Stream
from devstack.engine.ports import RuntimeError_
from devstack.runtimes.docker_engine import LABEL, ssh_errors


class ContainerOutput:
    def __init__(
        self,
        api: Callable[[], APIClient],
        logs: LogStore,
        clock: Callable[[], float],
        release: Callable[[APIClient], None] | None = None,
    ) -> None:
        # `api` gives the client a stream is read through; `release` takes it back when the
        # stream ends (an engine over SSH spreads streams over connections: remote_engine).
        self._api = api
        self._release = release
        self._logs = logs
        self._clock = clock
        self._lock = threading.Lock()
        self._followed: set[str] = set()

    def follow(self, cid: str, labels: dict[str, str], from_now: bool) -> None:
        """Stream a container's stdout and stderr into the log store, once per container.

        `from_now` (adopting a running container): only new output, as for processes;
        otherwise everything since the container started.
        """
        with self._lock:
            if cid in self._followed:
                return
            self._followed.add(cid)
        service = labels.get(f"{LABEL}.service", "?")
        replica = int(labels.get(f"{LABEL}.replica", "0"))
        since = int(self._clock()) if from_now else None
        for stream in ("stdout", "stderr"):
            threading.Thread(
                target=self._pump, args=(cid, service, replica, stream, since),
                name=f"logs-{service}-{stream}", daemon=True,
            ).start()  # fmt: skip

    def _pump(
        self, cid: str, service: str, replica: int, stream: Stream, since: int | None
    ) -> None:
        client: APIClient | None = None
        ended: tuple[type[Exception], ...] = (
            RuntimeError_, docker.errors.DockerException, OSError, *ssh_errors(),
        )  # fmt: skip
        try:
            kwargs: dict[str, Any] = {"stdout": stream == "stdout", "stderr": stream == "stderr"}
            if since is not None:
                kwargs["since"] = since
            partial = b""
            client = self._api()
            for chunk in client.logs(cid, stream=True, follow=True, **kwargs):
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    self._logs.emit(service, replica, stream, line.decode("utf-8", "replace"))
            if partial:
                self._logs.emit(service, replica, stream, partial.decode("utf-8", "replace"))
        except ended:
            pass  # the container is gone (its exit reaches us through events), or the
            # connection to a remote engine (its next listing follows it again)
        finally:
            if client is not None and self._release is not None:
                self._release(client)
            with self._lock:
                self._followed.discard(cid)
