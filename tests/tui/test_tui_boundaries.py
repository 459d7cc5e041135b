"""The TUI's boundaries: Textual only for `devstack ui`; the daemon only through the API."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import devstack.tui

TUI = Path(devstack.tui.__file__).parent


def loaded_after(code: str, watched: list[str]) -> list[str]:
    script = (
        f"import json, sys\n{code}\nprint(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_the_cli_and_the_ui_command_module_load_no_textual() -> None:
    code = "import devstack.cli.main, devstack.cli.ui_cmd"
    assert loaded_after(code, ["textual", "rich"]) == []


def test_devstack_help_lists_ui_without_loading_textual() -> None:
    code = (
        "import contextlib, io\n"
        "from devstack.cli.main import cli\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    cli.main(['--help'], prog_name='devstack', standalone_mode=False)\n"
        "assert '  ui ' in out.getvalue(), out.getvalue()\n"
    )
    assert loaded_after(code, ["textual"]) == []


def test_the_tui_data_modules_load_no_textual() -> None:
    code = "import devstack.tui.stream, devstack.tui.api, devstack.tui.format"
    assert loaded_after(code, ["textual"]) == []


def test_the_tui_reaches_the_daemon_only_through_the_api_client() -> None:
    forbidden = ("devstack.daemon", "devstack.engine", "devstack.runtimes", "devstack.providers",
                 "devstack.config", "devstack.model", "devstack.cli", "socket", "urllib")  # fmt: skip
    for path in TUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
