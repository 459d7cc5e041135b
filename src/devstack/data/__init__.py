"""Backing data that moves with you: snapshots of what backing services hold, restores
onto whichever provider serves them now, and the carry of a swap.

One adapter per kind (`s3.py`, `dynamodb.py`...; the interface is in `adapter.py`) reads
a backing service's data into a snapshot and makes a provider's data equal to one;
`registry.py` finds the adapter of a kind; `snapshot.py` is the on-disk format
(documented in docs/backing-data.md).
"""
