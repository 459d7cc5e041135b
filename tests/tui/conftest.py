"""Fixtures of the TUI tests: a fake client that is always closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tui_fakes import FakeClient


@pytest.fixture
def fake() -> Iterator[FakeClient]:
    client = FakeClient()
    try:
        yield client
    finally:
        client.close()
