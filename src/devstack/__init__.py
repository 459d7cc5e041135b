"""devstack: a twelve-factor production environment on one machine."""

__version__ = "0.1.0"
