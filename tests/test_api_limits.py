"""Every abuse limit, over a real HTTP server, answered with LIMIT_EXCEEDED; plus the
cost model's arithmetic and the configuration paths (env, flags)."""
from __future__ import annotations

import time

import httpx
import pytest
from graphql import get_operation_ast, parse

from api.cli import build_parser
from api.context import RequestContext
from api.limits import ENV_NAMES, LIST_ESTIMATE, SCHEMA_WALK_COST, Limits, measure
from api.schema import schema
from engine.service import Engine
from tests.api_helpers import codes, post, serving, small_org

OK_Q = '{ node(id: "tool:bot") { id } }'


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return small_org(tmp_path_factory.mktemp("limits"))


def cost_of(doc: str, variables=None, limits=None) -> tuple[int, int]:
    parsed = parse(doc)
    return measure(schema._schema, parsed, get_operation_ast(parsed), variables, limits or Limits())


def test_cost_model_arithmetic():
    assert cost_of('{ node(id: "a") { id kind } }') == (2, 3)
    # aliases each cost
    assert cost_of('{ a: node(id: "a") { id } b: node(id: "b") { id } c: node(id: "c") { id } }')[1] == 6
    # first multiplies what sits under nodes/edges, not totalCount
    assert cost_of('{ nodes(first: 100) { totalCount nodes { id kind } } }')[1] == 1 + 1 + (1 + 100 * 2)
    # omitted first counts as the default page size; a variable is read
    assert cost_of('{ nodes { nodes { id } } }')[1] == 1 + (1 + 50 * 1)
    assert cost_of('query($n: Int) { nodes(first: $n) { nodes { id } } }', {"n": 7})[1] == 1 + (1 + 7)
    # other lists are multiplied by the fixed estimate
    assert cost_of('{ whoCanReach(id: "a") { id depth } }')[1] == 1 + LIST_ESTIMATE * 2
    # fragments are expanded; introspection fields cost like any other (issue 13)
    doc = 'query { node(id: "a") { ...F } __typename } fragment F on Node { id owners { id } }'
    assert cost_of(doc) == (3, 1 + 1 + (1 + LIST_ESTIMATE * 1) + 1)
    # a schema walk costs SCHEMA_WALK_COST plus its fields, unmultiplied; it adds no depth
    assert cost_of('{ __schema { types { name fields { name } } } }') == (0, 1 + SCHEMA_WALK_COST + 4)


def test_depth_limit(db):
    with serving(db, Limits(max_depth=3)) as (srv, _, _):
        assert post(srv, '{ node(id: "tool:bot") { owners { id } } }').json()["data"]["node"]["owners"]
        resp = post(srv, '{ node(id: "tool:bot") { owners { owners { id } } } }')
        assert resp.status_code == 200 and codes(resp) == ["LIMIT_EXCEEDED"]
        err = resp.json()["errors"][0]
        assert "depth 4 exceeds the limit of 3" in err["message"] and err["extensions"]["limit"] == "max_depth"
        assert resp.json()["data"] is None
        # through a fragment too
        resp = post(srv, '{ node(id: "tool:bot") { ...F } } fragment F on Node { owners { owners { id } } }')
        assert codes(resp) == ["LIMIT_EXCEEDED"]


def test_cost_limit_counts_aliases_and_pages(db):
    with serving(db, Limits(max_cost=100)) as (srv, _, _):
        assert "errors" not in post(srv, '{ nodes(first: 10) { nodes { id kind name } } }').json()
        resp = post(srv, '{ nodes(first: 40) { nodes { id kind name } } }')  # 1 + 1 + 40*3
        assert codes(resp) == ["LIMIT_EXCEEDED"] and resp.json()["errors"][0]["extensions"]["limit"] == "max_cost"
        aliases = " ".join(f'a{i}: node(id: "tool:bot") {{ id }}' for i in range(51))  # 102
        assert codes(post(srv, "{ " + aliases + " }")) == ["LIMIT_EXCEEDED"]
        aliases = " ".join(f'a{i}: node(id: "tool:bot") {{ id }}' for i in range(50))  # 100
        assert "errors" not in post(srv, "{ " + aliases + " }").json()
        resp = post(srv, 'query($n: Int) { nodes(first: $n) { nodes { id kind name } } }', variables={"n": 40})
        assert codes(resp) == ["LIMIT_EXCEEDED"]


def test_body_size_limit(db):
    with serving(db, Limits(max_body_bytes=2_000)) as (srv, _, _):
        assert post(srv, OK_Q).status_code == 200
        pad = "#" + "x" * 3_000 + "\n"
        resp = post(srv, pad + OK_Q)
        assert resp.status_code == 413 and codes(resp) == ["LIMIT_EXCEEDED"]
        # a chunked body with no Content-Length is capped while it is read
        def chunks():
            yield b'{"query": "' + b"#" * 1500
            yield b"#" * 1500 + b'"}'
        resp = httpx.post(srv.url + "/graphql", content=chunks(), headers={"Content-Type": "application/json"})
        assert resp.status_code == 413 and codes(resp) == ["LIMIT_EXCEEDED"]


def test_page_size_cap(db):
    with serving(db, Limits(max_page_size=5, default_page_size=2)) as (srv, _, _):
        d = post(srv, '{ nodes { nodes { id } pageInfo { hasNextPage } } }').json()["data"]["nodes"]
        assert len(d["nodes"]) == 2 and d["pageInfo"]["hasNextPage"]
        assert len(post(srv, '{ nodes(first: 5) { nodes { id } } }').json()["data"]["nodes"]["nodes"]) == 5
        for q in ('{ nodes(first: 6) { totalCount } }', '{ findings(first: 6) { totalCount } }',
                  '{ blastRadius(id: "tool:bot") { reachableConnection(first: 6) { totalCount } } }',
                  '{ whoCanReachConnection(id: "data:wh", first: 6) { totalCount } }'):
            resp = post(srv, q)
            assert codes(resp) == ["LIMIT_EXCEEDED"], (q, resp.text)
            assert "page size cap of 5" in resp.json()["errors"][0]["message"]


def test_traversal_depth_cap(db):
    with serving(db, Limits(max_traversal_depth=3)) as (srv, _, _):
        assert "errors" not in post(srv, '{ blastRadius(id: "tool:bot", maxDepth: 3) { totalCount } }').json()
        for q in ('{ blastRadius(id: "tool:bot", maxDepth: 4) { totalCount } }',
                  '{ whoCanReach(id: "data:wh", maxDepth: 4) { id } }',
                  '{ whoCanReachConnection(id: "data:wh", maxDepth: 9) { totalCount } }'):
            resp = post(srv, q)
            assert codes(resp) == ["LIMIT_EXCEEDED"] and "exceeds the cap of 3" in resp.text, q
        resp = post(srv, '{ blastRadius(id: "tool:bot", maxDepth: -1) { totalCount } }')
        assert codes(resp) == ["BAD_INPUT"]


def test_timeout_answers_instead_of_hanging(db):
    with serving(db, Limits(timeout_seconds=0.000001)) as (srv, _, _):
        started = time.monotonic()
        resp = post(srv, '{ blastRadius(id: "tool:bot") { reachable { node { id owners { id } } } } }')
        assert time.monotonic() - started < 5
        assert resp.status_code == 200 and codes(resp) == ["LIMIT_EXCEEDED"]
        assert resp.json()["errors"][0]["extensions"]["limit"] == "timeout_seconds"
        assert srv.graphql(OK_Q).status_code == 200  # the server still answers (with the same error)


def test_deadline_stops_a_running_query_at_its_next_checkpoint(db):
    # The cooperative half of the timeout: a query already executing stops at its
    # next checkpoint (each resolver that calls the engine) once its deadline passed.
    eng = Engine.open(str(db))
    try:
        ctx = RequestContext(engine=eng, deadline=time.monotonic() - 1)
        result = schema.execute_sync('{ node(id: "tool:bot") { id } nodes { totalCount } }', context_value=ctx)
        assert result.data is None or all(v is None for v in result.data.values())
        assert {e.original_error.extensions["code"] for e in result.errors} == {"LIMIT_EXCEEDED"}
        ctx = RequestContext(engine=eng, deadline=time.monotonic() + 60)
        assert not schema.execute_sync(OK_Q, context_value=ctx).errors
    finally:
        eng.close()


def test_introspection_and_graphiql_switch_off(db):
    with serving(db) as (srv, _, _):
        assert post(srv, "{ __schema { queryType { name } } }").json()["data"]["__schema"]["queryType"]["name"] == "Query"
        assert httpx.get(srv.url + "/graphql", headers={"Accept": "text/html"}).status_code == 200
    with serving(db, introspection=False, graphiql=False) as (srv, _, _):
        for q in ("{ __schema { queryType { name } } }", '{ __type(name: "Node") { name } }'):
            resp = post(srv, q)
            assert codes(resp) == ["BAD_INPUT"] and "introspection is disabled" in resp.text
        assert post(srv, "{ __typename }").status_code == 200  # __typename is not introspection
        assert post(srv, OK_Q).json()["data"]["node"]["id"] == "tool:bot"
        resp = httpx.get(srv.url + "/graphql", headers={"Accept": "text/html"})
        assert resp.status_code == 400 and "graphiql" not in resp.text.lower()


def test_limits_from_env_and_flags():
    env = {ENV_NAMES["max_cost"]: "123", ENV_NAMES["timeout_seconds"]: "2.5", ENV_NAMES["max_depth"]: ""}
    limits = Limits.from_env(env)
    assert limits.max_cost == 123 and limits.timeout_seconds == 2.5 and limits.max_depth == Limits().max_depth
    assert Limits.from_env(env, max_cost=7).max_cost == 7  # a flag beats the variable
    with pytest.raises(ValueError, match="not a number"):
        Limits.from_env({ENV_NAMES["max_cost"]: "lots"})
    with pytest.raises(ValueError, match="above 0"):
        Limits.from_env({}, max_page_size=0)
    args = build_parser().parse_args(["serve", "--max-depth", "4", "--max-page-size", "9",
                                      "--timeout-seconds", "1.5", "--max-body-bytes", "999"])
    limits = Limits.from_args(args)
    assert (limits.max_depth, limits.max_page_size, limits.timeout_seconds, limits.max_body_bytes) == (4, 9, 1.5, 999)


def test_list_connections_walk_every_item_once(db):
    with serving(db, Limits(max_page_size=2, default_page_size=2)) as (srv, _, _):
        full = post(srv, '{ blastRadius(id: "tool:bot") { reachable { id } } }').json()["data"]["blastRadius"]["reachable"]
        seen, after = [], None
        while True:
            page = post(srv, 'query($a: String) { blastRadius(id: "tool:bot") { reachableConnection(after: $a) '
                             '{ totalCount nodes { id } pageInfo { hasNextPage endCursor } } } }',
                        variables={"a": after}).json()["data"]["blastRadius"]["reachableConnection"]
            seen += [n["id"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == [r["id"] for r in full] and page["totalCount"] == len(full) > 2
        d = post(srv, '{ blastRadius(id: "tool:bot") { reachableConnection(kind: "DataSource") { totalCount nodes { id } } } }')
        assert d.json()["data"]["blastRadius"]["reachableConnection"]["totalCount"] == 2
