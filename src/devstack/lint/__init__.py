"""`devstack lint`: a twelve-factor audit of a manifest and the service folders it names.

Each rule module looks at one concern and reports `Finding`s through a `LintContext`;
`runner.lint()` runs them all. The package reads files and asks `git check-ignore`; it
changes nothing and needs no daemon.
"""
