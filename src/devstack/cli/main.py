"""`devstack`: the command line. Thin: it validates input and talks to the daemon's API."""

from __future__ import annotations

import sys

import click

from devstack import __version__
from devstack.cli import config_cmds, stack_cmds
from devstack.cli.common import Context


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-f", "--file", metavar="PATH", help="Stack manifest (default: ./devstack.yaml).")
@click.version_option(__version__, prog_name="devstack")
@click.pass_context
def cli(ctx: click.Context, file: str | None) -> None:
    """devstack: a twelve-factor production environment on your machine.

    Declare services, backing services and environments in devstack.yaml; `devstack up`
    runs them and keeps them equal to what is declared.
    """
    ctx.ensure_object(Context)
    if file is not None:
        ctx.obj.file = file


stack_cmds.register(cli)
config_cmds.register(cli)


def main() -> None:
    try:
        cli.main(prog_name="devstack")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
