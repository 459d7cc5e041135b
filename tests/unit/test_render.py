"""cli/render.py writes colours without click: the same bytes as click.style, for every
colour the CLI uses, so a fast answer and a full command look the same in a terminal."""

from __future__ import annotations

import click
import pytest

from devstack.api.palette import PALETTE
from devstack.cli.render import STATE_COLOURS, TONE_COLOURS, ansi

USED = sorted({*PALETTE, *TONE_COLOURS.values(), *STATE_COLOURS.values(), "yellow", "red"})


@pytest.mark.parametrize("colour", USED)
@pytest.mark.parametrize("bold", [False, True])
def test_ansi_matches_click_style(colour: str, bold: bool) -> None:
    assert ansi("text", colour, bold) == click.style("text", fg=colour, bold=bold)


def test_ansi_without_colour_matches_click_style() -> None:
    assert ansi("text", None, True) == click.style("text", bold=True)
