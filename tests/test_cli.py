"""The CLI verbs as a user runs them: a real process, a real SQLite file."""
import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import DEMO, free_port, write

INV = """
teams: [{id: t, members: [a@x.io]}]
ai_tools:
  - {id: bot, owner: a@x.io, credentials: [openai:api_key:k1]}
access:
  - {principal: tool:bot, target: data:d, access: write}
"""


def run(*args, stdin=None, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "api.cli", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=120)


@pytest.fixture
def snap(tmp_path):
    write(tmp_path / "snap" / "inventory" / "org.yaml", INV)
    return tmp_path / "snap"


def test_ingest_prints_per_source_and_query_reads_it(tmp_path, snap):
    db = str(tmp_path / "x.db")
    r = run("ingest", str(snap), "--db", db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("inventory: loaded") and "complete re-sync" in r.stdout
    q = run("query", "--db", db, '{ blastRadius(id: "tool:bot") { reachable { node { id } access } } }')
    assert q.returncode == 0, q.stderr
    data = json.loads(q.stdout)["data"]["blastRadius"]["reachable"]
    assert {x["node"]["id"]: x["access"] for x in data} == {"openai:api_key:k1": "admin", "data:d": "write"}


def test_query_from_file_stdin_and_vars(tmp_path, snap):
    db = str(tmp_path / "x.db")
    run("ingest", str(snap), "--db", db)
    doc = "query($id: ID!) { node(id: $id) { id kind } }"
    qf = write(tmp_path / "q.graphql", doc)
    a = run("query", "--db", db, "--var", "id=tool:bot", f"@{qf}")
    b = run("query", "--db", db, "--var", "id=tool:bot", "-", stdin=doc)
    assert a.returncode == b.returncode == 0
    assert json.loads(a.stdout) == json.loads(b.stdout) == {"data": {"node": {"id": "tool:bot", "kind": "AITool"}}}


def test_db_from_environment(tmp_path, snap):
    db = str(tmp_path / "env.db")
    assert run("ingest", str(snap), env={"BURNPATH_DB": db}).returncode == 0
    assert os.path.exists(db)


def test_default_db_is_cwd_burnpath_db(tmp_path, snap):
    env = {k: v for k, v in os.environ.items() if k != "BURNPATH_DB"}
    r = subprocess.run([sys.executable, "-m", "api.cli", "ingest", str(snap)], capture_output=True,
                       text=True, cwd=tmp_path, env={**env, "PYTHONPATH": str(DEMO.parent.parent)})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "burnpath.db").exists()


def test_query_errors_exit_1(tmp_path, snap):
    db = str(tmp_path / "x.db")
    run("ingest", str(snap), "--db", db)
    r = run("query", "--db", db, '{ blastRadius(id: "tool:nope") { reachable { depth } } }')
    assert r.returncode == 1
    err = json.loads(r.stdout)["errors"][0]
    assert "no node with id 'tool:nope'" in err["message"] and err["extensions"]["code"] == "NOT_FOUND"
    r = run("query", "--db", db, "{ nosuchfield }")
    assert r.returncode == 1 and "nosuchfield" in r.stdout


def test_bad_file_fails_naming_it_and_keeps_data(tmp_path, snap):
    db = str(tmp_path / "x.db")
    run("ingest", str(snap), "--db", db)
    write(snap / "inventory" / "bad.yaml", "ai_tools: [{id: x, approved: maybe-ish}]\n")
    r = run("ingest", str(snap), "--db", db)
    assert r.returncode == 1
    assert "bad.yaml" in r.stderr and "approved" in r.stderr and "nothing of inventory/ was written" in r.stderr
    q = run("query", "--db", db, '{ node(id: "tool:bot") { id } }')
    assert json.loads(q.stdout)["data"]["node"] == {"id": "tool:bot"}


def test_ingest_same_snapshot_twice_changes_nothing(tmp_path, snap):
    db = str(tmp_path / "x.db")
    run("ingest", str(snap), "--db", db)
    q = '{ nodes(first: 100) { totalCount nodes { id kind name active properties } } }'
    before = run("query", "--db", db, q).stdout
    r = run("ingest", str(snap), "--db", db)
    assert "marked removed" not in r.stdout
    assert run("query", "--db", db, q).stdout == before


def test_serve_answers_graphql_over_http(tmp_path, snap):
    db = str(tmp_path / "x.db")
    run("ingest", str(snap), "--db", db)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", db, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.time() + 30
        while True:
            try:
                resp = httpx.post(url, json={"query": '{ node(id: "tool:bot") { id name } }'}, timeout=5)
                break
            except httpx.TransportError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert resp.status_code == 200
        assert resp.json() == {"data": {"node": {"id": "tool:bot", "name": "bot"}}}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_loads_fresh_db_and_prints_url_and_examples(tmp_path):
    db = tmp_path / "demo.db"
    db.write_text("stale junk that must be replaced")
    r = run("demo", "--db", str(db), "--no-serve", "--port", "8123")
    assert r.returncode == 2 and "not a store an earlier `burnpath demo` made" in r.stderr
    assert db.read_text() == "stale junk that must be replaced"      # a user's file is not clobbered
    r = run("demo", "--db", str(db), "--no-serve", "--port", "8123", "--force")
    assert r.returncode == 0, r.stderr
    assert "http://127.0.0.1:8123/graphql" in r.stdout
    assert r.stdout.count("{ ") >= 2 and "blastRadius" in r.stdout
    assert "inventory: loaded" in r.stdout
    again = run("demo", "--db", str(db), "--no-serve")                 # an earlier demo store is replaced
    assert again.returncode == 0, again.stderr


def test_bad_vendor_file_keeps_that_sources_earlier_data(tmp_path):
    """A truncated OpenAI file: error names it, exit 1, the earlier OpenAI load intact;
    the source before it in the same ingest is reported as loaded."""
    import shutil
    snap = tmp_path / "snap"
    for src in ("openai", "okta"):
        shutil.copytree(DEMO / src, snap / src)
    db = str(tmp_path / "x.db")
    assert run("ingest", str(snap), "--db", db).returncode == 0
    q = '{ nodes(kind: "Credential", first: 200) { totalCount } }'
    before = json.loads(run("query", "--db", db, q).stdout)
    users = snap / "openai" / "organization" / "users.json"
    users.write_text(users.read_text()[: len(users.read_text()) // 2])
    r = run("ingest", str(snap), "--db", db)
    assert r.returncode == 1
    assert "users.json" in r.stderr and "invalid JSON" in r.stderr
    assert "nothing of openai/ was written" in r.stderr
    assert json.loads(run("query", "--db", db, q).stdout) == before
