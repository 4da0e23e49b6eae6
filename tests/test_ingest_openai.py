"""OpenAI Admin API snapshot: every path of the layout, older shapes, bad input."""
from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pytest

from engine.model import NodeKind
from engine.service import Engine
from ingest import openai
from ingest.errors import IngestError
from tests.conftest import DEMO, write


@pytest.fixture(scope="module")
def demo():
    return openai.ingest(DEMO / "openai")


def _nodes(rec):
    return {n.id: n for n in rec.nodes}


def _edges(rec):
    return {(e.src, e.kind.value, e.dst): e for e in rec.edges}


def test_every_layout_path_is_read(demo):
    rels = {p.split("/openai/", 1)[1] for p in demo.files}
    assert {"organization/users.json", "organization/projects.json",
            "organization/admin_api_keys.json", "organization/usage/completions.json",
            "organization/costs.json"} <= rels
    for pid in ("proj_support", "proj_platform", "proj_marketing", "proj_legacy"):
        for part in ("users", "service_accounts", "api_keys"):
            assert f"organization/projects/{pid}/{part}.json" in rels
    assert demo.warnings == []


def test_users_projects_and_people(demo):
    nodes, edges = _nodes(demo), _edges(demo)
    org = "openai:organization:default"
    assert nodes[org].kind is NodeKind.Project
    ana = nodes["openai:user:user_ana"]
    assert ana.kind is NodeKind.Account and ana.properties["email"] == "ana@example.com"
    assert ana.properties["created_at"].startswith("2025-01-14T")
    assert ("person:ana@example.com", "HAS_ACCOUNT", "openai:user:user_ana") in edges
    assert edges[("openai:user:user_raj", "MEMBER_OF", org)].properties["role"] == "owner"
    assert ("openai:user:user_raj", "OWNS", org) in edges
    assert ("openai:user:user_ana", "OWNS", org) not in edges
    # Project membership with role; owners also own the project.
    assert edges[("openai:user:user_li", "MEMBER_OF", "openai:project:proj_support")].properties["role"] == "owner"
    assert ("openai:user:user_li", "OWNS", "openai:project:proj_support") in edges
    assert ("openai:user:user_ana", "OWNS", "openai:project:proj_support") not in edges
    assert ("openai:project:proj_support", "MEMBER_OF", org) in edges
    legacy = nodes["openai:project:proj_legacy"]
    assert legacy.active is False and legacy.properties["status"] == "archived"
    assert nodes["openai:project:proj_support"].active is None


def test_keys_owners_and_hints(demo):
    nodes, edges = _nodes(demo), _edges(demo)
    support = nodes["openai:api_key:key_support"]
    assert support.kind is NodeKind.Credential
    assert support.properties["project_id"] == "openai:project:proj_support"
    assert support.properties["hint"] == "sk-proj-Sup...Q7aa"
    assert support.properties["prefix"] == "sk-proj-Sup" and support.properties["last4"] == "Q7aa"
    assert support.properties["last_used_at"] == "2026-11-14T22:41:00Z"
    # A service-account key acts as the service account; the account does not own it.
    assert ("openai:api_key:key_support", "AUTHENTICATES_AS", "openai:service_account:svc_support") in edges
    assert not any(k == "OWNS" and d == "openai:api_key:key_support" for _, k, d in edges)
    assert ("openai:service_account:svc_support", "MEMBER_OF", "openai:project:proj_support") in edges
    assert ("openai:api_key:key_support", "MEMBER_OF", "openai:project:proj_support") in edges
    # A user key: owned by and acting as its user.
    assert ("openai:user:user_ben", "OWNS", "openai:api_key:key_ben") in edges
    assert ("openai:api_key:key_ben", "AUTHENTICATES_AS", "openai:user:user_ben") in edges
    stale = nodes["openai:api_key:key_stale"]
    assert stale.properties["last_used_at"] == "2026-06-30T12:00:00Z"
    admin = nodes["openai:admin_api_key:key_admin01"]
    assert admin.properties["admin"] is True and admin.properties["last4"] == "7zQp"
    assert ("openai:user:user_raj", "OWNS", "openai:admin_api_key:key_admin01") in edges
    for n in demo.nodes:   # no secret value anywhere
        assert "value" not in n.properties


def test_usage_rows_tell_the_story(demo):
    rows = demo.usage
    assert {r.day for r in rows} == {date(2026, 10, 1) + timedelta(days=i) for i in range(45)}
    support = [r for r in rows if r.credential_id == "openai:api_key:key_support"
               and r.model.startswith("gpt-4o-mini")]
    by_day = {r.day: r for r in support}
    normal = sorted(r.input_tokens for d, r in by_day.items() if d != date(2026, 11, 10))
    assert by_day[date(2026, 11, 10)].input_tokens > 8 * normal[len(normal) // 2]
    o3 = sorted(r.day for r in rows if r.credential_id == "openai:api_key:key_support" and r.model.startswith("o3"))
    assert o3[0] == date(2026, 11, 5)
    ben = [r for r in rows if r.credential_id == "openai:api_key:key_ben"]
    assert max(r.day for r in ben) == date(2026, 11, 14)
    assert all(r.account_id == "openai:user:user_ben" and r.project_id == "openai:project:proj_platform"
               for r in ben)
    one = by_day[date(2026, 10, 1)]
    assert one.cached_input_tokens > 0 and one.requests > 0 and one.vendor_usd is None
    keyless = [r for r in rows if r.credential_id is None]
    assert keyless and all(r.account_id == "openai:user:user_li" for r in keyless)
    assert not [r for r in rows if r.credential_id in ("openai:api_key:key_stale", "openai:api_key:key_legacy")]


def test_costs_are_cost_rows_not_usage(demo):
    assert demo.costs and all(c.properties["currency"] == "usd" for c in demo.costs)
    scopes = {c.scope_id for c in demo.costs}
    assert "openai:project:proj_marketing" in scopes
    assert any("ft:gpt-4o-mini" in (c.line_item or "") for c in demo.costs)


def _snap(tmp_path):
    root = tmp_path / "openai"
    shutil.copytree(DEMO / "openai", root)
    return root


def test_older_owner_shape_and_nulls(tmp_path):
    root = tmp_path / "openai"
    write(root / "organization/projects/p1/api_keys.json", json.dumps({
        "object": "list", "has_more": False, "data": [
            {"id": "k_flat", "name": None, "redacted_value": None, "created_at": None, "last_used_at": None,
             "owner": {"type": "user", "id": "user_q", "name": "Q", "email": "Q@Example.com"},
             "extra_field": "kept"},
            {"id": "k_sa", "owner": {"type": "service_account", "id": "svc_9", "name": "bot"}},
            {"id": "k_none", "owner": None},
        ]}))
    rec = openai.ingest(root)
    nodes, edges = _nodes(rec), _edges(rec)
    assert nodes["openai:api_key:k_flat"].properties["extra_field"] == "kept"
    assert "created_at" not in nodes["openai:api_key:k_flat"].properties
    assert ("openai:user:user_q", "OWNS", "openai:api_key:k_flat") in edges
    assert ("person:q@example.com", "HAS_ACCOUNT", "openai:user:user_q") in edges
    assert ("openai:api_key:k_sa", "AUTHENTICATES_AS", "openai:service_account:svc_9") in edges
    assert nodes["openai:api_key:k_none"].properties["project_id"] == "openai:project:p1"


def test_truncated_file_names_the_file(tmp_path):
    root = _snap(tmp_path)
    path = root / "organization/users.json"
    path.write_text(path.read_text()[:200])
    with pytest.raises(IngestError) as exc:
        openai.ingest(root)
    assert "organization/users.json" in str(exc.value) and "invalid JSON" in str(exc.value)


def test_wrong_envelope_is_an_error(tmp_path):
    root = tmp_path / "openai"
    write(root / "organization/projects.json", json.dumps({"object": "list", "items": []}))
    with pytest.raises(IngestError, match="projects.json.*'data'"):
        openai.ingest(root)
    write(root / "organization/projects.json", json.dumps({"data": [{"name": "no id"}]}))
    with pytest.raises(IngestError, match="missing string 'id'"):
        openai.ingest(root)


def test_bucket_problems(tmp_path):
    root = tmp_path / "openai"
    usage = root / "organization/usage/completions.json"
    write(usage, json.dumps({"object": "page", "data": [{"results": []}]}))
    with pytest.raises(IngestError, match="start_time"):
        openai.ingest(root)
    write(usage, json.dumps({"data": [{"start_time": 1790812800, "results": [
        {"input_tokens": "lots", "api_key_id": "k", "model": "gpt-4o"}]}]}))
    with pytest.raises(IngestError, match="bucket 1 result 1 input_tokens"):
        openai.ingest(root)


def test_unknown_fields_and_unlisted_keys_are_kept_and_reported(tmp_path):
    root = _snap(tmp_path)
    usage = root / "organization/usage/completions.json"
    pages = json.loads(usage.read_text())
    pages[0]["data"][0]["results"].append({
        "object": "organization.usage.completions.result", "input_tokens": 10, "output_tokens": 5,
        "num_model_requests": 1, "project_id": "proj_support", "api_key_id": "key_ghost",
        "model": "gpt-4o", "reasoning_tokens": 7, "mystery": "x"})
    usage.write_text(json.dumps(pages))
    rec = openai.ingest(root)
    ghost = [r for r in rec.usage if r.credential_id == "openai:api_key:key_ghost"]
    assert len(ghost) == 1 and ghost[0].properties["reasoning_tokens"] == 7
    assert any("key_ghost" in w and "no listing" in w for w in rec.warnings)
    assert any("mystery" in w and "reasoning_tokens" in w for w in rec.warnings)
    assert not any("key_support" in w for w in rec.warnings)


def test_partial_load_reads_only_the_given_file(tmp_path):
    root = _snap(tmp_path)
    only = {(root / "organization/usage/completions.json").resolve()}
    rec = openai.ingest(root, only)
    assert rec.nodes == [] and rec.usage and rec.warnings == []


def test_nothing_half_loaded_and_resync_marks_removed(tmp_path):
    root = _snap(tmp_path)
    eng = Engine.open(str(tmp_path / "db.sqlite"))
    eng.ingest([root])
    before = len(eng.store.usage())
    assert eng.node("openai:api_key:key_mkt") is not None
    # A broken file in the source: nothing of this load is written.
    keys = root / "organization/projects/proj_marketing/api_keys.json"
    good = keys.read_text()
    keys.write_text("{\"data\": [")
    (root / "organization/usage/completions.json").write_text("[]")
    with pytest.raises(IngestError, match="api_keys.json"):
        eng.ingest([root])
    assert len(eng.store.usage()) == before and eng.node("openai:api_key:key_mkt") is not None
    # A complete re-sync without the key: kept, marked removed.
    keys.write_text(json.dumps({"object": "list", "data": [], "has_more": False}))
    shutil.copy(DEMO / "openai/organization/usage/completions.json", root / "organization/usage/completions.json")
    [res] = eng.ingest([root])
    assert res.removed["nodes"] >= 1
    assert eng.node("openai:api_key:key_mkt") is None
    assert eng.store.get_node("openai:api_key:key_mkt", include_removed=True).removed_at
    eng.close()


def test_demo_ai_snapshots_are_what_the_generator_writes(tmp_path):
    """fixtures/demo/make_ai_usage.py regenerates the committed files exactly."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_ai_usage", DEMO / "make_ai_usage.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.main(tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(made) > 30
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (DEMO / rel).read_bytes(), rel
    # Nothing in the demo is stamped after "now" (2026-11-14T23:00:00Z) but the
    # exclusive end of the last report bucket.
    for rel in made:
        for line in (DEMO / rel).read_text().splitlines():
            if "2026-11-15" in line or "2026-12" in line:
                assert '"ending_at": "2026-11-15T00:00:00Z"' in line, (rel, line)


def test_unlisted_key_warning_needs_every_key_listing(tmp_path):
    root = _snap(tmp_path)
    usage = (root / "organization/usage/completions.json").resolve()
    pages = json.loads(usage.read_text())
    pages[0]["data"][0]["results"].append({"input_tokens": 1, "api_key_id": "key_ghost", "model": "gpt-4o"})
    usage.write_text(json.dumps(pages))
    one_project = (root / "organization/projects/proj_support/api_keys.json").resolve()
    rec = openai.ingest(root, {usage, one_project})
    assert rec.warnings == []            # key_ben etc. live in listings not read here
    every = {p.resolve() for p in root.glob("organization/projects/*/api_keys.json")}
    warned = openai.ingest(root, {usage} | every).warnings
    assert warned == ["openai: usage for API key key_ghost which no listing names (row kept)"]
