"""What the user asked a stack to be, and the one function that turns it into desired state.

`Intent` (value.py) is the immutable value: the environment, user stops, swaps, scale, a
pinned release; it is persisted (`.devstack/overrides.json`) so it outlives the daemon.
`desired_state` (desired.py) is the only place manifest + intent become a `DesiredState`:
the daemon, `up --dry-run` without a daemon, `config show`, `run` and `status` all call
it, so they cannot disagree about what runs.
"""
