"""The one error every ingester raises: it names the file and the problem."""
from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        # Raised in the ingest worker process and re-raised here: rebuild from the path
        # and problem (the default would call __init__ with the message alone).
        return (type(self), (self.path, self.problem))
