"""Hand-built graphs for the rule tests: Records loaded into a real SQLite store."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from engine.model import Edge, EdgeKind, Node, NodeKind, Records, UsageRow
from engine.service import Engine

K = EdgeKind
N = NodeKind
NOW = "2026-11-14T23:00:00Z"
TODAY = date(2026, 11, 14)


class G:
    """Collects nodes, edges and usage; `engine()` loads them into a fresh db."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.nodes: list[Node] = [Node(id="okta:user:clock", kind=N.Account, active=True,
                                       properties={"updated_at": NOW})]
        self.edges: list[Edge] = []
        self.usage: list[UsageRow] = []

    def node(self, nid, kind, active=None, name=None, **props):
        self.nodes.append(Node(id=nid, kind=kind, active=active, name=name, properties=props))
        return nid

    def person(self, email, status="active", deactivated_at=None):
        pid = f"person:{email}"
        self.node(pid, N.Person, email=email)
        if status in ("active", "inactive"):
            acct = f"okta:user:{email.split('@')[0]}"
            props = {"deactivated_at": deactivated_at} if deactivated_at else {}
            self.node(acct, N.Account, active=status == "active", **props)
            self.edge(pid, K.HAS_ACCOUNT, acct)
        return pid

    def cred(self, cid, active=True, **props):
        props.setdefault("created_at", "2026-10-20T00:00:00Z")
        return self.node(cid, N.Credential, active=active, **props)

    def tool(self, tid, approved=True, **props):
        return self.node(tid, N.AITool, approved=approved, inventory=True, **props)

    def edge(self, src, kind, dst, **props):
        self.edges.append(Edge(src=src, dst=dst, kind=kind, properties=props))

    def spend(self, cid, day: date, usd: float, model="gpt-4o-mini", project=None, account=None,
              requests=100):
        self.usage.append(UsageRow(day=day, model=model, credential_id=cid, project_id=project,
                                   account_id=account, requests=requests, vendor_usd=usd,
                                   input_tokens=1000, output_tokens=100))

    def series(self, cid, values, start: date, model="gpt-4o-mini"):
        for i, v in enumerate(values):
            if v is not None:
                self.spend(cid, start + timedelta(days=i), float(v), model=model)

    def engine(self, as_of=None, rule_dirs=None) -> Engine:
        eng = Engine.open(str(self.db_path), as_of=as_of, rule_dirs=rule_dirs)
        eng.store.load(Records(source="inventory", nodes=self.nodes, edges=self.edges,
                               usage=self.usage), complete=True)
        return eng


def subjects(engine, rule) -> set[str]:
    from engine.findings import findings
    return {f.subject_id for f in findings(engine, rule=rule)}


def by_subject(engine, rule) -> dict:
    from engine.findings import findings
    return {f.subject_id: f for f in findings(engine, rule=rule)}
