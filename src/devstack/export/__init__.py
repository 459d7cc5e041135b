"""Exports: the stack as a compose file or as ECS task definitions.

`view.py` resolves the stack the way `devstack config show` does, but as a container of
the exported deployment sees it (emulators it can reach, no host processes);
`compose.py` and `ecs.py` translate that view, and never see a secret's value except to
leave it out.
"""
