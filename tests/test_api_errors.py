"""Every error code over a real HTTP server, no stack traces, health and readiness,
and the JSON access log."""
from __future__ import annotations

import json
import logging
import sqlite3

import httpx
import pytest

from api.auth import TokenStore
from api.errors import CODES
from engine.service import Engine
from tests.api_helpers import codes, post, serving, small_org


@pytest.fixture
def db(tmp_path):
    return small_org(tmp_path)


def only_error(resp) -> dict:
    body = resp.json()
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


def test_error_codes(db):
    with serving(db) as (srv, _, _):
        cases = [
            ('{ blastRadius(id: "x:y:z") { totalCount } }', None, "NOT_FOUND", "no node with id 'x:y:z'"),
            ('{ whoCanReachConnection(id: "x:y:z") { totalCount } }', None, "NOT_FOUND", "x:y:z"),
            ('{ node(id: "tool:bot") { id ', None, "BAD_INPUT", "Syntax Error"),
            ('{ node(id: "tool:bot") { nosuchfield } }', None, "BAD_INPUT", "nosuchfield"),
            ('query($n: Int) { nodes(first: $n) { totalCount } }', {"n": "many"}, "BAD_INPUT", "$n"),
            ('{ nodes(after: "%%%") { totalCount } }', None, "BAD_INPUT", "invalid cursor"),
            ('{ nodes(kind: "Robot") { totalCount } }', None, "BAD_INPUT", "unknown node kind"),
            ('{ spend(groupBy: "planet") { key } }', None, "BAD_INPUT", "unknown groupBy"),
            ('{ findings(severity: "urgent") { totalCount } }', None, "BAD_INPUT", "unknown severity"),
            ('{ findings(rule: "no-such-rule") { totalCount } }', None, "BAD_INPUT", "unknown rule"),
            ('{ nodes(first: -1) { totalCount } }', None, "BAD_INPUT", "first must be 0 or more"),
            ('{ blastRadius(id: "tool:bot") { reachableConnection(after: "NTpub3Bl") { totalCount } } }', None,
             "BAD_INPUT", "not in this result"),
            ('{ findings(after: "bm9wZQ==") { totalCount } }', None, "BAD_INPUT", "invalid cursor"),
            ('{ nodes(first: 100000) { totalCount } }', None, "LIMIT_EXCEEDED", "page size cap"),
        ]
        for query, variables, code, text in cases:
            resp = post(srv, query, variables=variables)
            assert resp.status_code == 200, (query, resp.text)
            err = only_error(resp)
            assert err["extensions"]["code"] == code and text in err["message"], (query, err)
            assert "Traceback" not in resp.text
        # Request-level errors carry the same shape.
        for body, status in ((b"not json", 400), (b"[1, 2]", 400), (b'{"variables": {}}', 200),
                             (b'{"query": "{ __typename }", "variables": [1]}', 200),
                             (b'{"query": "query A { __typename } query B { __typename }"}', 200),
                             (b'{"query": "query A { __typename }", "operationName": "Z"}', 200)):
            resp = httpx.post(srv.url + "/graphql", content=body, headers={"Content-Type": "application/json"})
            assert resp.status_code == status and codes(resp) == ["BAD_INPUT"], (body, resp.text)
        resp = httpx.post(srv.url + "/graphql", content=b"{ __typename }", headers={"Content-Type": "text/plain"})
        assert resp.status_code == 415 and codes(resp) == ["BAD_INPUT"]


def test_auth_codes_have_http_statuses(db):
    eng = Engine.open(str(db))
    reader = TokenStore(eng.store).create("reader")[1]
    eng.close()
    with serving(db) as (srv, _, _):
        resp = post(srv, "{ __typename }")
        assert resp.status_code == 401 and only_error(resp)["extensions"]["code"] == "UNAUTHENTICATED"
        resp = post(srv, 'mutation { createToken(role: admin) { token } }', reader)
        assert resp.status_code == 403 and only_error(resp)["extensions"]["code"] == "FORBIDDEN"
        assert resp.json()["data"] is None


def test_internal_errors_are_masked_and_logged(db, caplog):
    caplog.set_level(logging.ERROR, logger="burnpath.api")
    with serving(db) as (srv, eng, _):
        assert post(srv, '{ node(id: "tool:bot") { id } }').json()["data"]["node"]["id"] == "tool:bot"
        ready = httpx.get(srv.url + "/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["nodes"] > 0
        # Break the store under the running server: the next graph load fails for real.
        conn = sqlite3.connect(db)
        conn.execute("DROP TABLE node_src")
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        conn.commit()
        conn.close()
        resp = post(srv, '{ node(id: "tool:bot") { id } }')
        assert resp.status_code == 200
        err = only_error(resp)
        assert err["extensions"]["code"] == "INTERNAL"
        ref = err["extensions"]["ref"]
        assert err["message"] == f"internal error (ref {ref}); the server log has the details"
        for leak in ("node_src", "sqlite", "Traceback", "File \"", "OperationalError"):
            assert leak not in resp.text
        assert ref in caplog.text and "no such table: node_src" in caplog.text
        # Liveness holds; readiness reports the broken store without detail.
        assert httpx.get(srv.url + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(srv.url + "/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert "node_src" not in ready.text


def test_every_code_is_documented():
    assert set(CODES) == {"NOT_FOUND", "BAD_INPUT", "FORBIDDEN", "UNAUTHENTICATED", "LIMIT_EXCEEDED", "INTERNAL"}


def test_access_log_is_json_lines_without_tokens(db):
    eng = Engine.open(str(db))
    rec, token = TokenStore(eng.store).create("reader", "dash")
    eng.close()
    with serving(db) as (srv, _, log):
        srv.graphql("query Who { node(id: \"tool:bot\") { id } }", headers={"Authorization": f"Bearer {token}"})
        srv.graphql("{ __typename }")
        srv.graphql("{ __typename }", headers={"Authorization": f"Bearer {token}x"})
        srv.graphql("mutation M { createToken(role: admin) { token } }", headers={"Authorization": f"Bearer {token}"})
        httpx.get(srv.url + "/healthz")
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert len(lines) == 5
    ok, anon, bad, forbidden, health = lines
    for entry in lines:
        assert {"ts", "method", "path", "status", "duration_ms", "operation", "role", "token_id"} <= set(entry)
        assert entry["duration_ms"] >= 0
    assert ok["method"] == "POST" and ok["path"] == "/graphql" and ok["status"] == 200
    assert ok["operation"] == "Who" and ok["operation_type"] == "query"
    assert ok["role"] == "reader" and ok["token_id"] == rec.id and ok["error_codes"] is None
    assert anon["status"] == 401 and anon["token_id"] is None and anon["error_codes"] == ["UNAUTHENTICATED"]
    assert bad["status"] == 401
    assert forbidden["status"] == 403 and forbidden["operation"] == "M" and forbidden["error_codes"] == ["FORBIDDEN"]
    assert health["path"] == "/healthz" and health["status"] == 200
    text = log.getvalue()
    assert token not in text and token.split("_", 2)[2] not in text and "Bearer" not in text


def test_serve_warms_the_rule_pack_and_findings_page(demo_db):
    with serving(demo_db, warm_up=True) as (srv, _, _):
        first = post(srv, '{ findings(first: 5) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }')
        d = first.json()["data"]["findings"]
        assert d["totalCount"] > 5 and len(d["nodes"]) == 5 and d["pageInfo"]["hasNextPage"]
        nxt = post(srv, 'query($a: String) { findings(first: 5, after: $a) { nodes { id } } }',
                   variables={"a": d["pageInfo"]["endCursor"]}).json()["data"]["findings"]["nodes"]
        assert not {n["id"] for n in nxt} & {n["id"] for n in d["nodes"]}
