"""The Neo4j store's history: sync runs and superseded versions.

- Each source's statement (in a node's or relationship's `_src`) carries
  `first_seen` and `since` (when its current version began); a load moves `since`
  only when the change matters (engine.store.neo4j_write._versioned, deciding with
  engine.history.versions as the embedded store does).
- A superseded version is a `:HistoryVersion` node (no `:Node` label, outside graph
  queries): `entity` (node | edge), `key` (node id, or src/kind/dst joined by \\x1f),
  `source`, `valid_from`, `valid_to`, `statement` (JSON), written in the load's
  transaction.
- `:SyncRun` nodes are the ingest runs (engine.history.sync), created when an ingest
  starts and completed when it ends.
"""
from __future__ import annotations

import json
from typing import Any

from ..history.statements import EdgeStatement, NodeStatement

SEP = "\x1f"


def _key_text(entity: str, key) -> str:
    return key if entity == "node" else SEP.join(key)


def write_versions(tx, mirror, batches) -> None:
    from .neo4j import _dumps
    rows = [{"entity": v["entity"], "key": _key_text(v["entity"], v["key"]), "source": v["source"],
             "valid_from": v["valid_from"], "valid_to": v["valid_to"], "statement": _dumps(v["statement"])}
            for v in mirror.versions]
    mirror.versions = []
    for batch in batches(rows):
        tx.run("UNWIND $rows AS row CREATE (h:HistoryVersion) SET h = row", rows=batch).consume()


def _node_statement(nid: str, source: str, c: dict, valid_from, valid_to) -> NodeStatement:
    return NodeStatement(nid, source, c["kind"], c.get("name"), c.get("active"), c.get("properties") or {},
                         int(c.get("enrichment") or 0), valid_from, valid_to)


def statements(tx, node_ids=None, edge_srcs=None, edges: bool = True) -> tuple[list, list]:
    nodes: list[NodeStatement] = []
    out_edges: list[EdgeStatement] = []
    where = " WHERE n.id IN $ids" if node_ids is not None else ""
    for r in tx.run(f"MATCH (n:Node){where} RETURN n.id AS id, n._src AS s", ids=node_ids):
        for source, c in json.loads(r["s"] or "{}").items():
            nodes.append(_node_statement(r["id"], source, c, c.get("since"), c.get("removed_at")))
    hist_where = "h.entity = 'node'" + (" AND h.key IN $ids" if node_ids is not None else "")
    for r in tx.run(f"MATCH (h:HistoryVersion) WHERE {hist_where} RETURN h", ids=node_ids):
        h = r["h"]
        nodes.append(_node_statement(h["key"], h["source"], json.loads(h["statement"]),
                                     h.get("valid_from"), h["valid_to"]))
    if edges:
        where = " AND a.id IN $srcs" if edge_srcs is not None else ""
        for r in tx.run("MATCH (a:Node)-[r]->(b:Node) WHERE NOT r.derived" + where +
                        " RETURN a.id AS src, type(r) AS kind, b.id AS dst, r._src AS s", srcs=edge_srcs):
            for source, c in json.loads(r["s"] or "{}").items():
                out_edges.append(EdgeStatement(r["src"], r["kind"], r["dst"], source, c.get("properties") or {},
                                               c.get("since"), c.get("removed_at")))
        for r in tx.run("MATCH (h:HistoryVersion) WHERE h.entity = 'edge' RETURN h"):
            h = r["h"]
            src, kind, dst = h["key"].split(SEP)
            if edge_srcs is not None and src not in edge_srcs:
                continue
            c = json.loads(h["statement"])
            out_edges.append(EdgeStatement(src, kind, dst, h["source"], c.get("properties") or {},
                                           h.get("valid_from"), h["valid_to"]))
    return nodes, out_edges


def node_seen(tx, node_id: str) -> dict[str, Any] | None:
    rec = tx.run("MATCH (n:Node {id: $id}) RETURN n._src AS s", id=node_id).single()
    if rec is None or not rec["s"] or rec["s"] == "{}":
        return None
    contribs = json.loads(rec["s"])
    runs = [c.get("run_id") for c in contribs.values()]
    lasts = [r["at"] for r in tx.run(
        "MATCH (r:IngestRun) WHERE r.id IN $ids OPTIONAL MATCH (s:SyncRun {id: r.sync_id}) "
        "RETURN coalesce(s.at, r.started_at) AS at", ids=runs) if r["at"]]
    firsts = [c["first_seen"] for c in contribs.values() if c.get("first_seen")]
    removed = [c.get("removed_at") for c in contribs.values()]
    versions = tx.run("MATCH (h:HistoryVersion {key: $id}) WHERE h.entity = 'node' RETURN count(h) AS c",
                      id=node_id).single()["c"]
    return {"first_seen": min(firsts) if firsts else None, "last_seen": max(lasts) if lasts else None,
            "removed_at": None if any(r is None for r in removed) else max(removed),
            "versions": versions + 1}


def begin_sync(tx, run: dict) -> None:
    tx.run("CREATE (r:SyncRun {id: $id, at: $at, started_at: $started, version: $version, complete: false, "
           "sources: '[]', files: 0, added: 0, changed: 0, removed: 0, warnings: '[]'})",
           id=run["id"], at=run["at"], started=run["started_at"], version=run.get("version")).consume()


def finish_sync(tx, run: dict) -> None:
    tx.run("MATCH (r:SyncRun {id: $id}) SET r.finished_at = $finished, r.complete = $complete, "
           "r.sources = $sources, r.files = $files, r.added = $added, r.changed = $changed, "
           "r.removed = $removed, r.warnings = $warnings, r.error = $error, r.summary = $summary",
           id=run["id"], finished=run["finished_at"], complete=bool(run["complete"]),
           sources=json.dumps(run["sources"]), files=run["files"], added=run["added"],
           changed=run["changed"], removed=run["removed"], warnings=json.dumps(run["warnings"]),
           error=run.get("error"), summary=json.dumps(run.get("summary") or {})).consume()


def sync_runs(tx) -> list[dict[str, Any]]:
    out = []
    for r in tx.run("MATCH (r:SyncRun) RETURN properties(r) AS p"):
        p = dict(r["p"])
        out.append({"id": p["id"], "at": p["at"], "started_at": p["started_at"],
                    "finished_at": p.get("finished_at"), "complete": bool(p.get("complete")),
                    "sources": json.loads(p.get("sources") or "[]"), "files": p.get("files") or 0,
                    "added": p.get("added") or 0, "changed": p.get("changed") or 0,
                    "removed": p.get("removed") or 0, "warnings": json.loads(p.get("warnings") or "[]"),
                    "version": p.get("version"), "error": p.get("error"),
                    "summary": json.loads(p.get("summary") or "{}")})
    out.sort(key=lambda r: (r["at"], r["started_at"], r["id"]))
    return out


def history_size(tx) -> dict[str, int]:
    out = {}
    for entity in ("node", "edge"):
        out[f"{entity}_hist_rows"] = tx.run("MATCH (h:HistoryVersion {entity: $e}) RETURN count(h) AS c",
                                            e=entity).single()["c"]
    out["sync_runs_rows"] = tx.run("MATCH (r:SyncRun) RETURN count(r) AS c").single()["c"]
    return out
