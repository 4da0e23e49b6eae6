"""The demo's identity story end to end (real SQLite, whole demo loaded): the departed
engineer, the leaked keys and the near miss, the grants."""
from __future__ import annotations

from engine.derive import parse_ts
from engine.ids import source_of

BEN = "person:ben@example.com"
LEFT = parse_ts("2026-10-20T00:00:00Z")


def _out(eng, nid, kind):
    return {e.dst: e.properties for e in eng.graph().out_edges(nid, {kind})}


def _in(eng, nid, kind):
    return {e.src: e.properties for e in eng.graph().in_edges(nid, {kind})}


def test_departed_engineer_is_inactive_with_accounts_across_sources(demo_engine):
    ben = demo_engine.node(BEN)
    assert ben.properties["status"] == "inactive" and ben.active is False
    assert ben.properties["deactivated_at"].startswith("2026-10-20")
    accounts = _out(demo_engine, BEN, "HAS_ACCOUNT")
    sources = {source_of(a) for a in accounts}
    assert {"okta", "msgraph", "google", "scim", "github"} <= sources
    for a in accounts:
        if source_of(a) in {"okta", "msgraph", "google", "scim"}:
            assert demo_engine.node(a).active is False, a
    # still a GitHub member holding an active PAT, while the Copilot seat went quiet
    assert "github:user:bokafor" in accounts
    assert "github:org:northwind" in _out(demo_engine, "github:user:bokafor", "MEMBER_OF")
    pat = demo_engine.node("github:pat:2001")
    assert pat.active is True and "github:user:bokafor" in _in(demo_engine, pat.id, "OWNS")
    seat = _out(demo_engine, BEN, "USES")["github:copilot"]
    assert parse_ts(seat["last_activity_at"]) < LEFT


def test_people_status_follow_identity_providers(demo_engine):
    assert demo_engine.node("person:ana@example.com").properties["status"] == "active"
    assert demo_engine.node("person:carla@example.com").properties["status"] == "active"
    assert demo_engine.node("person:omar@contractor.example.net").properties["status"] == "unverified"


def test_leaked_keys_linked_to_their_exposures_and_near_miss_unmatched(demo_engine):
    leaks = _out(demo_engine, "anthropic:api_key:apikey_01DataAgent", "EXPOSED_IN")
    assert len(leaks) == 1
    (finding, props), = leaks.items()
    assert props["match"] == "prefix+last4"
    f = demo_engine.node(finding).properties
    assert f["repository"] == "northwind/data-agent" and f["date"].startswith("2026-11-08")
    near = [v for v in demo_engine.nodes("SecretExposure", 0, 50)[0] if v.properties.get("last4") == "Xk9R"]
    assert len(near) == 1 and _in(demo_engine, near[0].id, "EXPOSED_IN") == {}
    aws = _out(demo_engine, "aws:access_key:ci-bot:1", "EXPOSED_IN")
    (tf, tprops), = aws.items()
    assert tf.startswith("trufflehog:finding:") and tprops["match"] == "key_id" and tprops["verified"] is True
    assert demo_engine.node(tf).properties["repository"] == "northwind/infra"


def test_over_privileged_grants_of_the_story(demo_engine):
    carla_token = "google:token:110000000000000000005:804215331127-mailpilotai.apps.googleusercontent.com"
    assert "https://mail.google.com/" in demo_engine.node(carla_token).properties["scopes"]
    entra = demo_engine.node("msgraph:oauth2_grant:Lq7-notely-li-grant-0001")
    assert "Mail.Read" in entra.properties["scopes"] and entra.properties["consent_type"] == "Principal"
    li_accounts = _out(demo_engine, "person:li@example.com", "HAS_ACCOUNT")
    consenting = set(_in(demo_engine, entra.id, "CONSENTED"))
    assert consenting and consenting <= set(li_accounts)
    assert "okta:grant:oag1driftlyapi000001" in _out(demo_engine, "okta:app:0oadriftly", "HOLDS")


def test_nothing_stamped_after_the_snapshot(demo_engine):
    assert demo_engine.as_of <= parse_ts("2026-11-14T23:00:00Z")
