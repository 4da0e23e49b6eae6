"""API tokens and roles over a real HTTP server: 401 / 403 / ok, CLI and mutations,
hashed storage, the loopback-only rule for open mode."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import httpx
import pytest

from api.auth import META_KEY, TokenStore, bind_refusal, is_loopback
from api.cli import main as cli
from engine.service import Engine
from tests.api_helpers import bearer, codes, post, serving, small_org
from tests.conftest import ROOT

READ_Q = '{ node(id: "tool:bot") { id owners { id } } }'


@pytest.fixture
def db(tmp_path):
    return small_org(tmp_path)


def make_token(db, role: str, name: str | None = None) -> str:
    eng = Engine.open(str(db))
    try:
        return TokenStore(eng.store).create(role, name)[1]
    finally:
        eng.close()


def test_open_mode_answers_loopback_without_a_token(db):
    with serving(db) as (srv, _, _):
        resp = post(srv, READ_Q)
        assert resp.status_code == 200
        assert resp.json()["data"]["node"]["id"] == "tool:bot"


def test_no_token_401_wrong_role_403_right_role_ok(db):
    reader = make_token(db, "reader", "dash")
    admin = make_token(db, "admin")
    with serving(db) as (srv, _, _):
        # no token, malformed header, unknown token, tampered secret: all 401
        resp = post(srv, READ_Q)
        assert resp.status_code == 401 and codes(resp) == ["UNAUTHENTICATED"]
        assert resp.headers["www-authenticate"].startswith("Bearer")
        assert resp.json()["data"] is None
        for header in ({"Authorization": reader}, {"Authorization": "Basic " + reader},
                       bearer("bp_000000000000_nope"), bearer(reader[:-2] + "xx"), bearer("garbage")):
            resp = srv.graphql(READ_Q, headers=header)
            assert resp.status_code == 401 and codes(resp) == ["UNAUTHENTICATED"], header
        # reader reads
        resp = post(srv, READ_Q, reader)
        assert resp.status_code == 200 and resp.json()["data"]["node"]["owners"] == [{"id": "team:t"}]
        # reader may not mutate nor list tokens: 403 FORBIDDEN, nothing changed
        for q in ('mutation { createToken(role: admin) { token } }',
                  'mutation { ingest(paths: ["/tmp"]) { source } }',
                  'mutation { revokeToken(id: "x") { id } }',
                  '{ apiTokens { id } }'):
            resp = post(srv, q, reader)
            assert resp.status_code == 403 and codes(resp) == ["FORBIDDEN"], q
        resp = post(srv, '{ apiTokens { id role name revokedAt } }', admin)
        assert resp.status_code == 200
        assert sorted(t["role"] for t in resp.json()["data"]["apiTokens"]) == ["admin", "reader"]
        # admin reads too
        assert post(srv, READ_Q, admin).status_code == 200


def test_token_mutations_create_use_and_revoke(db):
    admin = make_token(db, "admin")
    with serving(db) as (srv, _, _):
        resp = post(srv, 'mutation($n: String) { createToken(role: reader, name: $n) '
                         '{ token info { id role name createdAt revokedAt } } }', admin, {"n": "ci"})
        assert resp.status_code == 200, resp.text
        made = resp.json()["data"]["createToken"]
        token, tid = made["token"], made["info"]["id"]
        assert made["info"]["role"] == "reader" and made["info"]["name"] == "ci"
        assert made["info"]["revokedAt"] is None and token.startswith(f"bp_{tid}_")
        assert post(srv, READ_Q, token).status_code == 200
        listed = post(srv, '{ apiTokens { id name } }', admin).json()["data"]["apiTokens"]
        assert {"id": tid, "name": "ci"} in listed
        assert token not in json.dumps(listed)
        resp = post(srv, 'mutation($id: ID!) { revokeToken(id: $id) { id revokedAt } }', admin, {"id": tid})
        assert resp.json()["data"]["revokeToken"]["revokedAt"] is not None
        resp = post(srv, READ_Q, token)
        assert resp.status_code == 401 and codes(resp) == ["UNAUTHENTICATED"]
        resp = post(srv, 'mutation { revokeToken(id: "nosuch") { id } }', admin)
        assert codes(resp) == ["NOT_FOUND"]
        # a bad role value is the caller's error
        resp = post(srv, 'mutation { createToken(role: root) { token } }', admin)
        assert codes(resp) == ["BAD_INPUT"]


def test_cli_token_create_list_revoke(db, capsys):
    assert cli(["token", "--db", str(db), "create", "--role", "admin", "--name", "ops"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert len(out.splitlines()) == 1 and token.startswith("bp_")  # the token alone on stdout
    assert "shown only this once" in err
    tid = token.split("_")[1]
    assert cli(["token", "--db", str(db), "list"]) == 0
    out, _ = capsys.readouterr()
    assert tid in out and "admin" in out and "ops" in out and "active" in out
    assert token.split("_", 2)[2] not in out  # no secret in the list
    with serving(db) as (srv, _, _):
        assert post(srv, READ_Q).status_code == 401
        assert post(srv, READ_Q, token).status_code == 200
        assert cli(["token", "--db", str(db), "revoke", tid]) == 0  # while the server runs
        capsys.readouterr()
        assert post(srv, READ_Q, token).status_code == 401
    assert cli(["token", "--db", str(db), "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert cli(["token", "--db", str(db), "revoke", "nosuch"]) == 1
    assert "no token with id 'nosuch'" in capsys.readouterr().err


def test_tokens_are_stored_hashed_never_raw(db):
    tokens = [make_token(db, "reader"), make_token(db, "admin", "x")]
    raw_bytes = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT value FROM meta WHERE key=?", (META_KEY,)).fetchone()[0]
    conn.close()
    records = json.loads(stored)
    assert len(records) == 2
    for token in tokens:
        secret = token.split("_", 2)[2]
        assert token.encode() not in raw_bytes and secret.encode() not in raw_bytes
        assert secret not in stored
    for rec in records:
        assert set(rec) == {"id", "role", "name", "created_at", "salt", "digest", "revoked_at"}
        assert len(rec["digest"]) == 64 and len(rec["salt"]) == 32
    assert records[0]["salt"] != records[1]["salt"]


def test_revoked_tokens_keep_auth_required(db):
    token = make_token(db, "admin")
    eng = Engine.open(str(db))
    TokenStore(eng.store).revoke(token.split("_")[1])
    eng.close()
    with serving(db) as (srv, _, _):
        assert post(srv, READ_Q).status_code == 401  # no silent fall-back to open access
        assert post(srv, READ_Q, token).status_code == 401


def test_bind_check_function():
    for host in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"):
        assert is_loopback(host) and bind_refusal(host, tokens_exist=False) is None, host
    for host in ("0.0.0.0", "::", "10.1.2.3", "192.168.0.5", "example.com", ""):
        assert not is_loopback(host)
        msg = bind_refusal(host, tokens_exist=False)
        assert msg and "no API tokens" in msg and "token create" in msg, host
        assert bind_refusal(host, tokens_exist=True) is None


def test_serve_refuses_a_public_bind_without_tokens(db):
    proc = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--db", str(db), "--host", "0.0.0.0",
                           "--port", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "refusing to serve on 0.0.0.0" in proc.stderr and "burnpath token create" in proc.stderr


def test_open_mode_refuses_foreign_host_headers(db):
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    with serving(db) as (srv, _, _):
        for host in ("127.0.0.1:1234", "localhost", "[::1]:8000"):
            resp = httpx.post(srv.url + "/graphql", json={"query": READ_Q}, headers={"Host": host})
            assert resp.status_code == 200, host
        resp = httpx.post(srv.url + "/graphql", json={"query": READ_Q}, headers={"Host": "evil.example:8000"})
        assert resp.status_code == 401 and codes(resp) == ["UNAUTHENTICATED"]
        # and a browser form (not JSON) is refused before anything runs
        resp = httpx.post(srv.url + "/graphql", data={"query": READ_Q})
        assert resp.status_code == 415 and codes(resp) == ["BAD_INPUT"]


def test_open_mode_refuses_non_loopback_clients(db):
    # Defence in depth beside the bind check: the app itself answers loopback only.
    import asyncio
    from api.app import create_app

    async def ask(client_host: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(eng), client=(client_host, 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post("/graphql", json={"query": READ_Q})

    eng = Engine.open(str(db))
    try:
        resp = asyncio.run(ask("10.0.0.9"))
        assert resp.status_code == 401 and codes(resp) == ["UNAUTHENTICATED"]
        assert "loopback" in resp.json()["errors"][0]["message"]
        assert asyncio.run(ask("127.0.0.1")).status_code == 200
    finally:
        eng.close()


def test_ingest_mutation(tmp_path):
    db = small_org(tmp_path)
    admin = make_token(db, "admin")
    snap = tmp_path / "snap2" / "inventory"
    snap.mkdir(parents=True)
    (snap / "more.yaml").write_text("data_sources:\n  - {id: lake, sensitivity: internal}\n")
    bad = tmp_path / "snap3" / "inventory"
    bad.mkdir(parents=True)
    (bad / "broken.yaml").write_text("teams: [unclosed\n")
    with serving(db, warm_up=True) as (srv, _, _):  # as serve runs it: re-warms after an ingest
        resp = post(srv, 'mutation($p: [String!]!) { ingest(paths: $p) { source complete runId '
                         'counts { name count } removed { name count } warnings } }', admin,
                    {"p": [str(snap / "more.yaml")]})
        assert resp.status_code == 200, resp.text
        runs = resp.json()["data"]["ingest"]
        assert [r["source"] for r in runs] == ["inventory"] and runs[0]["complete"] is False
        assert {"name": "nodes", "count": 1} in runs[0]["counts"]
        # the new node is served at once (graph reloads for the new generation)
        assert post(srv, '{ node(id: "data:lake") { id } }', admin).json()["data"]["node"] == {"id": "data:lake"}
        assert "errors" not in post(srv, '{ findings { totalCount } }', admin).json()
        # bad input names the file; nothing written
        before = post(srv, '{ nodes { totalCount } }', admin).json()["data"]["nodes"]["totalCount"]
        resp = post(srv, 'mutation($p: [String!]!) { ingest(paths: $p) { source } }', admin,
                    {"p": [str(bad / "broken.yaml")]})
        err = resp.json()["errors"][0]
        assert err["extensions"]["code"] == "BAD_INPUT" and "broken.yaml" in err["message"]
        assert "Traceback" not in resp.text
        resp = post(srv, 'mutation { ingest(paths: ["/no/such/dir"]) { source } }', admin)
        assert codes(resp) == ["BAD_INPUT"] and "/no/such/dir" in resp.json()["errors"][0]["message"]
        after = post(srv, '{ nodes { totalCount } }', admin).json()["data"]["nodes"]["totalCount"]
        assert after == before


def test_mutations_not_allowed_over_get(db):
    with serving(db) as (srv, _, _):
        resp = httpx.get(srv.url + "/graphql", params={"query": 'mutation { createToken(role: admin) { token } }'})
        assert resp.status_code == 405 and codes(resp) == ["BAD_INPUT"]
        resp = httpx.get(srv.url + "/graphql", params={"query": READ_Q})
        assert resp.status_code == 200 and resp.json()["data"]["node"]["id"] == "tool:bot"


@pytest.mark.parametrize("processes", [1, 2])
def test_burnpath_serve_end_to_end(db, processes):
    """`burnpath serve` as a user runs it: tokens enforced, flags applied (in every
    worker process), JSON access log."""
    from tests.conftest import free_port
    import time
    token = make_token(db, "reader", "e2e")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", str(db), "--port", str(port),
                             "--max-depth", "2", "--no-graphiql", "--processes", str(processes)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline and proc.poll() is None, "serve did not start"
            time.sleep(0.2)
        query = {"query": '{ node(id: "tool:bot") { id } }'}
        for _ in range(3 * processes):  # fresh connections: each may land on another process
            assert httpx.post(url + "/graphql", json=query).status_code == 401
            resp = httpx.post(url + "/graphql", json=query, headers=bearer(token))
            assert resp.status_code == 200 and resp.json()["data"]["node"]["id"] == "tool:bot"
            resp = httpx.post(url + "/graphql", json={"query": '{ node(id: "tool:bot") { owners { id } } }'},
                              headers=bearer(token))
            assert codes(resp) == ["LIMIT_EXCEEDED"]  # --max-depth 2 took effect
        assert httpx.get(url + "/graphql", headers={"Accept": "text/html"}).status_code == 400  # --no-graphiql
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    tid = token.split("_")[1]
    assert any(e.get("token_id") == tid and e.get("status") == 200 for e in entries)
    assert token not in err
