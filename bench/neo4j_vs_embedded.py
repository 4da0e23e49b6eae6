"""Neo4j vs the embedded store on a generated ~100k-node org: load time and
blastRadius / whoCanReach latency (p50, p95), with ratios.

    NEO4J_URI=bolt://127.0.0.1:17687 NEO4J_PASSWORD=... python bench/neo4j_vs_embedded.py [--nodes 100000]

The Neo4j database is emptied first. Records are generated directly (deterministic,
seeded): people with IdP and vendor accounts, teams, projects, service accounts,
keys, tools, OAuth grants, SaaS apps and data sources, wired with every traversable
edge kind and mixed access levels.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.model import Edge, EdgeKind, Node, NodeKind, Records  # noqa: E402
from engine.store.neo4j import Neo4jStore  # noqa: E402
from engine.store.sqlite import SQLiteStore  # noqa: E402

K = EdgeKind


def generate(total: int, seed: int = 42) -> list[Records]:
    rnd = random.Random(seed)
    u = max(total // 10, 10)                       # people
    idp, vendor = Records(source="okta"), Records(source="openai")
    people = [f"person:u{i}@example.com" for i in range(u)]
    okta = [f"okta:user:{i}" for i in range(u)]
    oai = [f"openai:user:{i}" for i in range(u)]
    teams = [f"team:t{i}" for i in range(max(u // 20, 1))]
    projects = [f"openai:project:p{i}" for i in range(max(u // 10, 1))]
    sas = [f"openai:service_account:s{i}" for i in range(u // 2)]
    creds = [f"openai:api_key:k{i}" for i in range(4 * u)]
    tools = [f"tool:ai{i}" for i in range(max(u // 10, 1))]
    saas = [f"saas:app{i}" for i in range(max(u // 50, 1))]
    data = [f"data:d{i}" for i in range(max(u // 5, 1))]
    grants = [f"okta:grant:g{i}" for i in range(2 * u)]
    for i, p in enumerate(people):
        idp.nodes.append(Node(id=p, kind=NodeKind.Person, name=f"User {i}"))
        idp.nodes.append(Node(id=okta[i], kind=NodeKind.Account, active=rnd.random() > 0.05,
                              properties={"status": "ACTIVE", "created_at": "2025-01-01T00:00:00Z"}))
        idp.edges.append(Edge(src=p, dst=okta[i], kind=K.HAS_ACCOUNT))
        vendor.nodes.append(Node(id=oai[i], kind=NodeKind.Account, properties={"email": p[7:]}))
        vendor.edges.append(Edge(src=p, dst=oai[i], kind=K.HAS_ACCOUNT))
        idp.edges.append(Edge(src=okta[i], dst=rnd.choice(teams), kind=K.MEMBER_OF))
        vendor.edges.append(Edge(src=oai[i], dst=rnd.choice(projects), kind=K.MEMBER_OF))
    for t in teams:
        idp.nodes.append(Node(id=t, kind=NodeKind.Team))
        idp.edges.append(Edge(src=t, dst=rnd.choice(saas), kind=K.CAN_ACCESS,
                              properties={"access": rnd.choice(["read", "write", "admin"])}))
    for p in projects:
        vendor.nodes.append(Node(id=p, kind=NodeKind.Project, properties={"status": "active"}))
    for s in sas:
        vendor.nodes.append(Node(id=s, kind=NodeKind.ServiceAccount))
        vendor.edges.append(Edge(src=s, dst=rnd.choice(data), kind=K.CAN_ACCESS,
                                 properties={"access": rnd.choice(["read", "write"])}))
    for i, c in enumerate(creds):
        vendor.nodes.append(Node(id=c, kind=NodeKind.Credential, properties={
            "created_at": "2025-02-01T00:00:00Z", "redacted_value": f"sk-...{i:04d}"}))
        vendor.edges.append(Edge(src=c, dst=rnd.choice(projects), kind=K.MEMBER_OF))
        vendor.edges.append(Edge(src=rnd.choice(oai), dst=c, kind=K.OWNS))
        if i % 3 == 0:
            vendor.edges.append(Edge(src=c, dst=rnd.choice(sas), kind=K.AUTHENTICATES_AS))
        if i % 5 == 0:
            vendor.edges.append(Edge(src=rnd.choice(tools), dst=c, kind=K.HOLDS))
        if i % 50 == 0:
            vendor.edges.append(Edge(src=rnd.choice(data), dst=c, kind=K.STORES_SECRET))
    for t in tools:
        vendor.nodes.append(Node(id=t, kind=NodeKind.AITool))
    for a in saas:
        vendor.nodes.append(Node(id=a, kind=NodeKind.SaaSApp))
        for d in rnd.sample(data, min(5, len(data))):
            vendor.edges.append(Edge(src=a, dst=d, kind=K.CONTAINS))
    for d in data:
        vendor.nodes.append(Node(id=d, kind=NodeKind.DataSource, properties={"sensitivity": "internal"}))
    for g in grants:
        idp.nodes.append(Node(id=g, kind=NodeKind.OAuthGrant, properties={"scopes": ["openid", "email"]}))
        idp.edges.append(Edge(src=rnd.choice(okta), dst=g, kind=K.HOLDS))
        idp.edges.append(Edge(src=g, dst=rnd.choice(saas), kind=K.GRANTS,
                              properties={"access": rnd.choice(["read", "write"])}))
    return [idp, vendor]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def timed(fn, starts, depth) -> list[float]:
    out = []
    for s in starts:
        t = time.perf_counter()
        fn(s, depth)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=None)
    args = ap.parse_args()
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        print("set NEO4J_URI (and NEO4J_USER / NEO4J_PASSWORD); .ci/neo4j/start.sh starts one", file=sys.stderr)
        return 2
    loads = generate(args.nodes)
    n_nodes = len({n.id for r in loads for n in r.nodes})
    n_edges = sum(len(r.edges) for r in loads)
    print(f"generated {n_nodes} nodes, {n_edges} edges in {len(loads)} source loads")

    from tests.neo4j_support import wipe
    user, password = os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", "")
    wipe(uri, user, password)
    neo = Neo4jStore(uri, user, password, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        sql = SQLiteStore(Path(tmp) / "bench.db")
        results = {}
        for name, store in (("embedded", sql), ("neo4j", neo)):
            t = time.perf_counter()
            for r in loads:
                store.load(r, complete=True)
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            store.graph()       # embedded: its in-memory graph; neo4j: the load already built it
            first_s = time.perf_counter() - t
            results[name] = {"load": load_s, "graph": first_s}
        rnd = random.Random(7)
        graph = sql.graph()
        starts = rnd.sample(graph.by_kind["Credential"], args.queries // 2) + \
            rnd.sample(graph.by_kind["Person"], args.queries // 2)
        targets = rnd.sample(graph.by_kind["DataSource"], min(args.queries, len(graph.by_kind["DataSource"])))
        for s in starts[:20]:   # same answers, checked on a sample
            assert neo.blast_radius(s, args.depth) == sql.blast_radius(s, args.depth), s
        for name, store in (("embedded", sql), ("neo4j", neo)):
            timed(store.blast_radius, starts[:5], args.depth)   # warm caches and plans
            results[name]["blast"] = timed(store.blast_radius, starts, args.depth)
            results[name]["reach"] = timed(store.who_can_reach, targets, args.depth)
        # Rule facts walk many identities at once: one query per level for the batch.
        batch = graph.by_kind["Credential"][:256]
        for name, store in (("embedded", sql), ("neo4j", neo)):
            t = time.perf_counter()
            store.blast_radius_many(batch, args.depth)
            results[name]["many"] = (time.perf_counter() - t) * 1000
        sizes = [len(sql.blast_radius(s, args.depth)) for s in starts]
        print(f"blastRadius from {len(starts)} credentials/people (maxDepth {args.depth}); "
              f"reachable per query: median {int(statistics.median(sizes))}, max {max(sizes)}")
        print(f"{'':24}{'embedded':>12}{'neo4j':>12}{'neo4j/emb':>12}")
        e, n = results["embedded"], results["neo4j"]
        print(f"{'load (s)':24}{e['load']:12.1f}{n['load']:12.1f}{n['load'] / e['load']:12.1f}x")
        print(f"{'first graph() (s)':24}{e['graph']:12.2f}{n['graph']:12.2f}")
        for key, label in (("blast", "blastRadius"), ("reach", "whoCanReach")):
            for q in (0.5, 0.95):
                a, b = pct(e[key], q), pct(n[key], q)
                print(f"{label + f' p{int(q * 100)} (ms)':24}{a:12.1f}{b:12.1f}{b / a:12.1f}x")
        a, b = e["many"], n["many"]
        print(f"{'blast_radius_many 256 (ms)':24}{a:12.1f}{b:12.1f}{b / a:12.1f}x")
        sql.close()
    neo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
