"""The `devstack` command: everyday read-only calls are answered at once (`cli/fast.py`);
a cold `up` launches its daemon first, then the CLI proper loads.

Kept apart from `cli/main.py` because that module imports click at once: the daemon's
launch ahead (api/prelaunch.py) must happen before, so that the daemon's imports overlap
the CLI's. `python -m devstack.cli.main` still works, without the launch ahead.
"""

from __future__ import annotations

import sys


def main() -> None:
    from devstack.cli import fast

    code = fast.answer(sys.argv[1:])  # status, backing, logs -n: answered without click
    if code is not None:
        from devstack.cli.exits import leave

        leave(code)
    from devstack.api import prelaunch

    prelaunch.start(sys.argv[1:])
    from devstack.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
