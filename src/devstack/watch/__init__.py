"""Live reload primitives: watch paths, ignore what never matters, call back once per burst.

`Watcher` (the watchdog adapter) is what the daemon uses; `Debouncer` and the ignore rules
are plain Python and usable (and tested) on their own.
"""

from devstack.watch.debounce import Debouncer, ManualTimer, MonotonicClock, ThreadTimer, Timer
from devstack.watch.filters import DEFAULT_IGNORES, IgnoreRules, ignored
from devstack.watch.routing import CONTENT_EVENTS
from devstack.watch.watcher import Watcher, WatchHandle

__all__ = [
    "CONTENT_EVENTS",
    "DEFAULT_IGNORES",
    "Debouncer",
    "IgnoreRules",
    "ManualTimer",
    "MonotonicClock",
    "ThreadTimer",
    "Timer",
    "WatchHandle",
    "Watcher",
    "ignored",
]
