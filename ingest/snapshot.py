"""The snapshot walker: recognises each source by its directory name in the snapshot
layout and hands its files to that source's ingester.

A whole source directory is a complete re-sync (what vanished is marked removed);
a file or sub-directory inside one is a partial load (upserts only).
"""
from __future__ import annotations

import gc
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from engine.model import Records

from .errors import IngestError

# source directory name -> module under ingest/ exposing `ingest(root, only) -> Records`
SOURCES: dict[str, str] = {
    "openai": "ingest.openai",
    "anthropic": "ingest.anthropic",
    "litellm": "ingest.litellm",
    "okta": "ingest.okta",
    "msgraph": "ingest.msgraph",
    "google": "ingest.google",
    "scim": "ingest.scim",
    "github": "ingest.github",
    "aws": "ingest.aws",
    "gitleaks": "ingest.gitleaks",
    "trufflehog": "ingest.trufflehog",
    "inventory": "ingest.inventory",
}

# Load order: vendors first, inventory (the humans' enrichment) last.
ORDER = list(SOURCES)


@dataclass
class SourceLoad:
    source: str
    root: Path                       # the source directory (e.g. demo/openai)
    only: set[Path] | None = None    # None: the whole directory, a complete re-sync
    given: list[Path] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.only is None


def ingester(source: str) -> Callable[[Path, set[Path] | None], Records]:
    module = importlib.import_module(SOURCES[source])
    return module.ingest


def _source_ancestor(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if parent.name in SOURCES and parent.is_dir():
            return parent
    return None


def plan(paths: list[str | Path]) -> list[SourceLoad]:
    loads: dict[str, SourceLoad] = {}

    def add(source: str, root: Path, files: set[Path] | None, given: Path) -> None:
        cur = loads.get(source)
        if cur is None:
            loads[source] = SourceLoad(source, root, files, [given])
            return
        if cur.root.resolve() != root.resolve():
            raise IngestError(given, f"a second {source}/ directory in one ingest "
                                     f"(already have {cur.root}); ingest them one at a time")
        cur.given.append(given)
        if cur.only is None or files is None:
            cur.only = None
        else:
            cur.only |= files

    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise IngestError(path, "no such file or directory")
        if path.is_dir() and path.name in SOURCES:
            add(path.name, path, None, path)
            continue
        if path.is_dir():
            children = sorted(c for c in path.iterdir() if c.is_dir() and c.name in SOURCES)
            if children:
                for child in children:
                    add(child.name, child, None, path)
                continue
        root = _source_ancestor(path.resolve() if not path.is_absolute() else path)
        if root is None:
            raise IngestError(path, "not in a snapshot: expected a directory named one of "
                                    f"{', '.join(SOURCES)} (or a directory holding them)")
        files = {f for f in path.rglob("*") if f.is_file()} if path.is_dir() else {path.resolve()}
        add(root.name, root, {f.resolve() for f in files}, path)
    return sorted(loads.values(), key=lambda s: ORDER.index(s.source))


def read_source(load: SourceLoad) -> Records:
    """Run the source's ingester: pure parsing, no network, no database."""
    # Parsing builds millions of small objects at once; pausing the cyclic GC meanwhile
    # saves it rescanning them over and over (none of them form cycles).
    paused = gc.isenabled()
    gc.disable()
    try:
        records = ingester(load.source)(load.root, load.only)
    finally:
        if paused:
            gc.enable()
    records.source = load.source
    if records.usage:
        from engine.pricing import unpriced_warnings
        records.warnings += unpriced_warnings(records)
    return records
