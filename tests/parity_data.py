"""A small generator of Records for store tests: every node kind, every edge kind,
cycles, self-loops, access levels (stated, aliased, bogus, absent), several
sources stating the same nodes and edges, enrichment, people with identity-provider
accounts in every state, expiring keys, archived projects, usage, costs, activity
and settings."""
from __future__ import annotations

import random
from datetime import date, timedelta

from engine.model import (ActivityRow, CostRow, Edge, EdgeKind, Node, NodeKind, Records,
                          UsageRow)

ACCESS_VALUES = [None, "read", "write", "admin", "owner", "readonly", "bogus"]


def random_records(seed: int, n_people: int = 8, n_other: int = 40) -> list[Records]:
    """Loads to apply in order (a list of Records, one per source load)."""
    rnd = random.Random(seed)
    people = [f"person:p{i}@example.com" for i in range(n_people)]
    okta = [f"okta:user:u{i}" for i in range(n_people)]
    kinds = [NodeKind.Account, NodeKind.Team, NodeKind.Project, NodeKind.ServiceAccount,
             NodeKind.Credential, NodeKind.OAuthClient, NodeKind.OAuthGrant, NodeKind.AITool,
             NodeKind.SaaSApp, NodeKind.DataSource, NodeKind.SecretExposure]
    prefix = {NodeKind.Account: "openai:user:", NodeKind.Team: "team:",
              NodeKind.Project: "openai:project:", NodeKind.ServiceAccount: "openai:service_account:",
              NodeKind.Credential: "openai:api_key:", NodeKind.OAuthClient: "okta:app:",
              NodeKind.OAuthGrant: "okta:grant:", NodeKind.AITool: "tool:",
              NodeKind.SaaSApp: "saas:", NodeKind.DataSource: "data:",
              NodeKind.SecretExposure: "gitleaks:finding:"}
    others = []
    for i in range(n_other):
        k = kinds[i % len(kinds)]
        others.append((f"{prefix[k]}n{i:03d}", k))
    all_ids = people + okta + [o for o, _ in others]
    day0 = date(2025, 3, 1)

    def props_for(kind: NodeKind, i: int) -> dict:
        p = {"created_at": f"2025-0{1 + i % 3}-1{i % 10}T00:00:00Z", "rank": i,
             "tags": ["a", "b"] if i % 2 else [], "nested": {"x": i, "y": [1, "two"]}}
        if kind is NodeKind.Credential and i % 3 == 0:
            p["expires_at"] = "2025-02-01T00:00:00Z" if i % 2 else "2026-01-01T00:00:00Z"
        if kind is NodeKind.Project and i % 4 == 0:
            p["status"] = "archived"
        if kind is NodeKind.Credential:
            p["environment"] = rnd.choice(["prod", "dev", None])
        return p

    vendor = Records(source="openai")
    idp = Records(source="okta")
    inv = Records(source="inventory")
    for i, (pid, aid) in enumerate(zip(people, okta)):
        idp.nodes.append(Node(id=pid, kind=NodeKind.Person, name=f"P{i}"))
        state = i % 3   # active, deactivated with a date, deactivated without one
        idp.nodes.append(Node(id=aid, kind=NodeKind.Account, active=state == 0,
                              properties={"status": ["ACTIVE", "DEPROVISIONED", "SUSPENDED"][state],
                                          **({"deactivated_at": f"2025-02-0{1 + i % 9}T00:00:00Z"}
                                             if state == 1 else {})}))
        idp.edges.append(Edge(src=pid, dst=aid, kind=EdgeKind.HAS_ACCOUNT))
    for i, (oid, kind) in enumerate(others):
        target = vendor if i % 2 else idp
        target.nodes.append(Node(id=oid, kind=kind, name=f"N{i}" if i % 5 else None,
                                 active=[None, True, False][i % 3] if i % 4 else None,
                                 properties=props_for(kind, i)))
        if i % 6 == 0:   # the same node stated by a second source, with a clashing property
            (idp if target is vendor else vendor).nodes.append(
                Node(id=oid, kind=kind, properties={"rank": -i, "second": True}))
        if i % 7 == 0:   # the humans' word on top
            inv.nodes.append(Node(id=oid, kind=kind, enrichment=True,
                                  properties={"owner_note": f"note {i}", "rank": 1000 + i}))
    edge_kinds = list(EdgeKind)
    for _ in range(n_other * 4):
        src = rnd.choice(all_ids)
        dst = rnd.choice(all_ids) if rnd.random() > 0.05 else src      # some self-loops
        kind = rnd.choice(edge_kinds)
        props = {}
        access = rnd.choice(ACCESS_VALUES)
        if access is not None:
            props["access"] = access
        if rnd.random() < 0.2:
            props["scopes"] = ["read:all", "write:some"]
        rec = rnd.choice([vendor, idp, inv])
        rec.edges.append(Edge(src=src, dst=dst, kind=kind, properties=props))
        if rnd.random() < 0.1:  # the same edge from another source, other properties
            other = vendor if rec is not vendor else idp
            other.edges.append(Edge(src=src, dst=dst, kind=kind, properties={"note": "dup"}))
    # A few long cycles so deep walks have something to do.
    ring = rnd.sample(all_ids, 12)
    for a, b in zip(ring, ring[1:] + ring[:1]):
        vendor.edges.append(Edge(src=a, dst=b, kind=EdgeKind.MEMBER_OF))
    # Edges to ids nothing states (stubs of guessed kinds).
    vendor.edges.append(Edge(src=others[0][0], dst="saas:never-listed", kind=EdgeKind.CAN_ACCESS,
                             properties={"access": "write"}))
    vendor.edges.append(Edge(src="anthropic:api_key:ghost", dst=others[1][0], kind=EdgeKind.HOLDS))
    creds = [o for o, k in others if k is NodeKind.Credential]
    for d in range(20):
        for c in creds[:4]:
            vendor.usage.append(UsageRow(day=day0 + timedelta(days=d), model=rnd.choice(["gpt-4o", "gpt-4o-mini"]),
                                         credential_id=c, input_tokens=rnd.randint(0, 10**6),
                                         output_tokens=rnd.randint(0, 10**5), requests=rnd.randint(1, 50),
                                         vendor_usd=rnd.choice([None, 1.25])))
        vendor.costs.append(CostRow(day=day0 + timedelta(days=d), scope_id="openai:project:n002",
                                    line_item="gpt-4o", usd=round(rnd.random() * 10, 2)))
        idp.activity.append(ActivityRow(day=day0 + timedelta(days=d), actor_id=people[d % n_people],
                                        kind="claude_code", properties={"sessions": d}))
    inv.settings["price:gpt-4o"] = {"input": 2.5, "output": 10}
    vendor.settings["org"] = "acme"
    return [vendor, idp, inv]


def resync_without(records: Records, drop_every: int) -> Records:
    """The same source re-synced, having lost every `drop_every`-th node and edge, and
    a usage window covering only its last days."""
    days = sorted({u.day for u in records.usage})
    keep_days = set(days[-5:])
    return Records(source=records.source,
                   nodes=[n for i, n in enumerate(records.nodes) if i % drop_every],
                   edges=[e for i, e in enumerate(records.edges) if i % drop_every],
                   usage=[u for i, u in enumerate(records.usage) if u.day in keep_days and i % 3],
                   costs=records.costs[::2], activity=records.activity,
                   settings={})
