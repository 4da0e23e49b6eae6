"""Anthropic Admin API snapshot: every path of the layout, older key shapes, bad input."""
from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from engine.model import NodeKind
from ingest import anthropic
from ingest.errors import IngestError
from tests.conftest import DEMO, write


@pytest.fixture(scope="module")
def demo():
    return anthropic.ingest(DEMO / "anthropic")


def _nodes(rec):
    return {n.id: n for n in rec.nodes}


def _edges(rec):
    return {(e.src, e.kind.value, e.dst): e for e in rec.edges}


def test_every_layout_path_is_read(demo):
    rels = {p.split("/anthropic/", 1)[1] for p in demo.files}
    assert rels == {"organizations/users.json", "organizations/workspaces.json",
                    "organizations/workspaces/wrkspc_01DataAgents/members.json",
                    "organizations/workspaces/wrkspc_01Ops/members.json",
                    "organizations/api_keys.json", "organizations/usage_report/messages.json",
                    "organizations/cost_report.json", "organizations/usage_report/claude_code.json"}
    assert demo.warnings == []


def test_users_workspaces_members(demo):
    nodes, edges = _nodes(demo), _edges(demo)
    omar = nodes["anthropic:user:user_01Omar"]
    assert omar.kind is NodeKind.Account and omar.properties["role"] == "developer"
    assert ("person:omar@contractor.example.net", "HAS_ACCOUNT", "anthropic:user:user_01Omar") in edges
    assert nodes["anthropic:workspace:wrkspc_01Ops"].kind is NodeKind.Project
    assert edges[("anthropic:user:user_01Ana", "MEMBER_OF", "anthropic:workspace:wrkspc_01DataAgents")] \
        .properties["role"] == "workspace_developer"
    assert ("anthropic:user:user_01Raj", "OWNS", "anthropic:workspace:wrkspc_01Ops") in edges
    assert ("anthropic:user:user_01Omar", "OWNS", "anthropic:workspace:wrkspc_01Ops") not in edges
    # Org admins own the default workspace every member works in.
    assert ("anthropic:user:user_01Raj", "OWNS", "anthropic:workspace:default") in edges
    assert ("anthropic:user:user_01Ben", "OWNS", "anthropic:workspace:default") not in edges


def test_keys(demo):
    nodes, edges = _nodes(demo), _edges(demo)
    leaked = nodes["anthropic:api_key:apikey_01DataAgent"]
    assert leaked.properties["hint"] == "sk-ant-api03-R2D...Xk9Q"
    assert leaked.properties["prefix"] == "sk-ant-api03-R2D" and leaked.properties["last4"] == "Xk9Q"
    assert leaked.properties["status"] == "active" and leaked.active is True
    assert leaked.properties["project_id"] == "anthropic:workspace:wrkspc_01DataAgents"
    assert ("anthropic:user:user_01Ana", "OWNS", "anthropic:api_key:apikey_01DataAgent") in edges
    assert ("anthropic:api_key:apikey_01DataAgent", "MEMBER_OF", "anthropic:workspace:wrkspc_01DataAgents") in edges
    # Workspace keys act as themselves: the creator owns, it is not the identity.
    assert not any(k == "AUTHENTICATES_AS" for _, k, _ in edges)
    old = nodes["anthropic:api_key:apikey_01Old"]
    assert old.properties["created_at"] == "2026-08-01T11:00:00Z" and "last_used_at" not in old.properties
    assert not [u for u in demo.usage if u.credential_id == "anthropic:api_key:apikey_01Old"]


def test_usage_tokens_and_the_jump_after_the_leak(demo):
    rows = [u for u in demo.usage if u.credential_id == "anthropic:api_key:apikey_01DataAgent"]
    assert len(rows) == 45 and all(u.project_id == "anthropic:workspace:wrkspc_01DataAgents" for u in rows)
    first = rows[0]
    assert first.cached_input_tokens > 0
    # input counts uncached + cache reads + cache writes; writes are kept for pricing.
    assert first.input_tokens > first.cached_input_tokens + first.properties["cache_creation_input_tokens"]
    before = [u.output_tokens for u in rows if u.day < date(2026, 11, 8)]
    after = [u.output_tokens for u in rows if u.day >= date(2026, 11, 8)]
    assert min(after) > 3 * max(before)


def test_costs_in_cents_and_claude_code_activity(demo):
    web = [c for c in demo.costs if c.line_item == "Web Search"]
    assert web and all(c.usd == pytest.approx(1.5) for c in web)
    assert {c.scope_id for c in demo.costs} == {"anthropic:workspace:wrkspc_01DataAgents",
                                                "anthropic:workspace:wrkspc_01Ops"}
    acts = demo.activity
    assert {a.actor_id for a in acts} == {"person:ana@example.com", "person:dev@example.com"}
    a = acts[0]
    assert a.kind == "claude_code" and a.properties["sessions"] >= 2
    assert a.properties["lines_added"] > 0 and a.properties["tool_actions_accepted"] > 0
    assert 1.5 <= a.properties["estimated_cost_usd"] <= 9.0
    assert not demo.usage or all(u.properties["vendor"] == "anthropic" for u in demo.usage)


def test_older_key_shapes_and_defaults(tmp_path):
    root = tmp_path / "anthropic"
    write(root / "organizations/api_keys.json", json.dumps([
        {"data": [
            {"id": "apikey_p", "name": "old", "principal": {"type": "user", "id": "user_01P"},
             "scope": {"type": "workspace", "id": "wrkspc_X"}, "partial_key_hint": "sk-ant-api03-Abc...wxyz",
             "status": "inactive"},
            {"id": "apikey_s", "principal": "svcacct_01Bot", "scope": {"type": "organization"},
             "status": None, "created_by": None},
        ], "has_more": True, "last_id": "apikey_s"},
        {"data": [{"id": "apikey_n", "workspace_id": None, "created_by": {"id": "user_01N", "type": "user"},
                   "status": "archived", "expires_at": "2026-01-01T00:00:00Z"}], "has_more": False},
    ]))
    rec = anthropic.ingest(root)
    nodes, edges = _nodes(rec), _edges(rec)
    p = nodes["anthropic:api_key:apikey_p"]
    assert p.active is False and p.properties["project_id"] == "anthropic:workspace:wrkspc_X"
    assert ("anthropic:user:user_01P", "OWNS", "anthropic:api_key:apikey_p") in edges
    assert ("anthropic:api_key:apikey_p", "AUTHENTICATES_AS", "anthropic:user:user_01P") in edges
    assert ("anthropic:api_key:apikey_s", "AUTHENTICATES_AS", "anthropic:service_account:svcacct_01Bot") in edges
    assert nodes["anthropic:api_key:apikey_s"].properties["project_id"] == "anthropic:workspace:default"
    assert nodes["anthropic:api_key:apikey_s"].active is None
    n = nodes["anthropic:api_key:apikey_n"]
    assert n.active is False and n.properties["expires_at"] == "2026-01-01T00:00:00Z"


def test_flat_cache_fields_and_keyless_usage(tmp_path):
    root = tmp_path / "anthropic"
    write(root / "organizations/usage_report/messages.json", json.dumps({"data": [
        {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-02T00:00:00Z", "results": [
            {"uncached_input_tokens": 100, "cache_creation_5m_input_tokens": 10,
             "cache_creation_1h_input_tokens": 5, "cache_read_input_tokens": 20, "output_tokens": 7,
             "api_key_id": None, "workspace_id": None, "model": "claude-3-5-haiku-20241022"}]}],
        "has_more": False, "next_page": None}))
    [row] = anthropic.ingest(root).usage
    assert row.credential_id is None and row.project_id == "anthropic:workspace:default"
    assert (row.input_tokens, row.cached_input_tokens, row.properties["cache_creation_input_tokens"]) == (135, 20, 15)


def _snap(tmp_path):
    root = tmp_path / "anthropic"
    shutil.copytree(DEMO / "anthropic", root)
    return root


def test_bad_input(tmp_path):
    root = _snap(tmp_path)
    report = root / "organizations/cost_report.json"
    report.write_text(json.dumps({"data": [{"results": []}], "has_more": False}))
    with pytest.raises(IngestError, match="cost_report.json.*starting_at"):
        anthropic.ingest(root)
    report.write_text(json.dumps({"buckets": []}))
    with pytest.raises(IngestError, match="cost_report.json.*'data'"):
        anthropic.ingest(root)
    report.write_text("")
    with pytest.raises(IngestError, match="cost_report.json: empty file"):
        anthropic.ingest(root)
    shutil.copy(DEMO / "anthropic/organizations/cost_report.json", report)
    code = root / "organizations/usage_report/claude_code.json"
    code.write_text(json.dumps({"data": [{"date": "2026-11-02", "actor": {"type": "mystery"}}]}))
    with pytest.raises(IngestError, match="claude_code.json: record 1: actor names no"):
        anthropic.ingest(root)


def test_unlisted_key_usage_is_kept_and_reported(tmp_path):
    root = _snap(tmp_path)
    path = root / "organizations/usage_report/messages.json"
    pages = json.loads(path.read_text())
    pages[0]["data"][0]["results"].append({"uncached_input_tokens": 5, "output_tokens": 1,
                                           "api_key_id": "apikey_01Ghost", "workspace_id": "wrkspc_01Ops",
                                           "model": "claude-3-5-haiku-20241022", "new_dimension": "x"})
    path.write_text(json.dumps(pages))
    rec = anthropic.ingest(root)
    assert [u for u in rec.usage if u.credential_id == "anthropic:api_key:apikey_01Ghost"]
    assert any("apikey_01Ghost" in w for w in rec.warnings)
    assert any("new_dimension" in w for w in rec.warnings)
    assert not any("apikey_01DataAgent" in w for w in rec.warnings)
