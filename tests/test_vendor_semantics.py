"""Vendor semantics as documented (issue 18, part 3), on both stores: Anthropic roles,
usage identities and request counts (legacy report and the Usage and Cost Analytics
API), LiteLLM callers, unpriced models, placeholders, Graph users of unknown status.

Fixtures are written here in the vendors' documented shapes (Anthropic Admin API,
LiteLLM proxy spend logs, Microsoft Graph v1.0, Okta Management API)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from api.execute import execute
from engine.findings import findings
from engine.service import Engine
from engine.spend import spend

from tests.neo4j_support import neo4j_settings, wipe


@pytest.fixture(params=["sqlite", "neo4j"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = Engine.open(str(tmp_path / "burnpath.db"))
    else:
        uri, user, password = neo4j_settings()
        wipe(uri, user, password)
        os.environ.setdefault("NEO4J_USER", user)
        eng = Engine.open(uri)
    yield eng
    eng.close()


def write(root: Path, files: dict) -> Path:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body if isinstance(body, str) else json.dumps(body))
    return root


def page(data):
    return {"data": data, "has_more": False, "first_id": None, "last_id": None}


def report(buckets):
    return {"data": buckets, "has_more": False, "next_page": None}


def bucket(day, results):
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day}T23:59:59Z", "results": results}


def msg_row(model="claude-sonnet-4-20250514", **group):
    return {"uncached_input_tokens": 1000, "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            "output_tokens": 500, "server_tool_use": {"web_search_requests": 0},
            "api_key_id": None, "workspace_id": None, "model": model, "service_tier": "standard",
            "context_window": "0-200k", **group}


def user(uid, email, role):
    return {"id": uid, "type": "user", "email": email, "name": email.split("@")[0], "role": role,
            "added_at": "2026-01-05T10:00:00Z"}


ANTHROPIC_USERS = page([user("user_own", "olga@example.com", "owner"),
                        user("user_prim", "pat@example.com", "primary_owner"),
                        user("user_adm", "ada@example.com", "admin"),
                        user("user_dev", "dev@example.com", "developer")])
KEYS = page([{"id": "apikey_01K", "type": "api_key", "name": "batch", "workspace_id": None,
              "created_at": "2026-01-10T00:00:00Z", "created_by": {"id": "user_dev", "type": "user"},
              "partial_key_hint": "sk-ant-api03-AbC...wXyZ", "status": "active"}])


def spend_by(engine, group_by):
    return {r.key: r for r in spend(engine, group_by)}


# --- Anthropic -----------------------------------------------------------------------
def test_anthropic_owner_roles_own_like_admin(engine, tmp_path):
    snap = write(tmp_path / "s", {"anthropic/organizations/users.json": ANTHROPIC_USERS})
    engine.ingest([snap / "anthropic"])
    owners = {e.src for e in engine.graph().in_edges("anthropic:workspace:default", {"OWNS"})} \
        if hasattr(engine.store, "raw_node_rows") else None
    views = {v.id for v in engine.owners("anthropic:workspace:default")}
    assert {"person:olga@example.com", "person:pat@example.com", "person:ada@example.com"} <= views
    assert "person:dev@example.com" not in views
    if owners is not None:
        assert "anthropic:user:user_dev" not in owners


def test_messages_report_requests_unknown_and_usage_identities(engine, tmp_path):
    snap = write(tmp_path / "s", {
        "anthropic/organizations/users.json": ANTHROPIC_USERS,
        "anthropic/organizations/api_keys.json": KEYS,
        "anthropic/organizations/usage_report/messages.json": report([
            bucket("2026-03-01", [msg_row(api_key_id="apikey_01K"),
                                  msg_row(account_id="user_adm"),
                                  msg_row(service_account_id="svcacct_01Etl")])]),
    })
    engine.ingest([snap / "anthropic"])
    by_cred = spend_by(engine, "credential")
    row = by_cred["anthropic:api_key:apikey_01K"]
    assert row.requests == 0 and row.requests_known is False and row.requests_unknown_rows == 1
    assert row.input_tokens == 1000 and row.usd > 0
    # grouped by account_id: the user's usage, attributed to their person
    by_person = spend_by(engine, "person")
    assert by_person["person:ada@example.com"].input_tokens == 1000
    assert by_person["person:dev@example.com"].input_tokens == 1000        # the key's creator owns it
    # grouped by service_account_id: that service account's usage (not a silent null)
    facts_accounts = {r.account_id for r in engine.store.usage()}
    assert "anthropic:service_account:svcacct_01Etl" in facts_accounts
    # every groupBy agrees on the total, and says the requests are unknown
    total = {g: round(sum(r.usd for r in spend(engine, g)), 6) for g in ("person", "model", "credential")}
    assert len(set(total.values())) == 1
    assert all(r.requests_known is False for r in spend(engine, "model"))
    got = execute(engine, "{ spend(groupBy: \"model\") { key requests requestsKnown requestsUnknownRows } }")
    assert not got.get("errors")
    (m,) = got["data"]["spend"]
    assert m["requests"] == 0 and m["requestsKnown"] is False and m["requestsUnknownRows"] == 3
    # the placeholder service account (only usage names it) is no orphaned-identity finding
    assert not [f for f in findings(engine) if f.subject_id == "anthropic:service_account:svcacct_01Etl"]


def analytics_item(day, requests, **group):
    base = {k: None for k in ("actor", "actor_type", "agent_id", "api_key_id", "context_window",
                              "inference_geo", "model", "product", "service_tier", "workspace_id")}
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day}T23:59:59Z", "group": {**base, **group},
            "usage": {"uncached_input_tokens": 2000, "cache_read_input_tokens": 100,
                      "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 50},
                      "output_tokens": 300, "requests": requests,
                      "server_tool_use": {"web_search_requests": 2}}}


def test_analytics_usage_api_counts_requests_and_wins_over_the_legacy_report(engine, tmp_path):
    snap = write(tmp_path / "s", {
        "anthropic/organizations/users.json": ANTHROPIC_USERS,
        "anthropic/organizations/api_keys.json": KEYS,
        "anthropic/organizations/usage_report/messages.json": report([
            bucket("2026-03-01", [msg_row(api_key_id="apikey_01K")])]),
        "anthropic/organizations/analytics/usage.json": report([
            analytics_item("2026-03-01", 7, api_key_id="apikey_01K", model="claude-sonnet-4-20250514",
                           actor={"type": "user_actor", "user_id": "user_dev", "email_address": "dev@example.com",
                                  "name": "Dev", "deleted": False}),
            analytics_item("2026-03-02", 3, model="claude-sonnet-4-20250514",
                           actor={"type": "service_account_actor", "service_account_id": "svcacct_01Etl"}),
            analytics_item("2026-03-02", 2, model="claude-sonnet-4-20250514",
                           actor={"type": "api_actor", "api_key_id": "apikey_01K"})]),
    })
    results = engine.ingest([snap / "anthropic"])
    (res,) = results
    assert any("usage_report/messages.json not added" in w for w in res.warnings)
    usage = engine.store.usage()
    assert sum(u.requests for u in usage) == 12 and len(usage) == 3
    assert all(u.properties.get("requests_known") is not False for u in usage)
    row = spend_by(engine, "credential")["anthropic:api_key:apikey_01K"]
    assert row.requests == 9 and row.requests_known is True and row.requests_unknown_rows == 0
    assert row.input_tokens == 2 * 2150
    assert {u.account_id for u in usage} == {"anthropic:user:user_dev", "anthropic:service_account:svcacct_01Etl",
                                             None}


def test_analytics_usage_bad_shape_names_the_file(tmp_path):
    from ingest import anthropic
    from ingest.errors import IngestError
    snap = write(tmp_path / "s", {"anthropic/organizations/analytics/usage.json": report([{"group": {}}])})
    with pytest.raises(IngestError, match="analytics/usage.json.*starting_at"):
        anthropic.ingest(snap / "anthropic")


# --- LiteLLM -------------------------------------------------------------------------
TOKEN = "a" * 64


def spend_log(request_id, end_user, day="2026-03-03", spend_usd=0.25):
    return {"request_id": request_id, "call_type": "acompletion", "api_key": TOKEN, "spend": spend_usd,
            "total_tokens": 300, "prompt_tokens": 200, "completion_tokens": 100,
            "startTime": f"{day}T10:00:00.000000Z", "endTime": f"{day}T10:00:02.000000Z",
            "model": "gpt-4o", "model_group": "gpt-4o", "user": "u-owner", "team_id": "",
            "end_user": end_user, "metadata": {}, "cache_hit": "False", "request_tags": []}


def litellm_snapshot(root: Path, logs: list) -> Path:
    return write(root, {
        "litellm/key/list.json": {"keys": [{"token": TOKEN, "key_name": "sk-...QxZ9", "key_alias": "shared-bot",
                                            "user_id": "u-owner", "team_id": None, "spend": 1.0,
                                            "created_at": "2026-01-02T00:00:00Z", "expires": None,
                                            "blocked": None}], "total_count": 1, "current_page": 1,
                                  "total_pages": 1},
        "litellm/user/list.json": {"users": [{"user_id": "u-owner", "user_email": "olga@example.com",
                                              "user_role": "internal_user", "teams": []}]},
        "litellm/spend/logs.json": logs,
        "inventory/people.yaml": "people:\n  - email: bob@example.com\n    aliases: {litellm: [bob-laptop]}\n",
    })


def test_litellm_end_user_is_the_caller_and_a_key_two_people_call_is_over_shared(engine, tmp_path):
    snap = litellm_snapshot(tmp_path / "s", [spend_log("r1", "alice@example.com"),
                                             spend_log("r2", "bob-laptop"), spend_log("r3", "bob-laptop"),
                                             spend_log("r4", "")])
    engine.ingest([snap / "litellm", snap / "inventory"])
    key = f"litellm:key:{TOKEN}"
    shared = [f for f in findings(engine, rule="over-shared-credential") if f.subject_id == key]
    assert shared and {"person:alice@example.com", "person:bob@example.com"} <= set(shared[0].evidence["people"])
    row = spend_by(engine, "credential")[key]
    callers = {c["caller"]: c for c in row.callers}
    assert callers["litellm:user:alice@example.com"]["person"] == "person:alice@example.com"
    assert callers["litellm:user:bob-laptop"]["person"] == "person:bob@example.com"
    assert callers["litellm:user:bob-laptop"]["requests"] == 2
    assert callers["litellm:user:bob-laptop"]["usd"] == pytest.approx(0.5)
    assert callers["litellm:user:u-owner"]["requests"] == 1          # no end_user: the owner called
    # attribution stays the owner rule: all of it is the key owner's
    assert spend_by(engine, "person")["person:olga@example.com"].usd == pytest.approx(1.0)
    got = execute(engine, "{ spend(groupBy: \"credential\") { key callers { caller person usd requests } } }")
    assert not got.get("errors")
    (r,) = got["data"]["spend"]
    assert {c["person"] for c in r["callers"]} == {"person:alice@example.com", "person:bob@example.com",
                                                   "person:olga@example.com"}
    other = execute(engine, "{ spend(groupBy: \"person\") { key callers { caller } } }")
    assert all(x["callers"] is None for x in other["data"]["spend"])


def test_litellm_key_called_only_by_its_owner_is_not_over_shared(engine, tmp_path):
    snap = litellm_snapshot(tmp_path / "s", [spend_log("r1", "olga@example.com"), spend_log("r2", ""),
                                             spend_log("r3", "u-owner")])
    engine.ingest([snap / "litellm", snap / "inventory"])
    assert not [f for f in findings(engine, rule="over-shared-credential")]


# --- unpriced models -----------------------------------------------------------------
def test_unpriced_model_is_never_a_silent_zero(engine, tmp_path):
    snap = write(tmp_path / "s", {
        "anthropic/organizations/users.json": ANTHROPIC_USERS,
        "anthropic/organizations/api_keys.json": KEYS,
        "anthropic/organizations/usage_report/messages.json": report([
            bucket("2026-03-01", [msg_row("claude-imaginary-9", api_key_id="apikey_01K"),
                                  msg_row("claude-imaginary-9", account_id="user_dev")]),
            bucket("2026-03-02", [msg_row("claude-imaginary-9", api_key_id="apikey_01K"),
                                  msg_row(api_key_id="apikey_01K")])]),
    })
    (res,) = engine.ingest([snap / "anthropic"])
    said = [w for w in res.warnings if "no price for model" in w]
    assert len(said) == 1 and "claude-imaginary-9" in said[0]
    row = spend_by(engine, "credential")["anthropic:api_key:apikey_01K"]
    assert row.unpriced_models == ["claude-imaginary-9"] and row.unpriced_tokens == 2 * 1500
    assert row.usd > 0      # the priced model's part only
    got = execute(engine, "{ spend(groupBy: \"model\") { key usd unpricedTokens unpricedModels } }")
    imaginary = next(r for r in got["data"]["spend"] if r["key"] == "claude-imaginary-9")
    assert imaginary["usd"] == 0 and imaginary["unpricedTokens"] == 3 * 1500
    assert imaginary["unpricedModels"] == ["claude-imaginary-9"]
    # findings evidence says unpriced (shadow-ai: usage no approved tool claims)
    shadow = [f for f in findings(engine, rule="shadow-ai") if f.subject_id == "anthropic:api_key:apikey_01K"]
    assert shadow
    ev = shadow[0].evidence
    assert ev["usage"]["price"] == "unpriced" and ev["usage"]["unpriced_models"] == ["claude-imaginary-9"]
    assert any(r.get("price") == "unpriced" for r in ev["usage_rows"])
    assert all("price" not in r for r in ev["usage_rows"] if r["model"] != "claude-imaginary-9")
    assert "unpriced" in ev["summary"]


def test_priced_models_say_nothing_unpriced(engine, tmp_path):
    snap = write(tmp_path / "s", {
        "anthropic/organizations/api_keys.json": KEYS,
        "anthropic/organizations/usage_report/messages.json": report([
            bucket("2026-03-01", [msg_row(api_key_id="apikey_01K")])]),
        "inventory/prices.yaml": "prices:\n  claude-imaginary-9: {input: 1, output: 2}\n",
    })
    (res,) = engine.ingest([snap / "anthropic"])
    assert not [w for w in res.warnings if "no price" in w]
    row = spend_by(engine, "credential")["anthropic:api_key:apikey_01K"]
    assert row.unpriced_models == [] and row.unpriced_tokens == 0
    shadow = [f for f in findings(engine, rule="shadow-ai")]
    assert shadow and "price" not in shadow[0].evidence["usage"]
    assert "unpriced" not in shadow[0].evidence["summary"]
    # a model an inventory prices (loaded before) is not warned about
    engine.ingest([snap / "inventory"])
    later = write(tmp_path / "t", {"anthropic/organizations/usage_report/messages.json": report([
        bucket("2026-03-04", [msg_row("claude-imaginary-9", api_key_id="apikey_01K")])])})
    results = engine.ingest([later / "anthropic" / "organizations" / "usage_report" / "messages.json"])
    assert not [w for r in results for w in r.warnings if "no price" in w]


# --- placeholders and unknown status -------------------------------------------------
def test_referenced_only_ids_are_placeholders_not_findings(engine, tmp_path):
    sp = {"id": "sp-listed", "appId": "app-listed", "displayName": "Listed App", "accountEnabled": True,
          "servicePrincipalType": "Application", "appRoles": []}
    snap = write(tmp_path / "s", {
        "msgraph/v1.0/servicePrincipals.json": {"value": [sp]},
        "msgraph/v1.0/oauth2PermissionGrants.json": {"value": [
            {"id": "grant-1", "clientId": "sp-not-listed", "consentType": "Principal", "principalId": "u-not-listed",
             "resourceId": "sp-listed", "scope": "Mail.Read offline_access"}]},
        "msgraph/v1.0/groups/g1/members.json": {"value": [
            {"@odata.type": "#microsoft.graph.user", "id": "u-member-only"}]},
    })
    engine.ingest([snap / "msgraph"])
    subjects = {f.subject_id for f in findings(engine)}
    for placeholder in ("msgraph:service_principal:sp-not-listed", "msgraph:user:u-not-listed",
                        "msgraph:user:u-member-only", "msgraph:group:g1"):
        assert placeholder not in subjects, placeholder
    # the listed service principal, owned by no one, still is orphaned
    assert "msgraph:service_principal:sp-listed" in {
        f.subject_id for f in findings(engine, rule="orphaned-identity")}


def test_graph_user_without_account_enabled_is_unknown_on_both_stores(engine, tmp_path):
    snap = write(tmp_path / "s", {"msgraph/v1.0/users.json": {"value": [
        {"id": "u1", "displayName": "Ana", "userPrincipalName": "ana@example.com", "mail": "ana@example.com",
         "extension_0f1e2d3c4b5a69788796a5b4c3d2e1f0_badge": "B-7"}]}})
    (res,) = engine.ingest([snap / "msgraph"])
    assert any("accountEnabled" in w for w in res.warnings)
    got = execute(engine, '{ node(id: "msgraph:user:u1") { active properties } '
                          'person: node(id: "person:ana@example.com") { active properties } }')
    assert not got.get("errors")
    assert got["data"]["node"]["active"] is None
    props = got["data"]["node"]["properties"]
    assert props["status"] == "unknown" and props["extension_0f1e2d3c4b5a69788796a5b4c3d2e1f0_badge"] == "B-7"
    assert got["data"]["person"]["properties"]["status"] == "unverified"
    assert got["data"]["person"]["active"] is False
