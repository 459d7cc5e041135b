"""Is an optional extra installed: answered without importing it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devstack.config.extras import installed


def test_found_or_not_by_module_path() -> None:
    assert installed("json") and installed("json.decoder")
    assert not installed("json.no_such_module")
    assert not installed("no_such_package") and not installed("no_such_package.server")
    assert not installed("os.path.deeper")  # a module is no package: nothing below it


def test_an_extra_is_found_without_importing_it() -> None:
    pytest.importorskip("moto", reason="the moto extra is not installed here")
    # In a fresh interpreter: this one may have imported moto for another test. Importing
    # moto to answer took 0.3-0.5 s of the first swap to it.
    code = "import sys; from devstack.config.extras import installed; "
    code += "print(installed('moto.server'), 'moto' in sys.modules, 'boto3' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True", "False", "False"]
