"""Ingest: one module per source, each a pure function from a snapshot directory to
records (engine.model.Records). No network here (see ingest.collect) and no database
(the store writes)."""
from .errors import IngestError

__all__ = ["IngestError"]
