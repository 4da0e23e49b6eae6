"""The one error every ingester raises: it names the file and the problem."""
from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    def __init__(self, path: str | Path, problem: str):
        from engine.secret_scrub import scrub_text
        self.path = str(path)
        # A problem may quote the value it could not read: a secret in it is reduced.
        self.problem = scrub_text(str(problem))
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        # Raised in the ingest worker process and re-raised here: rebuild from the path
        # and problem (the default would call __init__ with the message alone).
        return (type(self), (self.path, self.problem))
