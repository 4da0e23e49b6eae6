"""`lookupSecret` and `burnpath lookup` (issue 15): a leaked key string finds its
credentials by sha256, AWS key id, vendor hint or prefix + last four, on both stores;
the value itself is never stored, logged, echoed or kept in an error."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.execute import execute
from engine.service import Engine
from tests.conftest import LiveServer
from tests.identity_snap import snapshot
from tests.neo4j_support import neo4j_settings, wipe
from tests.secret_planting import ALNUM

ROOT = Path(__file__).resolve().parent.parent
LOOKUP = "query($s: String!, $x: Boolean! = false) { lookupSecret(value: $s, includeExposures: $x) { matchedBy node { id kind } } }"


def make_key(prefix: str, n: int = 40) -> str:
    import secrets
    return prefix + "".join(secrets.choice(ALNUM) for _ in range(n))


@pytest.fixture(scope="module")
def keys():
    return {"litellm": make_key("sk-", 30), "anthropic": make_key("sk-ant-api03-", 90),
            "openai": make_key("sk-proj-", 60), "inventory": make_key("sk-svcacct-", 50),
            "leaked": make_key("ghp_", 36), "aws": "AKIA" + "".join(c for c in make_key("", 80).upper()
                                                                     if c.isalnum())[:16]}


def org(root: Path, keys: dict) -> Path:
    k = keys
    return snapshot(root, {
        "litellm/key/list.json": [{"keys": [{"token": hashlib.sha256(k["litellm"].encode()).hexdigest(),
                                             "key_name": "sk-...ZZZZ", "key_alias": "lite", "user_id": "u1"}]}],
        "anthropic/organizations/api_keys.json": {"data": [
            {"id": "apikey_a", "type": "api_key", "name": "a", "workspace_id": None, "status": "active",
             "created_at": "2026-01-01T00:00:00Z", "partial_key_hint": f"{k['anthropic'][:16]}...{k['anthropic'][-4:]}"},
            {"id": "apikey_twin", "type": "api_key", "name": "twin", "workspace_id": None, "status": "active",
             "created_at": "2026-01-01T00:00:00Z", "partial_key_hint": f"sk-ant-api03-zzz...{k['anthropic'][-4:]}"}]},
        "openai/organization/projects.json": {"data": [{"id": "proj_1", "name": "p", "status": "active"}]},
        "openai/organization/projects/proj_1/api_keys.json": {"data": [
            {"object": "organization.project.api_key", "id": "key_o", "name": "o",
             "redacted_value": f"sk-proj-...{k['openai'][-4:]}", "created_at": 1767225600}]},
        "gitleaks/r.json": [{"RuleID": "github-pat", "File": "a.py", "StartLine": 1, "Commit": "c",
                             "Secret": k["leaked"], "Fingerprint": "c:a.py:github-pat:1"}],
        "inventory/org.yaml": (
            "credentials:\n"
            f"  - {{id: 'openai:api_key:key_inv', prefix: 'sk-svcacct-', last4: '{k['inventory'][-4:]}'}}\n"
            f"  - {{id: 'aws:access_key:ci:1', key_id: '{k['aws']}'}}\n"),
    })


def expected(keys) -> dict[str, list[tuple[str, str]]]:
    return {"litellm": [("sha256", f"litellm:key:{hashlib.sha256(keys['litellm'].encode()).hexdigest()}")],
            "anthropic": [("hint", "anthropic:api_key:apikey_a")],
            "openai": [("hint", "openai:api_key:key_o")],
            "inventory": [("prefix_last4", "openai:api_key:key_inv")],
            "aws": [("key_id", "aws:access_key:ci:1")],
            "leaked": []}


def matches(eng, value: str, exposures: bool = False) -> list[tuple[str, str]]:
    body = execute(eng, LOOKUP, {"s": value, "x": exposures})
    assert "errors" not in body, body
    return [(m["matchedBy"], m["node"]["id"]) for m in body["data"]["lookupSecret"]]


def check_lookups(eng, keys) -> None:
    for name, want in expected(keys).items():
        assert matches(eng, keys[name]) == want, name
        assert matches(eng, "\n  " + keys[name] + "\n") == want, name     # pasted with whitespace
    # the leaked key is only known to the scanner: with includeExposures, by its hash
    assert matches(eng, keys["leaked"], exposures=True) == [("sha256", "gitleaks:finding:c:a.py:github-pat:1")]
    # look-alikes: the right last four with a wrong visible start or vendor, a wrong last four
    a = keys["anthropic"]
    assert matches(eng, "sk-ant-api03-" + "q" * 40 + a[-4:]) == []
    assert matches(eng, "sk-proj-" + a[13:]) == []
    assert matches(eng, a[:-1] + ("x" if a[-1] != "x" else "y")) == []
    assert matches(eng, "   ") == []


def test_lookup_embedded(tmp_path, keys):
    db = tmp_path / "l.db"
    eng = Engine.open(str(db))
    eng.ingest([org(tmp_path / "snap", keys)])
    check_lookups(eng, keys)
    eng.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("l.db*"))
    for name, value in keys.items():
        if name != "aws":   # an AWS access key id is an identifier, kept whole
            assert value[-12:].encode() not in stored


@pytest.mark.neo4j
def test_lookup_neo4j(tmp_path, keys):
    uri, user, password = neo4j_settings()
    wipe(uri, user, password)
    eng = Engine.open(uri)
    eng.ingest([org(tmp_path / "snap", keys)])
    check_lookups(eng, keys)
    eng.close()


def test_lookup_over_http_never_echoes_or_logs_the_value(tmp_path, keys):
    db = tmp_path / "h.db"
    eng = Engine.open(str(db))
    eng.ingest([org(tmp_path / "snap", keys)])
    log = io.StringIO()
    secret = keys["anthropic"]
    with LiveServer(create_app(eng, access_log=log)) as srv:
        ok = srv.graphql(LOOKUP, {"s": secret})
        assert ok.json()["data"]["lookupSecret"] == [{"matchedBy": "hint", "node": {"id": "anthropic:api_key:apikey_a",
                                                                                    "kind": "Credential"}}]
        inline = srv.graphql('{ lookupSecret(value: "%s") { matchedBy } }' % secret)
        assert inline.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
        get = httpx.get(srv.url + "/graphql", params={"query": LOOKUP, "variables": f'{{"s": "{secret}"}}'},
                        timeout=30)
        assert get.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
        wrong_type = srv.graphql(LOOKUP, {"s": 12345678901234567890})
        assert "errors" in wrong_type.json()
        texts = [ok.text, inline.text, get.text]
    eng.close()
    assert "variable" in inline.json()["errors"][0]["message"] and "POST" in get.json()["errors"][0]["message"]
    for text in texts + [log.getvalue()]:
        assert secret[13:-4] not in text and secret[-12:] not in text
    assert log.getvalue().count("\n") >= 3
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("h.db*"))
    assert secret[-12:].encode() not in stored


def run_cli(args: list[str], stdin: str, env_db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "lookup", "--db", str(env_db), *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_lookup_cli(tmp_path, keys):
    db = tmp_path / "c.db"
    eng = Engine.open(str(db))
    eng.ingest([org(tmp_path / "snap", keys)])
    eng.close()
    before = {p.name: p.read_bytes() for p in tmp_path.glob("c.db*")}
    secret = keys["openai"]
    found = run_cli([], secret + "\n", db)
    assert found.returncode == 0, found.stderr
    assert "openai:api_key:key_o" in found.stdout and "matched by hint" in found.stdout
    as_json = run_cli(["--format", "json"], keys["litellm"], db)
    assert '"matched_by": "sha256"' in as_json.stdout and as_json.returncode == 0
    none = run_cli([], make_key("sk-proj-", 50), db)
    assert none.returncode == 1 and "no credential matches" in none.stdout
    refused = run_cli([secret], "", db)
    assert refused.returncode == 2 and "never from the command line" in refused.stderr
    empty = run_cli([], "", db)
    assert empty.returncode == 2
    for r in (found, as_json, none, refused, empty):
        for value in (secret, keys["litellm"]):
            assert value[-12:] not in r.stdout + r.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.glob("c.db*")}
    for blob in after.values():
        assert secret[-12:].encode() not in blob and keys["litellm"][-12:].encode() not in blob
    assert after.keys() == before.keys()
