"""Providers: what realises a backing service, and what puts its declared resources there."""
