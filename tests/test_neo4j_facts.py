"""Findings and spend on Neo4j read the graph with Cypher (engine.store.neo4j_facts),
never by building the in-memory graph, and agree exactly with the embedded store:
every fact family the rules and spend attribution read, on a hand-made ownership
scenario (with its negatives stated), on the demo and on a generated org."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

import pytest

from engine.findings import all_findings, facts_of
from engine.model import Edge, EdgeKind, Node, NodeKind, Records, UsageRow
from engine.rules.facts import Facts
from engine.service import Engine
from engine.spend import GROUP_BYS, Attributor, reconcile, spend
from engine.store.neo4j import Neo4jStore
from engine.store.neo4j_facts import InMemoryGraphNotBuilt, Neo4jAttributor, Neo4jFacts
from engine.store.sqlite import SQLiteStore
from ingest.snapshot import plan, read_source

from tests.conftest import DEMO
from tests.neo4j_support import neo4j_settings, neo4j_url  # noqa: F401 (fixture)

pytestmark = pytest.mark.neo4j

K = EdgeKind


# --- the ownership scenario --------------------------------------------------------
def _e(src, kind, dst, **props):
    return Edge(src=src, dst=dst, kind=kind, properties=props)


def idp_records() -> Records:
    r = Records(source="okta")
    r.nodes += [Node(id="person:ana@example.com", kind=NodeKind.Person),
                Node(id="okta:user:a", kind=NodeKind.Account, active=True),
                Node(id="person:bob@example.com", kind=NodeKind.Person),
                Node(id="okta:user:b", kind=NodeKind.Account, active=False,
                     properties={"deactivated_at": "2025-02-01T00:00:00Z"})]
    r.edges += [_e("person:ana@example.com", K.HAS_ACCOUNT, "okta:user:a"),
                _e("person:bob@example.com", K.HAS_ACCOUNT, "okta:user:b")]
    return r


def vendor_records() -> Records:
    key = "openai:api_key:"
    sa = "openai:service_account:"
    r = Records(source="openai")
    r.nodes += [Node(id="person:cy@example.com", kind=NodeKind.Person),
                Node(id="openai:user:ana", kind=NodeKind.Account),
                Node(id="openai:user:cy", kind=NodeKind.Account),
                Node(id="openai:user:lonely", kind=NodeKind.Account),
                Node(id="openai:project:p1", kind=NodeKind.Project, properties={"environment": "staging"}),
                Node(id="team:owned", kind=NodeKind.Team, properties={"budget_usd_month": 100}),
                Node(id="team:members", kind=NodeKind.Team),
                Node(id="team:empty", kind=NodeKind.Team),
                Node(id="tool:approved", kind=NodeKind.AITool, active=True,
                     properties={"approved": True, "environment": "prod"}),
                Node(id="tool:unapproved", kind=NodeKind.AITool, active=True,
                     properties={"approved": "true", "environment": "dev"})]
    r.nodes += [Node(id=f"{sa}s{i}", kind=NodeKind.ServiceAccount) for i in range(1, 6)]
    names = ["direct", "lonely", "user", "sa", "proj", "team_owned", "team_members", "team_empty",
             "deep5", "deep4", "orphan", "precedence", "acting_first", "in_proj"]
    r.nodes += [Node(id=key + n, kind=NodeKind.Credential, active=True,
                     properties={"created_at": "2025-01-01T00:00:00Z"}) for n in names]
    r.edges += [
        _e("person:cy@example.com", K.HAS_ACCOUNT, "openai:user:cy"),
        _e("person:ana@example.com", K.HAS_ACCOUNT, "openai:user:ana"),
        _e("openai:user:ana", K.OWNS, key + "direct"),           # an account owner is its person
        _e("openai:user:lonely", K.OWNS, key + "lonely"),        # no person: the account itself
        _e(key + "user", K.AUTHENTICATES_AS, "openai:user:cy"),  # a user key is its user's
        _e(key + "sa", K.AUTHENTICATES_AS, sa + "s1"),
        _e("person:bob@example.com", K.OWNS, sa + "s1"),
        _e(key + "proj", K.MEMBER_OF, "openai:project:p1"),
        _e("person:ana@example.com", K.OWNS, "openai:project:p1"),
        _e(key + "team_owned", K.MEMBER_OF, "team:owned"),
        _e("person:bob@example.com", K.OWNS, "team:owned"),
        _e(key + "team_members", K.MEMBER_OF, "team:members"),
        _e("person:ana@example.com", K.MEMBER_OF, "team:members"),
        _e("openai:user:cy", K.MEMBER_OF, "team:members"),
        _e(key + "team_empty", K.CAN_ACCESS, "team:empty"),
        # Chains of service accounts: resolution stops at depth 4.
        _e(key + "deep5", K.AUTHENTICATES_AS, sa + "s1x"),
        _e(sa + "s1x", K.AUTHENTICATES_AS, sa + "s2"),
        _e(key + "deep4", K.AUTHENTICATES_AS, sa + "s2"),
        _e(sa + "s2", K.AUTHENTICATES_AS, sa + "s3"),
        _e(sa + "s3", K.AUTHENTICATES_AS, sa + "s4"),
        _e(sa + "s4", K.AUTHENTICATES_AS, sa + "s5"),
        _e("person:ana@example.com", K.OWNS, sa + "s5"),
        # Direct owners win over what a key acts as; acting wins over its project.
        _e("person:cy@example.com", K.OWNS, key + "precedence"),
        _e(key + "precedence", K.AUTHENTICATES_AS, sa + "s1"),
        _e(key + "acting_first", K.AUTHENTICATES_AS, sa + "s1"),
        _e(key + "acting_first", K.MEMBER_OF, "openai:project:p1"),
        _e(key + "in_proj", K.MEMBER_OF, "openai:project:p1"),
        # Holders: an approved prod tool, an unapproved dev tool, a person's account.
        _e("tool:approved", K.HOLDS, key + "direct"),
        _e("tool:unapproved", K.HOLDS, key + "direct"),
        _e("openai:user:cy", K.HOLDS, key + "direct"),
        _e("tool:approved", K.HOLDS, key + "in_proj"),
        _e("tool:unapproved", K.HOLDS, key + "lonely"),
    ]
    r.usage += [UsageRow(day=date(2025, 3, d), model="gpt-4o", credential_id=key + "direct",
                         account_id=acct, input_tokens=1000, output_tokens=100, requests=1)
                for d in (1, 2) for acct in ("openai:user:ana", "openai:user:cy")]
    r.usage += [UsageRow(day=date(2025, 3, 2), model="gpt-4o", credential_id=key + "team_members",
                         input_tokens=50, requests=1),
                UsageRow(day=date(2025, 3, 2), model="gpt-4o", credential_id=key + "ghost",
                         input_tokens=70, requests=1),
                UsageRow(day=date(2025, 3, 2), model="o3", account_id="openai:user:cy",
                         input_tokens=90, requests=1)]
    return r


def inventory_records(with_owner: bool) -> Records:
    r = Records(source="inventory")
    r.nodes.append(Node(id="openai:api_key:orphan2", kind=NodeKind.Credential, active=True))
    if with_owner:
        r.edges.append(_e("person:bob@example.com", K.OWNS, "openai:api_key:orphan2"))
    return r


# --- helpers ---------------------------------------------------------------------------
class Pair:
    """The same loads in the embedded store and in Neo4j, and a Neo4j engine on a
    fresh store (so nothing the loads derived in this process is at hand)."""

    def __init__(self, tmp_path, loads):
        uri, user, password = neo4j_settings()
        self.sql = Engine(SQLiteStore(tmp_path / "pair.db"))
        loader = Neo4jStore(uri, user, password)
        try:
            for records, complete in loads:
                self.sql.store.load(records, complete)
                loader.load(records, complete)
        finally:
            loader.close()
        self.store = Neo4jStore(uri, user, password)
        self.neo = Engine(self.store)

    def close(self):
        self.sql.close()
        self.neo.close()


@pytest.fixture
def scenario(neo4j_url, tmp_path):
    pair = Pair(tmp_path, [(idp_records(), True), (vendor_records(), True), (inventory_records(True), True),
                           (inventory_records(False), True)])
    yield pair
    pair.close()


def all_ids(sql: Engine, facts: Facts) -> list[str]:
    ever = {v.id for v in sql.store.iter_nodes(include_removed=True)}
    return sorted(ever | set(sql.graph().ids) | set(facts.usage_only)) + ["no:such:node"]


def _plain(value):
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return value


def assert_fact_parity(sql: Engine, store: Neo4jStore) -> dict[str, int]:
    """Every fact family, for every id the data ever named; returns how many ids had a
    non-empty answer per family (so a test can see the comparison was not vacuous)."""
    sf = Facts(sql)
    nf = Neo4jFacts(store, Engine(store))
    assert nf.as_of == sf.as_of
    kinds = sorted(k.value for k in NodeKind)
    for kind in kinds:
        assert nf.subjects([kind]) == sf.subjects([kind]), kind
    assert nf.subjects(kinds) == sf.subjects(kinds)
    assert nf.usage_only == sf.usage_only
    non_empty: dict[str, int] = {}

    def same(name, a, b, nid):
        assert _plain(a) == _plain(b), (name, nid)
        if a:
            non_empty[name] = non_empty.get(name, 0) + 1

    edge_kinds = list(EdgeKind)
    for nid in all_ids(sql, sf):
        same("node", nf.node(nid), sf.node(nid), nid)
        same("kind_of", nf.kind_of(nid), sf.kind_of(nid), nid)
        same("owners", nf.owners(nid), sf.owners(nid), nid)
        same("owner_people", nf.owner_people(nid), sf.owner_people(nid), nid)
        same("owner_status", nf.owner_status(nid), sf.owner_status(nid), nid)
        same("person_of", nf.person_of(nid), sf.person_of(nid), nid)
        same("person_status", nf.person_status(nid), sf.person_status(nid), nid)
        same("holders", nf.holders(nid), sf.holders(nid), nid)
        same("environments", nf.environments(nid), sf.environments(nid), nid)
        same("exposures", nf.exposures(nid), sf.exposures(nid), nid)
        same("budgets_above", nf.budgets_above(nid), sf.budgets_above(nid), nid)
        same("claims", nf.claims(nid), sf.claims(nid), nid)
        same("projects_of", nf.projects_of(nid), sf.projects_of(nid), nid)
        same("approved_tool", nf.is_approved_tool(nid), sf.is_approved_tool(nid), nid)
        same("reaches_level", nf.reaches_level(nid), sf.reaches_level(nid), nid)
        for k in edge_kinds:
            same(f"in:{k.value}", nf.in_edges(nid, k), sf.in_edges(nid, k), nid)
            same(f"out:{k.value}", nf.out_edges(nid, k), sf.out_edges(nid, k), nid)
        # Several kinds at once come back merged in the graph's order.
        same("out:auth+member", nf.out_edges(nid, K.AUTHENTICATES_AS, K.MEMBER_OF),
             sf.out_edges(nid, K.AUTHENTICATES_AS, K.MEMBER_OF), nid)
        same("in:all", nf.in_edges(nid), sf.in_edges(nid), nid)
        same("out:all", nf.out_edges(nid), sf.out_edges(nid), nid)
        if sf.kind_of(nid) == NodeKind.OAuthGrant.value:
            same("grant", nf.grant(nid), sf.grant(nid), nid)
            same("grant_client", nf.grant_client(nid), sf.grant_client(nid), nid)
    for v in sf.subjects(sorted({"Credential", "ServiceAccount", "AITool", "Account"})):
        same("reaches_sensitivity", nf.reaches_sensitivity(v.id), sf.reaches_sensitivity(v.id), v.id)
    assert store.graph_builds == 0
    return non_empty


def assert_attribution_parity(sql: Engine, store: Neo4jStore) -> int:
    sa = Attributor(sql)
    na = Neo4jAttributor(store, Engine(store))
    subjects = sorted({t.credential_id or t.account_id for t in sql.store.usage_totals()} - {None})
    people = set()
    for s in subjects + ["no:such:node"]:
        assert na.owners(s) == sa.owners(s), s
        assert na.people(s) == sa.people(s), s
        assert na.teams(s) == sa.teams(s), s
        assert na.tools(s) == sa.tools(s), s
        assert na.environments(s) == sa.environments(s), s
        assert na.project(s, "row:project") == sa.project(s, "row:project"), s
        people.update(p for p in sa.people(s) if p)
    for p in sorted(people) + [v.id for v in sql.graph().views if v.kind == NodeKind.Person.value]:
        assert na.first_team(p) == sa.first_team(p), p
    assert store.graph_builds == 0
    return len(subjects)


def assert_findings_and_spend(pair: Pair) -> list:
    expected = all_findings(pair.sql)
    got = all_findings(pair.neo)
    assert [asdict(f) for f in got] == [asdict(f) for f in expected]
    # Even the order of keys in evidence (edge and node properties) is the same.
    assert repr([asdict(f) for f in got]) == repr([asdict(f) for f in expected])
    for group_by in GROUP_BYS:
        assert spend(pair.neo, group_by) == spend(pair.sql, group_by), group_by
    days = sorted({u.day for u in pair.sql.store.usage()})
    if days:
        mid = days[len(days) // 2]
        assert spend(pair.neo, "team", mid, None) == spend(pair.sql, "team", mid, None)
    assert reconcile(pair.neo) == reconcile(pair.sql)
    return expected


# --- tests ---------------------------------------------------------------------------------
KEY = "openai:api_key:"


def test_ownership_scenario_positives_and_negatives(scenario):
    sf, nf = Facts(scenario.sql), facts_of(scenario.neo)
    assert type(nf) is Neo4jFacts
    expected_owners = {
        "direct": ["person:ana@example.com"],
        "lonely": ["openai:user:lonely"],
        "user": ["person:cy@example.com"],
        "sa": ["person:bob@example.com"],
        "proj": ["person:ana@example.com"],
        "team_owned": ["person:bob@example.com"],
        "team_members": ["team:members"],
        "team_empty": ["team:empty"],
        "deep4": ["person:ana@example.com"],
        "deep5": [],                                  # five hops: beyond resolution's depth
        "orphan": [],
        "orphan2": [],                                # its OWNS edge was re-synced away
        "precedence": ["person:cy@example.com"],      # not bob: a direct owner wins
        "acting_first": ["person:bob@example.com"],   # not ana: what it acts as wins
        "ghost": [],                                  # usage-only: no graph node
    }
    for name, owners in expected_owners.items():
        assert nf.owners(KEY + name) == owners == sf.owners(KEY + name), name
    people = {o.person: o.status for o in nf.owner_people(KEY + "team_members")}
    assert people == {"person:ana@example.com": "active", "person:cy@example.com": "unverified"}
    assert [(o.person, o.status) for o in nf.owner_people(KEY + "team_empty")] == [("team:empty", "unverified")]
    assert [(o.person, o.status) for o in nf.owner_people(KEY + "team_owned")] == \
        [("person:bob@example.com", "inactive")]
    assert nf.owner_status(KEY + "orphan") == "none" and nf.owner_status(KEY + "direct") == "active"
    # Holders: tools and cy's account; ana's usage is the owner's own, not sharing.
    holders = [(h.id, h.kind, h.via) for h in nf.holders(KEY + "direct")]
    assert holders == [("person:cy@example.com", "Person", "HOLDS"), ("tool:approved", "AITool", "HOLDS"),
                       ("tool:unapproved", "AITool", "HOLDS")]
    assert nf.holders(KEY + "orphan") == [] and nf.holders(KEY + "ghost") == []
    assert nf.environments(KEY + "direct") == {"dev": ["tool:unapproved"], "prod": ["tool:approved"]}
    assert nf.environments(KEY + "proj") == {"staging": ["openai:project:p1"]}
    assert nf.environments(KEY + "orphan") == {}
    # Claims: only an approved, active tool claims (a string "true" does not approve).
    assert nf.claims(KEY + "direct") == ["tool:approved"]
    assert nf.claims(KEY + "lonely") == []
    assert nf.claims("openai:project:p1") == ["tool:approved"]      # through in_proj
    assert nf.projects_of(KEY + "acting_first") == ["openai:project:p1"]
    assert nf.projects_of(KEY + "sa") == []
    assert [b.node_id for b in nf.budgets_above(KEY + "team_owned")] == ["team:owned"]
    assert nf.budgets_above(KEY + "team_members") == [] and nf.budgets_above(KEY + "direct") == []
    assert nf.person_of("openai:user:cy") == "person:cy@example.com"
    assert nf.person_of("openai:user:lonely") is None and nf.person_of(KEY + "direct") is None
    with pytest.raises(InMemoryGraphNotBuilt):
        nf.graph
    counts = assert_fact_parity(scenario.sql, scenario.store)
    assert counts["owners"] >= 12 and counts["holders"] >= 3 and counts["budgets_above"] >= 1
    assert assert_attribution_parity(scenario.sql, scenario.store) >= 3
    findings = assert_findings_and_spend(scenario)
    orphaned = {f.subject_id for f in findings if f.rule == "orphaned-identity"}
    assert KEY + "orphan" in orphaned and KEY + "deep5" in orphaned
    assert KEY + "direct" not in orphaned and KEY + "team_members" not in orphaned
    teams = {r.key: r.requests for r in spend(scenario.neo, "team")}
    # direct (ana's, whose first team is team:members: 4) and team_members (1); the
    # usage-only key and cy's keyless usage (cy is in no team: only her account is) are null.
    assert teams == {"team:members": 5, None: 2}
    assert scenario.store.graph_builds == 0


def test_findings_and_spend_never_build_the_in_memory_graph(neo4j_url, tmp_path):
    from api.execute import execute
    pair = Pair(tmp_path, [(read_source(load), load.complete) for load in plan([DEMO])])
    try:
        findings = assert_findings_and_spend(pair)
        assert len(findings) > 30 and len({f.rule for f in findings}) >= 10
        doc = ("{ findings(first: 500) { totalCount nodes { id rule severity subject { id } evidence } } "
               "team: spend(groupBy: \"team\") { key usd } person: spend(groupBy: \"person\") { key usd } "
               "spendReconciliation { source scope invoiceUsd measuredUsd } }")
        assert execute(pair.neo, doc) == execute(pair.sql, doc)
        # Paging cursors, serve's preload and readiness count don't need it either.
        page = "{ nodes(kind: \"Credential\", first: 7%s) { edges { cursor } nodes { id } totalCount } }"
        first = execute(pair.neo, page % "")
        assert first == execute(pair.sql, page % "")
        after = ', after: "%s"' % first["data"]["nodes"]["edges"][-1]["cursor"]
        second = execute(pair.neo, page % after)
        assert second == execute(pair.sql, page % after) and second["data"]["nodes"]["nodes"]
        assert not set(n["id"] for n in second["data"]["nodes"]["nodes"]) & set(
            n["id"] for n in first["data"]["nodes"]["nodes"])
        # A node's owners (and risk) come from the same Cypher facts.
        for n in first["data"]["nodes"]["nodes"] + second["data"]["nodes"]["nodes"]:
            doc = '{ node(id: "%s") { owners { id kind } risk { score } } }' % n["id"]
            assert execute(pair.neo, doc) == execute(pair.sql, doc)
        trace = ('{ traceCompromise(id: "anthropic:api_key:apikey_01DataAgent") { owners { id } '
                 'holders { id } revocationPlan { order action target reason } } }')
        traced = execute(pair.neo, trace)
        assert traced == execute(pair.sql, trace) and traced["data"]["traceCompromise"]["revocationPlan"]
        pair.neo.preload()                 # what serve and /readyz call
        assert pair.neo.node_count() == len(pair.sql.graph())
        assert pair.store.graph_builds == 0 and pair.store._graph is None
        # The counter counts: something that does need the graph builds it, once.
        pair.store.graph()
        pair.store.graph()
        assert pair.store.graph_builds == 1
    finally:
        pair.close()


def test_demo_fact_families(neo4j_url, tmp_path):
    pair = Pair(tmp_path, [(read_source(load), load.complete) for load in plan([DEMO])])
    try:
        counts = assert_fact_parity(pair.sql, pair.store)
        for family in ("owners", "owner_people", "holders", "environments", "exposures", "budgets_above",
                       "claims", "projects_of", "grant", "reaches_level", "reaches_sensitivity"):
            assert counts.get(family, 0) > 0, family
        assert assert_attribution_parity(pair.sql, pair.store) >= 10
        nf = facts_of(pair.neo)
        # Planted facts (fixtures/demo/STORY.md), and what must not hold.
        assert nf.owner_status("tool:ops-summariser") == "unverified"
        assert nf.owner_status("openai:api_key:key_ben") == "inactive"
        shared = {h.id for h in nf.holders("openai:api_key:key_devshared")}
        assert {"tool:code-assistant", "tool:support-copilot"} <= shared
        assert nf.claims("openai:api_key:key_mkt") == [] and nf.budgets_above("openai:api_key:key_mkt") == []
        assert nf.exposures("anthropic:api_key:apikey_01DataAgent")
        assert nf.exposures("openai:api_key:key_support") == []
        assert nf.reaches_level("tool:drift-chat") == "restricted"
        assert pair.store.graph_builds == 0
    finally:
        pair.close()


def test_generated_org_findings_spend_and_facts(neo4j_url, tmp_path):
    from synth.generate import generate
    generate(120, 5, tmp_path / "snap")
    pair = Pair(tmp_path, [(read_source(load), load.complete) for load in plan([tmp_path / "snap"])])
    try:
        findings = assert_findings_and_spend(pair)
        assert len({f.rule for f in findings}) >= 8
        facts = facts_of(pair.neo)
        # Bulk reads: the number of queries does not grow with the number of subjects.
        assert facts.reads.queries < 150, facts.reads.queries
        counts = assert_fact_parity(pair.sql, pair.store)
        assert counts["owners"] > 50 and counts["holders"] > 10
        assert assert_attribution_parity(pair.sql, pair.store) > 50
        assert pair.store.graph_builds == 0
    finally:
        pair.close()


def test_ties_break_by_code_point_on_both_stores(neo4j_url, tmp_path):
    """Cypher orders strings by UTF-16 code units, Python (the embedded store) by code
    points: U+FFFF sorts before U+1F600 only in Python. Lowest-id choices (a path's
    parent, the person behind an account) are made in Python on Neo4j too."""
    bmp, astral = "okta:user:\uffff", "okta:user:\U0001F600"
    r = Records(source="okta")
    r.nodes += [Node(id="person:pat@example.com", kind=NodeKind.Person),
                Node(id=bmp, kind=NodeKind.Account, active=True),
                Node(id=astral, kind=NodeKind.Account, active=True),
                Node(id="person:\uffff@example.com", kind=NodeKind.Person),
                Node(id="person:\U0001F600@example.com", kind=NodeKind.Person),
                Node(id="okta:user:shared", kind=NodeKind.Account, active=True),
                Node(id="openai:api_key:k", kind=NodeKind.Credential, active=True)]
    r.edges += [_e("person:pat@example.com", K.HAS_ACCOUNT, bmp),
                _e("person:pat@example.com", K.HAS_ACCOUNT, astral),
                _e(bmp, K.CAN_ACCESS, "saas:x", access="write"),
                _e(astral, K.CAN_ACCESS, "saas:x", access="write"),
                _e("person:\uffff@example.com", K.HAS_ACCOUNT, "okta:user:shared"),
                _e("person:\U0001F600@example.com", K.HAS_ACCOUNT, "okta:user:shared"),
                _e("okta:user:shared", K.OWNS, "openai:api_key:k")]
    pair = Pair(tmp_path, [(r, True)])
    try:
        got = pair.store.blast_radius("person:pat@example.com", 8)
        reach = {x.node_id: x.path for x in got}
        assert reach["saas:x"] == ["person:pat@example.com", bmp, "saas:x"]
        # Kind codes ride along with the answers, as on the embedded store.
        from engine.graph import KIND_CODES
        assert got.node_kinds.tolist() == [KIND_CODES[pair.sql.store.get_node(x.node_id).kind] for x in got]
        assert pair.store.blast_radius("person:pat@example.com", 8) == \
            pair.sql.store.blast_radius("person:pat@example.com", 8)
        assert pair.store.who_can_reach("saas:x", 8) == pair.sql.store.who_can_reach("saas:x", 8)
        nf = facts_of(pair.neo)
        assert nf.owners("openai:api_key:k") == ["person:\uffff@example.com"] == \
            Facts(pair.sql).owners("openai:api_key:k")
        assert nf.person_of("okta:user:shared") == "person:\uffff@example.com"
        assert pair.store.graph_builds == 0
    finally:
        pair.close()
