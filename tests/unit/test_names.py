"""The one "unknown X" message: did you mean the close name, else the known ones."""

from __future__ import annotations

from devstack.model.names import UnknownName, known_names, unknown


def test_a_close_name_is_suggested() -> None:
    assert unknown("service", "wrker", ["api", "worker"]) == (
        "unknown service 'wrker' (did you mean 'worker'?)"
    )


def test_several_close_names_are_all_suggested() -> None:
    assert known_names(["web-1", "web-2", "db"], "web") == " (did you mean 'web-1' or 'web-2'?)"


def test_without_a_close_name_the_known_ones_are_listed_sorted() -> None:
    assert unknown("environment", "nope", ["moto", "dev"]) == (
        "unknown environment 'nope' (known: dev, moto)"
    )
    assert known_names([], "x") == " (none declared)"


def test_unknown_name_is_not_a_key_error() -> None:
    error = UnknownName("backing service", "uplods", ["uploads"])

    assert not isinstance(error, KeyError)  # a KeyError is a bug, never a 404
    assert str(error) == "unknown backing service 'uplods' (did you mean 'uploads'?)"
    assert (error.what, error.name) == ("backing service", "uplods")
