"""`devstack`: the command line. Thin: it validates input and talks to the daemon's API.

Commands are imported lazily (click's LazyGroup pattern): `devstack status` loads only
what status needs, so everyday commands start fast.
"""

from __future__ import annotations

import importlib
import sys

import click

from devstack import __version__
from devstack.cli.common import Context
from devstack.cli.exits import leave, reader_left
from devstack.config.extras import MissingExtra
from devstack.model.names import UnknownName
from devstack.trace import mark

# command name -> "module:attribute"
COMMANDS = {
    "up": "devstack.cli.up_cmd:up",
    "down": "devstack.cli.stack_cmds:down",
    "status": "devstack.cli.stack_cmds:status",
    "logs": "devstack.cli.stack_cmds:logs",
    "restart": "devstack.cli.stack_cmds:restart",
    "stop": "devstack.cli.stack_cmds:stop",
    "start": "devstack.cli.stack_cmds:start",
    "rebuild": "devstack.cli.stack_cmds:rebuild",
    "scale": "devstack.cli.scale_cmd:scale",
    "env": "devstack.cli.env_cmds:env_group",
    "build": "devstack.cli.release_cmds:build",
    "release": "devstack.cli.release_cmds:release",
    "releases": "devstack.cli.release_cmds:releases",
    "lint": "devstack.cli.lint_cmd:lint",
    "export": "devstack.cli.export_cmds:export_group",
    "import": "devstack.cli.import_cmd:import_group",
    "run": "devstack.cli.run_cmds:run",
    "exec": "devstack.cli.run_cmds:exec_",
    "swap": "devstack.cli.backing_cmds:swap",
    "backing": "devstack.cli.backing_cmds:backing",
    "validate": "devstack.cli.config_cmds:validate",
    "config": "devstack.cli.config_cmds:config_group",
    "data": "devstack.cli.data_cmds:data_group",
    "schema": "devstack.cli.config_cmds:schema",
    "completion": "devstack.cli.config_cmds:completion",
    "ui": "devstack.cli.ui_cmd:ui",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("-f", "--file", metavar="PATH", help="Stack manifest (default: ./devstack.yaml).")
@click.version_option(__version__, prog_name="devstack")
@click.pass_context
def cli(ctx: click.Context, file: str | None) -> None:
    """devstack: a twelve-factor production environment on your machine.

    Declare services and environments in devstack.yaml; `devstack up` runs them and
    keeps them equal to what is declared.
    """
    ctx.ensure_object(Context)
    if file is not None:
        ctx.obj.file = file


def main() -> None:
    from devstack.cli.output import OutputClosed

    mark("cli.main")
    try:
        cli.main(prog_name="devstack")
    except (UnknownName, MissingExtra) as exc:
        # The same line for every command: an unknown name gets "did you mean ...", a
        # missing extra its install command. The user's input is at fault: exit 2.
        from devstack.cli.output import EXIT_USAGE, fail

        fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except (OutputClosed, BrokenPipeError):
        reader_left()
    except SystemExit as exc:
        # click ends every command with SystemExit: leave at once (see cli/exits.py).
        leave(exc.code)


if __name__ == "__main__":
    main()
