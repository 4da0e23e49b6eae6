"""orphaned-identity and departed-owner-still-spending on hand-built graphs."""
from datetime import date

from rules_kit import G, K, N, by_subject


def test_orphaned_identity_resolves_owners_through_sa_project_and_team(db_path):
    g = G(db_path)
    ana = g.person("ana@example.com")
    omar = g.person("omar@contractor.example.net", status="unverified")
    ben = g.person("ben@example.com", status="inactive", deactivated_at="2026-10-20T00:00:00Z")
    # direct owners
    g.edge(ana, K.OWNS, g.cred("openai:api_key:owned"))
    g.edge(ben, K.OWNS, g.cred("openai:api_key:bens"))
    g.edge(omar, K.OWNS, g.tool("tool:contractor"))
    # through the service account it acts as, whose project an active person owns
    g.node("openai:project:p1", N.Project)
    g.edge(ana, K.OWNS, "openai:project:p1")
    g.node("openai:service_account:sa1", N.ServiceAccount)
    g.edge("openai:service_account:sa1", K.MEMBER_OF, "openai:project:p1")
    g.cred("openai:api_key:via_sa")
    g.edge("openai:api_key:via_sa", K.AUTHENTICATES_AS, "openai:service_account:sa1")
    # through its project, whose only owner departed
    g.node("openai:project:p2", N.Project)
    g.edge(ben, K.OWNS, "openai:project:p2")
    g.cred("openai:api_key:in_p2")
    g.edge("openai:api_key:in_p2", K.MEMBER_OF, "openai:project:p2")
    # a team-owned tool: the team's named owner is active
    g.node("team:sales", N.Team)
    g.edge(ana, K.OWNS, "team:sales")
    g.edge("team:sales", K.OWNS, g.tool("tool:team_tool"))
    # a team with no named owner and only a departed member
    g.node("team:ghosts", N.Team)
    g.edge(ben, K.MEMBER_OF, "team:ghosts")
    g.edge("team:ghosts", K.OWNS, g.tool("tool:ghost_tool"))
    # nobody at all
    g.node("aws:iam_user:etl-bot", N.ServiceAccount)
    # Microsoft's first-party service principal is the platform, not an org identity
    g.node("msgraph:service_principal:graph", N.ServiceAccount, name="Microsoft Graph",
           app_owner_organization_id="f8cdef31-a31e-4b4a-93e4-5f571e91255a")
    g.node("msgraph:service_principal:hrsync", N.ServiceAccount, name="HR Sync",
           app_owner_organization_id="7f1e0d2c-3b4a-4596-8877-66554433aa11")
    # inactive ones never fire
    g.edge(ben, K.OWNS, g.cred("openai:api_key:bens_revoked", active=False))
    g.cred("openai:api_key:expired", expires_at="2026-11-01T00:00:00Z")
    eng = g.engine()
    found = by_subject(eng, "orphaned-identity")
    assert set(found) == {"openai:api_key:bens", "tool:contractor", "openai:api_key:in_p2",
                          "tool:ghost_tool", "aws:iam_user:etl-bot", "msgraph:service_principal:hrsync"}
    assert found["tool:contractor"].evidence["owners"][0]["status"] == "unverified"
    assert found["aws:iam_user:etl-bot"].evidence["resolved_owners"] == []
    assert found["openai:api_key:in_p2"].frameworks == ["OWASP-NHI1", "CSF-GV.RR-02"]
    # the service account resolves through its project to ana: not orphaned
    assert "openai:service_account:sa1" not in found
    eng.close()


def test_departed_owner_usage_after_deactivation_only(db_path):
    g = G(db_path)
    ben = g.person("ben@example.com", status="inactive", deactivated_at="2026-10-20T15:00:00Z")
    ana = g.person("ana@example.com")
    quiet = g.person("quiet@example.com", status="inactive", deactivated_at="2026-10-20T00:00:00Z")
    g.edge(ben, K.OWNS, g.cred("openai:api_key:key_ben"))
    g.edge(quiet, K.OWNS, g.cred("openai:api_key:quiet"))
    g.edge(ana, K.OWNS, g.cred("openai:api_key:ana"))
    # ben's key is used as his user account: ownership through AUTHENTICATES_AS
    g.node("openai:user:ben", N.Account, email="ben@example.com")
    g.edge(ben, K.HAS_ACCOUNT, "openai:user:ben")
    g.cred("openai:api_key:user_key")
    g.edge("openai:api_key:user_key", K.AUTHENTICATES_AS, "openai:user:ben")
    for d in range(1, 46):
        day = date(2026, 10, d) if d <= 31 else date(2026, 11, d - 31)
        g.spend("openai:api_key:key_ben", day, 10.0)
        g.spend("openai:api_key:ana", day, 10.0)
        if day <= date(2026, 10, 20):       # stops on the day the owner left
            g.spend("openai:api_key:quiet", day, 10.0)
        if day == date(2026, 11, 1):
            g.spend("openai:api_key:user_key", day, 3.0)
    eng = g.engine()
    found = by_subject(eng, "departed-owner-still-spending")
    assert set(found) == {"openai:api_key:key_ben", "openai:api_key:user_key"}
    ev = found["openai:api_key:key_ben"].evidence
    assert ev["first_day_after"] == "2026-10-21" and ev["last_day_after"] == "2026-11-14"
    assert ev["days_after"] == 25 and ev["usd_after"] == 250.0
    assert ev["deactivated_at"] == "2026-10-20T15:00:00Z"
    assert all(u["day"] > "2026-10-20" for u in ev["usage_after"])
    assert found["openai:api_key:key_ben"].severity == "high"
    eng.close()
