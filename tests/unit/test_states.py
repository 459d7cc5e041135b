"""Every state the API can report reads the same in the CLI and the TUI."""

from __future__ import annotations

from typing import get_args

from devstack.api.models import ServiceState
from devstack.api.states import STATE_TONES
from devstack.cli.output import STATE_COLOURS
from devstack.tui.format import STATE_STYLES, state_text


def test_every_service_state_has_a_colour_on_both_surfaces() -> None:
    for state in get_args(ServiceState):
        assert state in STATE_TONES, state
        assert STATE_COLOURS[state], state
        assert state_text(state).style == STATE_STYLES[state]


def test_states_of_the_same_tone_share_a_colour_and_bad_states_look_bad() -> None:
    assert STATE_COLOURS["restarting"] == STATE_COLOURS["exited"] == "red"
    assert STATE_STYLES["restarting"] == STATE_STYLES["unhealthy"] == "red"
    assert STATE_COLOURS["running"] == STATE_COLOURS["provisioned"] == "green"
    assert STATE_STYLES["running"] != STATE_STYLES["stopped"]
