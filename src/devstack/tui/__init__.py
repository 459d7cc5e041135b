"""`devstack ui`: a Textual app attached to a running stack's daemon.

Only `devstack.cli.ui_cmd` imports this package, so everyday commands never load
Textual. The app talks to the daemon through the API client alone (`tui.api.ApiClient`
is the part of it the app uses); every call runs in a worker thread.
"""
