"""LiteLLM proxy snapshot: keys with budgets and limits, teams, users, spend logs."""
from __future__ import annotations

import json
import shutil
from collections import defaultdict

import pytest

from engine.model import NodeKind
from ingest import litellm
from ingest.errors import IngestError
from tests.conftest import DEMO, write


@pytest.fixture(scope="module")
def demo():
    return litellm.ingest(DEMO / "litellm")


def _nodes(rec):
    return {n.id: n for n in rec.nodes}


def _edges(rec):
    return {(e.src, e.kind.value, e.dst): e for e in rec.edges}


def test_every_layout_path_is_read(demo):
    rels = {p.split("/litellm/", 1)[1] for p in demo.files}
    assert rels == {"key/list.json", "team/list.json", "user/list.json", "spend/logs.json"}
    assert demo.warnings == []


def test_keys_budgets_limits_owners(demo):
    nodes, edges = _nodes(demo), _edges(demo)
    key = nodes["litellm:key:9f2c1b7e4a"]        # from page 1 of 2
    assert key.kind is NodeKind.Credential and key.name == "data-agent-prod"
    p = key.properties
    assert (p["max_budget"], p["budget_duration"], p["rpm_limit"], p["tpm_limit"]) == (800.0, "30d", 600, 200000)
    assert p["models"] == ["claude-3-5-sonnet", "gpt-4o-mini"] and p["key_alias"] == "data-agent-prod"
    assert p["hint"] == "sk-...7Hq2" and p["last4"] == "7Hq2" and p["spend"] > 0
    assert "key_name" not in p and "token" not in p and p["token_hash"] == "9f2c1b7e4a"
    assert "litellm:key:3c8e5d2a71" in nodes                   # page 2 of 2
    assert ("litellm:user:dev", "OWNS", "litellm:key:9f2c1b7e4a") in edges
    assert ("litellm:key:9f2c1b7e4a", "MEMBER_OF", "litellm:team:tm-data-platform") in edges
    assert ("litellm:key:3c8e5d2a71", "MEMBER_OF", "litellm:team:tm-data-platform") not in edges


def test_teams_and_users(demo):
    nodes, edges = _nodes(demo), _edges(demo)
    team = nodes["litellm:team:tm-data-platform"]
    assert team.kind is NodeKind.Team and team.name == "data-platform" and team.properties["max_budget"] == 1000.0
    assert edges[("litellm:user:dev", "MEMBER_OF", "litellm:team:tm-data-platform")].properties["role"] == "admin"
    assert ("litellm:user:dev", "OWNS", "litellm:team:tm-data-platform") in edges
    assert ("person:dev@example.com", "HAS_ACCOUNT", "litellm:user:dev") in edges
    admin = nodes["litellm:user:default_user_id"]
    assert "email" not in admin.properties and admin.properties["login"] == "default_user_id"
    assert not any(s.startswith("person:") and d == "litellm:user:default_user_id" for s, _, d in edges)


def test_spend_logs_sum_per_day_key_model_with_vendor_usd(demo):
    raw = json.loads((DEMO / "litellm/spend/logs.json").read_text())
    want = defaultdict(float)
    for r in raw:
        want[(r["startTime"][:10], r["api_key"], r["model"])] += r["spend"]
    got = {(u.day.isoformat(), u.credential_id.split(":")[-1], u.model): u for u in demo.usage}
    assert set(got) == set(want)
    for k, usd in want.items():
        assert got[k].vendor_usd == pytest.approx(usd)
    one = next(iter(got.values()))
    assert one.requests >= 1 and one.input_tokens > 0 and one.account_id == "litellm:user:dev"
    assert sum(u.requests for u in demo.usage) == len(raw)


def test_blocked_key_old_team_shape_and_bare_arrays(tmp_path):
    root = tmp_path / "litellm"
    write(root / "key/list.json", json.dumps({"keys": [
        {"token": "a" * 64, "key_name": "sk-...zzzz", "blocked": True, "user_id": None, "team_id": "t1",
         "created_by": "default_user_id", "config": {"api_key": "upstream-secret"}, "expires": None}],
        "total_count": 1, "current_page": 1, "total_pages": 1}))
    write(root / "team/list.json", json.dumps([{"team_id": "t1", "admins": ["u_admin"], "members": ["u_m"]}]))
    write(root / "user/list.json", json.dumps([{"user_id": "u_m", "user_email": "M@example.com"}]))
    rec = litellm.ingest(root)
    nodes, edges = _nodes(rec), _edges(rec)
    key = nodes[f"litellm:key:{'a' * 64}"]
    assert key.active is False and key.properties["status"] == "blocked"
    assert key.properties["sha256"] == "a" * 64
    assert "upstream-secret" not in json.dumps([n.properties for n in rec.nodes])
    assert not any(k == "OWNS" and d == key.id for _, k, d in edges)     # the proxy admin owns nothing
    assert ("litellm:user:u_admin", "OWNS", "litellm:team:t1") in edges
    assert edges[("litellm:user:u_m", "MEMBER_OF", "litellm:team:t1")].properties["role"] == "user"
    assert ("person:m@example.com", "HAS_ACCOUNT", "litellm:user:u_m") in edges


def test_bad_input_and_unlisted_keys(tmp_path):
    root = tmp_path / "litellm"
    shutil.copytree(DEMO / "litellm", root)
    logs = root / "spend/logs.json"
    rows = json.loads(logs.read_text())
    rows.append({**rows[0], "api_key": "ffff0000", "request_id": "x"})
    logs.write_text(json.dumps(rows))
    rec = litellm.ingest(root)
    assert [u for u in rec.usage if u.credential_id == "litellm:key:ffff0000"]
    assert rec.warnings == ["litellm: usage for key ffff0000 which no listing names (row kept)"]
    # Key listing saved without return_full_object: only tokens as strings.
    write(root / "key/list.json", json.dumps({"keys": ["sk-abc"], "total_count": 1}))
    with pytest.raises(IngestError, match="key/list.json: page 1 item 1: expected an object"):
        litellm.ingest(root)
    write(root / "key/list.json", json.dumps({"keys": [{"key_alias": "x"}]}))
    with pytest.raises(IngestError, match="return_full_object"):
        litellm.ingest(root)
    shutil.copy(DEMO / "litellm/key/list.json", root / "key/list.json")
    logs.write_text(json.dumps([{"api_key": "x", "startTime": "yesterday", "model": "m"}]))
    with pytest.raises(IngestError, match="spend/logs.json: log 1 startTime"):
        litellm.ingest(root)
    logs.write_text(json.dumps([{"startTime": "2026-11-01T00:00:00Z", "spend": 3.5,
                                 "models": {"gpt-4o": 3.0, "claude": 0.5}}]))
    rec = litellm.ingest(root)
    assert sorted((u.model, u.vendor_usd, u.credential_id) for u in rec.usage) == [
        ("claude", 0.5, None), ("gpt-4o", 3.0, None)]
    assert any("summary" in w for w in rec.warnings)
