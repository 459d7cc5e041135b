"""Releases: built images plus fully resolved config, immutable, under an id."""
