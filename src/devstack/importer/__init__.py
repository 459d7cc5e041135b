"""Importers: other tools' files -> a devstack manifest (`devstack import compose`)."""

from __future__ import annotations

from devstack.importer.compose import Conversion, convert
from devstack.importer.notes import Note
from devstack.importer.source import ImportProblem

__all__ = ["Conversion", "ImportProblem", "Note", "convert"]
