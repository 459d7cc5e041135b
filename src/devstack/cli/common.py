"""What every command needs: the manifest path, a loaded stack, a client of its daemon."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from devstack.cli.output import EXIT_USAGE, fail, fail_api
from devstack.state.paths import StackPaths

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from devstack.api.client import Client
    from devstack.config.loader import LoadedStack
    from devstack.config.problems import ManifestError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    file: str | None = None

    @property
    def manifest(self) -> Path:
        from devstack.config.discovery import find_manifest

        return find_manifest(self.file)

    @property
    def paths(self) -> StackPaths:
        return StackPaths(self.manifest.resolve().parent)

    def load(self) -> LoadedStack:
        # Imported here: model code (pydantic) is only loaded by commands that need it.
        from devstack.config.loader import load_stack
        from devstack.config.problems import ManifestError

        try:
            return load_stack(self.manifest)
        except ManifestError as exc:
            return report_problems(exc)

    def ports(self) -> Any:
        """The stack's remembered host ports (read only: the daemon assigns and saves)."""
        from devstack.config.ports import PortAllocator

        return PortAllocator(self.paths.state_dir / "ports.json")

    def client(self) -> Any:
        from devstack.api.client import Client

        return Client(self.paths.socket)


def report_problems(exc: ManifestError) -> NoReturn:
    count = len(exc.problems)
    fail(
        f"{count} problem{'s' if count != 1 else ''} in the manifest:",
        EXIT_USAGE,
        [str(p) for p in exc.problems],
    )


pass_context = click.make_pass_decorator(Context, ensure=True)


def file_option(func: F) -> F:
    """`-f/--file` on every command (as well as on the group), like compose."""

    def store(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.ensure_object(Context).file = value

    return click.option(
        "-f",
        "--file",
        "file_",
        metavar="PATH",
        expose_value=False,
        callback=store,
        help="Stack manifest (default: ./devstack.yaml).",
        is_eager=True,
    )(func)


def _complete_environments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from devstack.cli import complete  # it imports this module

    return complete.environments(ctx, param, incomplete)


def env_option(func: F) -> F:
    return click.option(
        "--env",
        "environment",
        metavar="NAME",
        default=None,
        help="Environment to use (default: dev, or the running one).",
        shell_complete=_complete_environments,
    )(func)


@contextmanager
def daemon_call(ctx: Context) -> Iterator[Client]:
    """A client whose errors become one clear line and the right exit code."""
    # Imported here: commands that never call the daemon do not load its client.
    from devstack.api.client import ApiError, DaemonNotRunning

    client: Client = ctx.client()
    if not ctx.paths.socket.exists():
        from devstack.cli.offline import revive

        revive(ctx)  # a daemon that lost its socket is replaced, not reported as absent
    try:
        yield client
    except DaemonNotRunning:
        fail(f"no devstack daemon is running for {ctx.manifest} (start it with `devstack up`)")
    except ApiError as exc:
        fail_api(exc.error, exc.status, exc.problems, exc.log)
    except ConnectionError as exc:  # ProtocolError (an answer cut short) is one
        # The daemon died (or was killed) while it handled the request.
        fail(
            f"the devstack daemon for {ctx.manifest} stopped while handling the request"
            f" ({exc.__class__.__name__}); `devstack up` starts it again and re-adopts"
            " what runs"
        )
