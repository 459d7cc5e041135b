"""One-offs and `docker exec` for container services.

A one-off is a new container of the service's image, created through the engine's API (so
the service's variables, secrets included, never appear on a command line or on disk),
then started and attached by the `docker` CLI, which owns the terminal (raw mode, window
size) and returns the exit code once the engine removed the container (`AutoRemove`);
signals devstack receives are delivered to the container through the engine. Shells use `docker exec` the same way, as compose v1 did with dockerpty.

One-offs are labelled `devstack.oneoff` and deliberately do not carry `devstack.stack`:
the docker runtime finds the stack's containers by that label, so a one-off is never
observed, adopted or removed as an orphan by a reconcile.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from devstack.model.desired import ContainerSpec
from devstack.oneoff import OneOffError
from devstack.oneoff.config import Target, replica_label
from devstack.oneoff.terminal import run_attached

if TYPE_CHECKING:
    from docker import APIClient

LABEL = "devstack"
ONEOFF_LABEL = f"{LABEL}.oneoff"
# A shell in a container: the image's $SHELL if it sets one, else sh.
CONTAINER_SHELL = ["/bin/sh", "-c", 'exec "${SHELL:-/bin/sh}"']
LOOKUP_TIMEOUT = 30.0


def docker_cli() -> str:
    found = shutil.which("docker")
    if found is None:
        raise OneOffError(
            "the docker CLI is not installed: devstack runs `docker start`/`docker exec` for a "
            "real terminal in a container (install the docker CLI, e.g. `apt-get install "
            "docker.io`, or docker-ce-cli)"
        )
    return found


def container_spec(target: Target) -> ContainerSpec:
    spec = target.service.spec
    if not isinstance(spec, ContainerSpec):
        raise OneOffError(f"{target.name} is not a container service")
    return spec


def wants_tty() -> bool:
    """A terminal in the container when devstack's stdin is one (as `docker run -it`)."""
    return sys.stdin.isatty()


def run_oneoff(target: Target, argv: Sequence[str], progress: Callable[[str], None]) -> int:
    """A new container of the service with its config; attached; removed afterwards."""
    import docker.errors

    from devstack.engine.ports import RuntimeError_
    from devstack.runtimes import docker_options
    from devstack.runtimes.docker_engine import connect, translated
    from devstack.runtimes.docker_objects import StackObjects

    cli = docker_cli()
    spec = container_spec(target)
    tty = wants_tty()
    try:
        api = connect()
        image = _image(api, target, spec, progress)
        objects = StackObjects(target.stack, target.stack_id, lambda: api)
        objects.ensure_network()
        objects.ensure_volumes(docker_options.volumes_to_create(spec))
        name = f"{target.stack}-{target.name}-run-{secrets.token_hex(3)}"
        labels = {
            ONEOFF_LABEL: "1",
            f"{ONEOFF_LABEL}.stack": target.stack_id,
            f"{LABEL}.stack-name": target.stack,
            f"{LABEL}.service": target.name,
            f"{LABEL}.environment": target.environment,
        }
        with translated(f"creating a one-off of {target.name}"):
            # The service's compose keys too (user, entrypoint, mounts, secrets...), as
            # compose's `run` has them; no published ports, no hooks.
            host_args, create_args, _ = docker_options.create_arguments(
                api, spec, objects.network, {}, _stack_lookup(api, target), True
            )
            create_args.pop("ports", None)
            host_config = api.create_host_config(**host_args, auto_remove=True)
            created = api.create_container(
                image=image,
                command=_command(spec, argv),
                environment=dict(spec.env),
                labels=labels,
                name=name,
                tty=tty,
                stdin_open=True,
                host_config=host_config,
                **create_args,
            )
            docker_options.copy_files(api, str(created["Id"]), spec.options.files)
    except RuntimeError_ as exc:
        raise OneOffError(str(exc)) from exc
    container = str(created["Id"])

    def relay(signum: int) -> None:
        # `docker start --attach` gives up on a SIGINT (exit 130) instead of passing it
        # on as `docker run` does, so the engine delivers signals to the container.
        with contextlib.suppress(docker.errors.DockerException):
            api.kill(container, signum)

    try:
        # Without a terminal, the CLI runs in a process group of its own: Ctrl-C (for the
        # whole foreground group) reaches devstack alone, which relays it. With one, the
        # terminal is raw: Ctrl-C is a keystroke that the CLI sends to the container.
        attach = [cli, "start", "--attach", "--interactive", container]
        return run_attached(attach, relay=relay, own_group=not tty)
    finally:
        _remove(api, container)


def _stack_lookup(api: APIClient, target: Target) -> Callable[[str], list[dict[str, Any]]]:
    """A service's replica-0 containers in the running stack (`network_mode: service:X`)."""
    from devstack.runtimes.docker_engine import LABEL

    def lookup(service: str) -> list[dict[str, Any]]:
        labels = [f"{LABEL}.stack={target.stack_id}", f"{LABEL}.service={service}",
                  f"{LABEL}.replica=0"]  # fmt: skip
        return list(api.containers(all=True, filters={"label": labels}))

    return lookup


def _command(spec: ContainerSpec, argv: Sequence[str]) -> list[str] | None:
    """CMD ARGS, else the service's own command, else the image's CMD (None)."""
    if argv:
        return list(argv)
    return list(spec.command) if spec.command is not None else None


def _image(
    api: APIClient, target: Target, spec: ContainerSpec, progress: Callable[[str], None]
) -> str:
    """The service's image id: built first when it has `build:` and its tag is missing."""
    import docker.errors

    from devstack.engine.ports import RuntimeError_
    from devstack.runtimes.build import build_image, context_tag
    from devstack.runtimes.docker_engine import engine_hint

    reference = spec.image
    if spec.build is not None:
        reference = context_tag(target.stack, target.name, spec.build)
    try:
        return str(api.inspect_image(reference)["Id"])  # type: ignore[no-untyped-call]
    except docker.errors.ImageNotFound:
        if spec.build is None:
            raise OneOffError(
                f"image {reference} is not available locally (devstack does not pull; "
                "build it, or `docker pull` it)"
            ) from None
    except docker.errors.DockerException as exc:
        raise RuntimeError_(engine_hint()) from exc
    progress(f"building {reference}")
    build_image(api, spec.build, reference, progress)
    return str(api.inspect_image(reference)["Id"])  # type: ignore[no-untyped-call]


def _remove(api: APIClient, container: str) -> None:
    """AutoRemove took it once it ran; this covers a start that failed or was interrupted."""
    import docker.errors

    # Already gone (the usual case) or the engine went away: nothing more to do.
    with contextlib.suppress(docker.errors.DockerException):
        api.remove_container(container, force=True)


def exec_in_service(stack_id: str, service: str, replica: int, argv: Sequence[str]) -> int:
    """`docker exec` into the running container of replica `replica` of the service. The
    container has the service's config already: nothing is resolved here."""
    cli = docker_cli()
    container = running_container(cli, stack_id, service, replica)
    flags = ["--interactive", *(["--tty"] if wants_tty() else [])]
    return run_attached([cli, "exec", *flags, container, *(argv or CONTAINER_SHELL)])


def running_container(cli: str, stack_id: str, service: str, replica: int) -> str:
    """The id of the replica's running container, found by labels as the runtime does."""
    filters = [
        f"label={LABEL}.stack={stack_id}",
        f"label={LABEL}.service={service}",
        f"label={LABEL}.replica={replica}",
        "status=running",
    ]
    args = [cli, "ps", "--quiet", "--no-trunc", *(a for f in filters for a in ("--filter", f))]
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=LOOKUP_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OneOffError(f"`docker ps` did not answer within {LOOKUP_TIMEOUT:g}s") from exc
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise OneOffError(f"cannot list the stack's containers: {reason[0]}")
    found = done.stdout.split()
    if not found:
        shown = replica_label(service, replica)
        raise OneOffError(
            f"{shown} is not running: no running container "
            f"(`devstack status` says why; `devstack up` or `devstack start {service}`)"
        )
    return found[0]
