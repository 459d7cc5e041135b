"""When a listing of the stack's containers may be reused, and when it must be asked again."""

from __future__ import annotations

from devstack.runtimes.docker_listing import MAX_AGE, Items, Listing


class Engine:
    def __init__(self) -> None:
        self.asked = 0
        self.wall = 100.0
        self.now = 0.0

    def list(self) -> Items:
        self.asked += 1
        return [{"Id": f"c{self.asked}"}]


def listing(engine: Engine, enabled: bool = True) -> Listing:
    found = Listing(enabled, wall=lambda: engine.wall, clock=lambda: engine.now)
    found.hearing(True)
    return found


def test_reused_while_nothing_changed_and_young() -> None:
    engine = Engine()
    shared = listing(engine)
    first = shared.get(engine.list)
    assert shared.get(engine.list) is first and engine.asked == 1
    engine.now += MAX_AGE  # old: what no event tells (a network removed by hand) shows
    assert shared.get(engine.list) is not first and engine.asked == 2


def test_any_change_makes_the_whole_state_listed_again() -> None:
    engine = Engine()
    shared = listing(engine)
    shared.get(engine.list)
    shared.changed()  # a container started
    shared.get(engine.list)
    assert engine.asked == 2


def test_a_probe_reuses_a_listing_newer_than_its_instance_until_an_exit() -> None:
    engine = Engine()
    shared = listing(engine)
    shared.get(engine.list)  # asked at wall 100
    shared.changed()  # another container started: no matter to this probe
    assert shared.get(engine.list, started_at=99.0) and engine.asked == 1
    # An instance started after the listing was asked: that listing cannot show it.
    shared.get(engine.list, started_at=100.5)
    assert engine.asked == 2
    engine.wall = 101.0
    shared.changed(exited=True)  # a container died: maybe this one
    shared.get(engine.list, started_at=99.0)
    assert engine.asked == 3


def test_without_the_events_stream_or_for_a_remote_engine_every_call_lists() -> None:
    engine = Engine()
    deaf = listing(engine)
    deaf.hearing(False)
    deaf.get(engine.list)
    deaf.get(engine.list)
    assert engine.asked == 2
    remote = listing(engine, enabled=False)
    remote.get(engine.list)
    remote.get(engine.list)
    assert engine.asked == 4


def test_a_change_during_the_list_keeps_it_from_being_reused() -> None:
    engine = Engine()
    shared = listing(engine)

    def slow_list() -> Items:
        shared.changed(exited=True)  # heard while the engine was answering
        return engine.list()

    shared.get(slow_list)
    shared.get(engine.list)
    assert engine.asked == 2
