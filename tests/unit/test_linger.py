"""The providers a swap leaves unused are kept warm for the linger, then let go."""

from __future__ import annotations

import pytest

from devstack.daemon.linger import DEFAULT_SECONDS, ENV, Linger, linger_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_kept_providers_stay_until_their_linger_is_over_then_are_let_go() -> None:
    clock, let_go = Clock(), []
    linger = Linger(60.0, let_go.append, clock)
    assert linger.keep({"moto"}) == {"moto"}
    clock.now += 30
    assert linger.keep({"localstack"}) == {"moto", "localstack"}
    linger.check()
    assert let_go == [], "nothing is over yet"
    clock.now += 31  # moto's 60 s are over, localstack's are not
    assert linger.names() == {"localstack"}
    linger.check()
    assert let_go == [frozenset({"moto"})]
    clock.now += 30
    linger.check()
    assert let_go[-1] == frozenset({"localstack"}) and linger.names() == frozenset()


def test_a_provider_kept_again_gets_a_new_deadline() -> None:
    clock, let_go = Clock(), []
    linger = Linger(60.0, let_go.append, clock)
    linger.keep({"moto"})
    clock.now += 50
    linger.keep({"moto"})  # swapped away from it again
    clock.now += 50
    linger.check()
    assert let_go == [] and linger.names() == {"moto"}


def test_a_zero_linger_keeps_nothing() -> None:
    linger = Linger(0.0, lambda names: None, Clock())
    assert linger.keep({"moto"}) == frozenset()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30", 30.0), ("0", 0.0), ("-5", 0.0), ("soon", DEFAULT_SECONDS), ("nan", DEFAULT_SECONDS),
     ("inf", float("inf"))],
)  # fmt: skip
def test_the_linger_is_read_from_the_environment(value: str, seconds: float) -> None:
    assert linger_seconds({ENV: value}) == seconds
    assert linger_seconds({}) == DEFAULT_SECONDS
