"""overprivileged-oauth-grant and the OAuth half of shadow-ai."""
from rules_kit import G, K, N, by_subject


def _grants(db_path):
    g = G(db_path)
    carla = g.person("carla@example.com")
    g.node("google:user:carla", N.Account)
    g.edge(carla, K.HAS_ACCOUNT, "google:user:carla")
    # Google token (Directory API tokens.list shape: scopes list, clientId, displayText)
    g.node("google:token:carla:123.apps.googleusercontent.com", N.OAuthGrant, active=True,
           scopes=["openid", "https://mail.google.com/", "https://www.googleapis.com/auth/userinfo.email"],
           client_id="123.apps.googleusercontent.com", client_name="Inboxly AI Mail Assistant")
    g.edge("google:user:carla", K.CONSENTED, "google:token:carla:123.apps.googleusercontent.com")
    g.edge("google:token:carla:123.apps.googleusercontent.com", K.GRANTS, "data:mail",
           scopes=["https://mail.google.com/"], access="admin")
    g.node("data:mail", N.DataSource, sensitivity="confidential")
    # Entra delegated grant: space-separated scope string, client is a service principal
    g.node("msgraph:service_principal:sp-otter", N.ServiceAccount, name="Otter.ai",
           homepage="https://otter.ai")
    g.node("msgraph:oauth2_grant:g1", N.OAuthGrant, scope="User.Read Mail.Read offline_access",
           client_id="sp-otter")
    # harmless grants
    g.node("google:token:carla:cal.apps", N.OAuthGrant, scopes=["openid", "email", "profile"],
           client_id="cal.apps", client_name="Calendly")
    g.node("okta:grant:o1", N.OAuthGrant, scopeId="okta.users.read.self", client_name="Driftly Chat")
    # GitHub App installation: a permissions mapping
    g.node("github:installation:9", N.OAuthGrant, permissions={"administration": "write", "metadata": "read"},
           client_name="Release Bot")
    g.node("github:installation:10", N.OAuthGrant, permissions={"contents": "write", "pull_requests": "write"},
           client_name="Docs Bot")
    # an AI vendor's grant that an approved tool claims through its OAuth client
    g.node("google:oauth_client:456.apps", N.OAuthClient, name="ChatGPT connector")
    g.node("google:token:ana:456.apps", N.OAuthGrant, scopes=["https://www.googleapis.com/auth/drive.readonly"],
           client_id="456.apps", client_name="ChatGPT")
    g.edge(g.tool("tool:chatgpt-enterprise"), K.HOLDS, "google:oauth_client:456.apps")
    # an AI vendor's grant held by an unapproved tool
    g.node("google:oauth_client:789.apps", N.OAuthClient, name="Fireflies")
    g.node("google:token:li:789.apps", N.OAuthGrant, scopes=["https://www.googleapis.com/auth/calendar.readonly"],
           client_id="789.apps", client_name="Fireflies.ai Notetaker")
    g.edge(g.tool("tool:fireflies", approved=False), K.HOLDS, "google:oauth_client:789.apps")
    return g


def test_overprivileged_oauth_grant(db_path):
    eng = _grants(db_path).engine()
    found = by_subject(eng, "overprivileged-oauth-grant")
    assert set(found) == {"google:token:carla:123.apps.googleusercontent.com", "msgraph:oauth2_grant:g1",
                          "github:installation:9", "google:token:ana:456.apps"}
    mail = found["google:token:carla:123.apps.googleusercontent.com"]
    assert [s["scope"] for s in mail.evidence["sensitive_scopes"]] == ["https://mail.google.com/"]
    assert mail.evidence["consented_by"] == ["google:user:carla"]
    assert mail.severity == "high"            # an AI vendor's client holding mail
    entra = found["msgraph:oauth2_grant:g1"]
    assert [s["granted"] for s in entra.evidence["sensitive_scopes"]] == ["Mail.Read"]
    assert entra.evidence["client"] == "msgraph:service_principal:sp-otter"
    assert found["github:installation:9"].severity == "medium"
    assert found["github:installation:9"].frameworks == ["OWASP-NHI5", "OWASP-NHI3"]
    eng.close()


def test_shadow_ai_oauth_grants(db_path):
    eng = _grants(db_path).engine()
    found = by_subject(eng, "shadow-ai")
    # the AI mail assistant (name says AI), Otter (its service principal's homepage), and
    # Fireflies (held only by an unapproved tool); ChatGPT is claimed by an approved tool;
    # Calendly, Driftly and the GitHub bots are not AI vendors
    assert set(found) == {"google:token:carla:123.apps.googleusercontent.com", "msgraph:oauth2_grant:g1",
                          "google:token:li:789.apps"}
    assert found["msgraph:oauth2_grant:g1"].evidence["ai_vendor"] == "Otter.ai"
    assert found["google:token:li:789.apps"].evidence["ai_vendor"] == "Fireflies.ai"
    assert found["google:token:carla:123.apps.googleusercontent.com"].severity == "high"  # holds mail
    assert found["google:token:li:789.apps"].severity == "medium"
    eng.close()
