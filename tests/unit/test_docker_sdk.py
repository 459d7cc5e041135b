"""The Docker SDK's SSH transport (paramiko: 130 ms of imports) loads only for ssh:// engines.

Each case runs in a fresh interpreter: the import state is what is under test.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_local_engine_s_runtime_does_not_import_paramiko() -> None:
    pytest.importorskip("paramiko")  # without it there is nothing to defer
    out = run(
        "import sys, devstack.runtimes.docker, docker.api.client as c\n"
        "print('paramiko' in sys.modules, hasattr(c, 'SSHHTTPAdapter'))"
    )
    assert out == "False False"


def test_an_ssh_engine_gets_the_sdk_s_transport() -> None:
    pytest.importorskip("paramiko")
    out = run(
        "import sys, devstack.runtimes.docker\n"
        "from devstack.runtimes import docker_sdk\n"
        "docker_sdk.enable_ssh()\n"
        "import docker.api.client as c, docker.transport as t\n"
        "print(c.SSHHTTPAdapter is t.SSHHTTPAdapter, c.SSHHTTPAdapter.__module__)"
    )
    assert out == "True docker.transport.sshconn"


def test_the_sdk_imported_first_keeps_its_transport() -> None:
    # A program (a test) that imported the SDK before devstack: nothing to undo.
    pytest.importorskip("paramiko")
    out = run(
        "import docker, devstack.runtimes.docker\n"
        "from devstack.runtimes import docker_sdk\n"
        "docker_sdk.enable_ssh()\n"
        "import docker.api.client as c\n"
        "print(c.SSHHTTPAdapter.__module__)"
    )
    assert out == "docker.transport.sshconn"


def test_without_paramiko_enabling_ssh_is_an_import_error() -> None:
    # A user's install without the `remote` extra: the caller names the install
    # (engine_target.require_ssh_support) before it gets here; this only must not pass.
    out = run(
        "import sys\n"
        "sys.modules['paramiko'] = None  # as if not installed\n"
        "import devstack.runtimes.docker\n"
        "from devstack.runtimes import docker_sdk\n"
        "try:\n"
        "    docker_sdk.enable_ssh()\n"
        "except ImportError:\n"
        "    print('ImportError')\n"
    )
    assert out == "ImportError"
