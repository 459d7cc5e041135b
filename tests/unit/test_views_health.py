"""A replicated service shows the health of its least healthy running replica.

`up --wait` and `devstack scale` wait on the service's state; with only the first
replica's health behind it, `scale web=3` returned while the third replica was still
starting (CI caught a connection refused on its port right after).
"""

from __future__ import annotations

import pytest

from devstack.daemon.views import _worst
from devstack.model.observed import Health


@pytest.mark.parametrize(
    ("healths", "shown"),
    [
        ({"healthy"}, "healthy"),
        ({"healthy", "starting"}, "starting"),
        ({"healthy", "none"}, "starting"),  # a replica not probed yet is not ready
        ({"healthy", "unhealthy", "starting"}, "unhealthy"),
        ({"none"}, "starting"),
        (set(), "starting"),
    ],
)
def test_the_least_healthy_replica_speaks_for_the_service(
    healths: set[Health], shown: Health
) -> None:
    assert _worst(healths) == shown
