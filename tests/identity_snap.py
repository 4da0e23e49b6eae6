"""Helpers for the identity/leak ingest tests: write snapshot files, load them into a
real SQLite store, read nodes and edges back from the engine's graph."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from engine.service import Engine

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def snapshot(root: Path, files: dict[str, Any]) -> Path:
    """Write {relative path: body} under root; bodies that are str are written as-is."""
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body if isinstance(body, str) else json.dumps(body))
    return root


def copy_demo(tmp: Path, *sources: str) -> Path:
    snap = tmp / "snap"
    for s in sources:
        shutil.copytree(DEMO / s, snap / s)
    return snap


def load(db: Path, *paths) -> Engine:
    eng = Engine.open(str(db))
    eng.ingest(list(paths))
    return eng


def out_edges(eng: Engine, node_id: str, kind: str) -> dict[str, dict]:
    return {e.dst: e.properties for e in eng.graph().out_edges(node_id, {kind})}


def in_edges(eng: Engine, node_id: str, kind: str) -> dict[str, dict]:
    return {e.src: e.properties for e in eng.graph().in_edges(node_id, {kind})}
