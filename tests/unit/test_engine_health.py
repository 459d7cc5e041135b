"""The health state machine of one instance, fed probe results and times by hand."""

from __future__ import annotations

from devstack.engine.health import HealthTracker
from devstack.model.manifest import HealthCheck

START = 1000.0
# Budget while starting: start_period + interval * retries = 10 + 5 * 3 = 25 s.
CHECK = HealthCheck(http="/health", interval=5, retries=3, start_period=10, start_interval=0.5)


def tracker() -> HealthTracker:
    return HealthTracker(CHECK, START)


def healthy_tracker() -> HealthTracker:
    t = tracker()
    t.record(True, START + 1)
    return t


def test_a_new_instance_is_starting() -> None:
    assert tracker().state == "starting"


def test_the_first_success_makes_it_healthy_and_slows_probing() -> None:
    t = tracker()

    delay = t.record(True, START + 0.2)

    assert t.state == "healthy"
    assert delay == 5.0


def test_failures_while_starting_keep_it_starting_and_probing_fast() -> None:
    t = tracker()

    delays = [t.record(False, START + s) for s in (0.5, 10, 24.9)]

    assert t.state == "starting"
    assert delays == [0.5, 0.5, 0.5]


def test_it_turns_unhealthy_when_the_start_budget_is_spent() -> None:
    t = tracker()
    t.record(False, START + 24.9)

    delay = t.record(False, START + 25)

    assert t.state == "unhealthy"
    assert delay == 5.0


def test_the_start_budget_counts_from_the_start_time_not_the_first_probe() -> None:
    t = tracker()

    t.record(False, START + 30)

    assert t.state == "unhealthy"


def test_a_success_after_a_slow_start_makes_it_healthy() -> None:
    t = tracker()
    t.record(False, START + 30)

    t.record(True, START + 35)

    assert t.state == "healthy"


def test_a_healthy_instance_survives_fewer_than_retries_failures() -> None:
    t = healthy_tracker()

    delays = [t.record(False, START + n) for n in (5, 10)]

    assert t.state == "healthy"
    assert delays == [5.0, 5.0]


def test_retries_consecutive_failures_make_a_healthy_instance_unhealthy() -> None:
    t = healthy_tracker()

    for n in (5, 10, 15):
        t.record(False, START + n)

    assert t.state == "unhealthy"


def test_a_success_resets_the_consecutive_failures() -> None:
    t = healthy_tracker()
    t.record(False, START + 5)
    t.record(False, START + 10)
    t.record(True, START + 15)

    t.record(False, START + 20)
    t.record(False, START + 25)

    assert t.state == "healthy"


def test_failures_while_starting_do_not_count_once_healthy() -> None:
    t = tracker()
    t.record(False, START + 1)
    t.record(False, START + 2)
    t.record(True, START + 3)

    t.record(False, START + 8)

    assert t.state == "healthy"


def test_an_unhealthy_instance_recovers_on_a_success() -> None:
    t = healthy_tracker()
    for n in (5, 10, 15):
        t.record(False, START + n)

    delay = t.record(True, START + 20)

    assert t.state == "healthy"
    assert delay == 5.0
