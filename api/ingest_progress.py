"""What `burnpath ingest` shows on a terminal while it works: the file being read,
files and records so far, records per second, and each source as it is committed.
In a pipe or a log it shows nothing (the per-source summary at the end says it all)."""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path


def wants_progress(stream=None) -> bool:
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class IngestProgress:
    """A rich live line on stderr; `file_read` and `source_written` feed it."""

    def __init__(self, stream=None):
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        self.console = Console(file=stream or sys.stderr)
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=self.console, transient=True)
        self.task = self.progress.add_task("ingest: planning", total=None)
        self.files = 0
        self.records = 0
        self.current = ""
        self.started = time.perf_counter()
        self.last_draw = 0.0

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.records / elapsed if elapsed > 0 else 0.0

    def _draw(self) -> None:
        self.progress.update(self.task, description=(
            f"ingest: {self.files:,} files read, {self.records:,} records written "
            f"({self.rate():,.0f} records/s)" + (f"  {self.current}" if self.current else "")))

    def file_read(self, path: Path) -> None:
        self.files += 1
        now = time.perf_counter()
        if now - self.last_draw >= 0.1:     # a redraw per file would cost more than the read
            parts = Path(path).parts
            self.current = "/".join(parts[-3:])
            self.last_draw = now
            self._draw()

    def source_written(self, result) -> None:
        n = sum(result.counts.values())
        self.records += n
        self.current = ""
        self.console.print(f"  {result.source}: committed {n:,} records "
                           f"({self.rate():,.0f} records/s overall)")
        self._draw()

    @contextlib.contextmanager
    def running(self):
        from ingest.files import observe_files
        with self.progress, observe_files(self.file_read):
            yield self


@contextlib.contextmanager
def ingest_progress(enabled: bool):
    """(the `on_written` callback or None) for Engine.ingest, with the display live meanwhile."""
    if not enabled:
        yield None
        return
    display = IngestProgress()
    with display.running():
        yield display.source_written
