"""History on both stores: sync runs, versions only on change, as-of answers after
churn, drift over several runs (real SQLite file, real Neo4j server)."""
from __future__ import annotations

import pytest

from engine.model import Edge, EdgeKind, Node, NodeKind, Records
from engine.service import Engine
from tests.neo4j_support import neo4j_engine, neo4j_url  # noqa: F401 (fixtures)

KEY = "openai:api_key:k1"
SA = "openai:service_account:sa1"
GRANT = "google:token:u1:c1"
T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"


@pytest.fixture(params=["sqlite", "neo4j"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = Engine.open(str(tmp_path / "h.db"))
        yield eng
        eng.close()
    else:
        yield request.getfixturevalue("neo4j_engine")


def openai(grant: bool = True, key_status: str = "active", extra: dict | None = None) -> Records:
    nodes = [Node(id=KEY, kind=NodeKind.Credential, active=key_status == "active",
                  properties={"status": key_status, "created_at": "2025-12-01T00:00:00Z", **(extra or {})}),
             Node(id=SA, kind=NodeKind.ServiceAccount, active=True, properties={})]
    edges = [Edge(src=KEY, dst=SA, kind=EdgeKind.AUTHENTICATES_AS)]
    return Records(source="openai", nodes=nodes, edges=edges)


def google(grant: bool = True, scopes: list[str] | None = None) -> Records:
    nodes = [Node(id="saas:crm", kind=NodeKind.SaaSApp, properties={}),
             Node(id="data:crm", kind=NodeKind.DataSource, properties={"sensitivity": "restricted"})]
    edges = [Edge(src="saas:crm", dst="data:crm", kind=EdgeKind.CONTAINS, properties={"access": "write"})]
    if grant:
        nodes.append(Node(id=GRANT, kind=NodeKind.OAuthGrant, active=True,
                          properties={"scopes": scopes or ["crm.read"]}))
        edges += [Edge(src=SA, dst=GRANT, kind=EdgeKind.HOLDS),
                  Edge(src=GRANT, dst="saas:crm", kind=EdgeKind.GRANTS,
                       properties={"access": "read", "scopes": scopes or ["crm.read"]})]
    return Records(source="google", nodes=nodes, edges=edges)


def reach(eng: Engine, node_id: str) -> set[str]:
    return {r.node_id for r in eng.blast_radius(node_id).reachable}


def history_rows(eng: Engine) -> int:
    nodes, edges = eng.store.statements()
    return sum(1 for s in nodes + edges if s.valid_to is not None)


def test_blast_radius_before_and_after_a_revoked_grant(engine):
    engine.load_records([(openai(), True), (google(), True)], synced_at=T1)
    engine.load_records([(openai(), True), (google(grant=False), True)], synced_at=T2)
    assert reach(engine, KEY) == {SA}                                   # now: revoked
    then = engine.at("2026-01-01T12:00:00Z")
    assert reach(then, KEY) == {SA, GRANT, "saas:crm", "data:crm"}      # as it stood then
    assert then.node(GRANT) is not None and engine.node(GRANT) is None
    assert engine.at("2025-12-31T00:00:00Z").node(KEY) is None          # before the first sync
    # who could reach the data, then and now
    assert KEY in {r.node_id for r in then.who_can_reach("data:crm")}
    assert KEY not in {r.node_id for r in engine.who_can_reach("data:crm")}


def test_reingest_of_the_same_data_adds_a_run_and_no_versions(engine):
    engine.load_records([(openai(), True), (google(), True)], synced_at=T1)
    rows = history_rows(engine)
    engine.load_records([(openai(extra={"last_used_at": "2026-01-01T10:00:00Z"}), True),
                         (google(), True)], synced_at=T2)      # a volatile field only
    engine.load_records([(openai(extra={"last_used_at": "2026-01-01T10:00:00Z"}), True),
                         (google(), True)], synced_at=T3)
    assert history_rows(engine) == rows == 0
    runs = engine.sync_runs()
    assert len(runs) == 3 and all(r["complete"] for r in runs)
    assert (runs[0]["added"], runs[0]["changed"], runs[0]["removed"]) == (0, 0, 0)
    assert runs[2]["added"] == 5 and runs[0]["id"] != runs[2]["id"]


def test_a_change_that_matters_is_a_version(engine):
    engine.load_records([(openai(), True), (google(), True)], synced_at=T1)
    engine.load_records([(openai(key_status="revoked"), True), (google(scopes=["crm.admin"]), True)],
                        synced_at=T2)
    assert history_rows(engine) == 3        # the key, the grant node, the GRANTS edge
    assert engine.at(T1).node(KEY).properties["status"] == "active"
    assert engine.node(KEY).properties["status"] == "revoked" and not engine.node(KEY).active
    seen = engine.node_seen(KEY)
    assert seen["first_seen"].startswith("2026-01-01") and seen["last_seen"].startswith("2026-01-02")
    assert seen["versions"] == 2


def test_drift_over_several_runs(engine):
    engine.load_records([(openai(), True), (google(grant=False), True)], synced_at=T1)
    engine.load_records([(openai(), True), (google(), True)], synced_at=T2)
    engine.load_records([(openai(key_status="revoked"), True), (google(), True)], synced_at=T3)
    last = engine.drift()                           # the run before the last -> the last
    assert [c.after.id for c in last.nodes.changed] == [KEY]
    assert last.nodes.changed[0].fields["status"] == ("active", "revoked")
    assert not last.nodes.added and not last.edges.added
    runs = engine.sync_runs()                       # newest first
    first = engine.drift(runs[2]["id"], runs[1]["id"])
    assert [v.id for v in first.nodes.added] == [GRANT]
    assert {(e.src, e.kind, e.dst) for e in first.edges.added} == {
        (SA, "HOLDS", GRANT), (GRANT, "GRANTS", "saas:crm")}
    whole = engine.drift(T1, T3)
    assert [v.id for v in whole.nodes.added] == [GRANT] and [c.after.id for c in whole.nodes.changed] == [KEY]
    back = engine.drift(runs[1]["id"], runs[0]["id"])
    assert not back.nodes.removed


def test_an_unfinished_run_stays_visible_until_a_later_one_completes(engine):
    from engine.history import sync
    engine.load_records([(openai(), True)], synced_at=T1)
    assert engine.mixed_state() is None
    sync.start(engine.store, "2026-01-01T06:00:00Z")   # died before writing anything:
    engine.store.sync = None
    assert engine.mixed_state() is None                   # incomplete, but nothing is mixed
    assert not engine.sync_runs()[0]["complete"]
    sync.start(engine.store, T2)        # a process that died after one source committed
    engine.store.load(openai(key_status="revoked"), True)
    engine.store.sync = None
    state = engine.mixed_state()
    assert state and state["lastCompleteRun"] == engine.sync_runs()[2]["id"]
    assert not engine.sync_runs()[0]["complete"]
    engine.load_records([(openai(), True)], synced_at=T3)
    assert engine.mixed_state() is None
    assert [r["complete"] for r in engine.sync_runs()] == [True, False, False, True]


# --- GraphQL -------------------------------------------------------------------

def gql(eng: Engine, doc: str, **variables) -> dict:
    from api.execute import execute
    out = execute(eng, doc, variables)
    assert not out.get("errors"), out["errors"]
    return out


def test_graphql_as_of_ingest_runs_and_drift(engine):
    engine.load_records([(openai(), True), (google(), True)], synced_at=T1)
    engine.load_records([(openai(key_status="revoked"), True), (google(grant=False), True)], synced_at=T2)
    doc = """query($id: ID!, $at: DateTime) {
      blastRadius(id: $id, asOf: $at) { reachable { node { id firstSeen } } dataSources { id } }
      node(id: $id, asOf: $at) { active properties firstSeen lastSeen owners { id } }
      whoCanReach(id: "data:crm", asOf: $at) { node { id } }
      nodes(kind: "OAuthGrant", asOf: $at) { totalCount }
      findings(asOf: $at) { totalCount }
      spend(groupBy: "credential", asOf: $at) { key usd }
      traceCompromise(id: $id, asOf: $at) { blastRadius { dataSources { id } } }
    }"""
    then = gql(engine, doc, id=KEY, at="2026-01-01T06:00:00Z")["data"]
    now = gql(engine, doc, id=KEY)["data"]
    assert [r["id"] for r in then["blastRadius"]["dataSources"]] == ["data:crm"]
    assert now["blastRadius"]["dataSources"] == []
    assert then["traceCompromise"]["blastRadius"]["dataSources"] == [{"id": "data:crm"}]
    assert now["traceCompromise"]["blastRadius"]["dataSources"] == []
    assert then["node"]["active"] and not now["node"]["active"]
    assert then["node"]["properties"]["status"] == "active"
    assert now["node"]["firstSeen"].startswith("2026-01-01") and now["node"]["lastSeen"].startswith("2026-01-02")
    assert (then["nodes"]["totalCount"], now["nodes"]["totalCount"]) == (1, 0)
    assert {r["node"]["id"] for r in then["whoCanReach"]} >= {KEY, SA, GRANT}
    runs = gql(engine, "{ ingestRuns(first: 1) { totalCount nodes { id complete sources added changed removed "
                       "startedAt finishedAt warnings version } pageInfo { hasNextPage endCursor } } }")["data"]
    page = runs["ingestRuns"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"]
    latest = page["nodes"][0]
    assert latest["complete"] and latest["sources"] == ["openai", "google"]
    assert (latest["added"], latest["changed"], latest["removed"]) == (0, 1, 1)
    d = gql(engine, """{ drift { from to fromRun toRun
        added { nodes { id } } removed { nodes { id kind } edges { source target kind } }
        changed { nodes { id changes { field before after } } } } }""")["data"]["drift"]
    assert d["removed"]["nodes"] == [{"id": GRANT, "kind": "OAuthGrant"}]
    assert {"source": GRANT, "target": "saas:crm", "kind": "GRANTS"} in d["removed"]["edges"]
    changes = {c["field"]: (c["before"], c["after"]) for c in d["changed"]["nodes"][0]["changes"]}
    assert changes["status"] == ("active", "revoked") and changes["active"] == (True, False)
    bad = __import__("api.execute", fromlist=["execute"]).execute(engine, '{ drift(from: "nonsense") { to } }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_INPUT" and "nonsense" in bad["errors"][0]["message"]


def test_graphql_flags_an_incomplete_run(engine):
    from api.execute import execute
    from engine.history import sync
    engine.load_records([(openai(), True)], synced_at=T1)
    assert "extensions" not in execute(engine, "{ nodes { totalCount } }")
    sync.start(engine.store, T2)
    engine.store.load(openai(key_status="revoked"), True)
    engine.store.sync = None
    out = execute(engine, "{ ingestRuns { nodes { complete finishedAt } } }")
    assert out["extensions"]["ingest"]["lastCompleteRun"] == engine.sync_runs()[1]["id"]
    assert out["data"]["ingestRuns"]["nodes"][0] == {"complete": False, "finishedAt": None}


# --- the command line ----------------------------------------------------------

def test_cli_ingest_summary_runs_and_drift(tmp_path, capsys):
    import json
    import shutil
    from pathlib import Path
    from api.cli import main
    snap = tmp_path / "snap"
    shutil.copytree(Path(__file__).resolve().parent.parent / "fixtures" / "demo", snap)
    db = str(tmp_path / "d.db")
    assert main(["ingest", str(snap), "--db", db, "--synced-at", "2026-11-20T00:00:00Z"]) == 0
    first = capsys.readouterr().out
    assert "added" in first and "identities added" in first
    assert main(["ingest", str(snap), "--db", db, "--synced-at", "2026-11-21T00:00:00Z"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("no change")
    tokens = snap / "google/admin/directory/v1/users/110000000000000000004/tokens.json"
    doc = json.loads(tokens.read_text())
    gone = doc["items"].pop(0)["clientId"]
    tokens.write_text(json.dumps(doc))
    assert main(["ingest", str(snap), "--db", db, "--synced-at", "2026-11-22T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    grant = f"google:token:110000000000000000004:{gone}"
    assert f"identities removed (2): google:oauth_client:{gone}, {grant}" in out
    assert main(["ingest", str(snap), "--db", db, "--synced-at", "2026-11-01T00:00:00Z"]) == 2
    assert "before the last sync run" in capsys.readouterr().err
    assert main(["runs", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "+0 ~0 -2" in lines[1] and "+0 ~0 -0" in lines[2]
    assert main(["drift", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "nodes removed (2):" in out and grant in out and "-GRANTS->" in out
    assert main(["drift", "--db", db, "--from", lines[3].split()[0], "--to", lines[2].split()[0]]) == 0
    assert capsys.readouterr().out.rstrip().endswith("no change")
    assert main(["drift", "--db", db, "--from", "yesterday-ish"]) == 2
    assert "neither a sync run id" in capsys.readouterr().err
