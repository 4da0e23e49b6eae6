"""`burnpath collect okta|msgraph|google|github` against real HTTP servers on loopback
that replay documented pages: each vendor's pagination, a 429 with Retry-After, the
token only in the Authorization header, and output that `burnpath ingest` reads back."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest

from ingest.collect import CollectError
from ingest.collect import github as gh_collect
from ingest.collect import google as google_collect
from ingest.collect import msgraph as graph_collect
from ingest.collect import okta as okta_collect
from tests.conftest import LiveServer
from tests.identity_snap import load

TOKEN = "test-token-must-never-be-written-7f3a9c"


class Replay:
    """An ASGI app replaying `pages[path]` (a list of bodies), paged in the vendor's
    style: `link` (Link header, cursor param), `odata` (@odata.nextLink) or `token`
    (nextPageToken). `throttle` paths answer 429 + Retry-After once."""

    def __init__(self, style: str, pages: dict[str, list], throttle=(), cursor: str = "after",
                 missing=(), next_origin: str | None = None, deny=None):
        self.style, self.pages, self.cursor = style, pages, cursor
        self.throttle, self.missing = set(throttle), set(missing)
        self.next_origin = next_origin
        self.deny = deny  # (path, query) -> True to answer 403
        self.requests: list[tuple[str, dict, str]] = []
        self.url = ""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        query = dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append((path, query, headers.get("authorization", "")))
        if path in self.throttle:
            self.throttle.discard(path)
            return await self._send(send, 429, {"message": "slow down"}, {"retry-after": "1"})
        if self.deny and self.deny(path, query):
            return await self._send(send, 403, {"error": {"code": "Authorization_RequestDenied"}})
        if path in self.missing:
            return await self._send(send, 404, {"message": "Not Found"})
        key = path + ("?search" if "search" in query else "")
        if key not in self.pages:
            return await self._send(send, 404, {"message": f"no such path {key}"})
        if self.style == "odata":
            n = int(query.get("$skiptoken", 0))
        elif self.style == "token":
            n = int(query.get("pageToken", 0))
        else:
            n = int(query.get(self.cursor, 0))
        pages = self.pages[key]
        body = pages[n] if pages else []
        extra: dict[str, str] = {}
        more = n + 1 < len(pages)
        origin = self.next_origin or self.url
        if more and self.style == "link":
            rest = {k: v for k, v in query.items() if k != self.cursor}
            rest[self.cursor] = str(n + 1)
            extra["link"] = f'<{origin}{path}?{urlencode(rest)}>; rel="next", <{origin}{path}>; rel="self"'
        elif more and self.style == "odata":
            body = {**body, "@odata.nextLink": f"{origin}{path}?$skiptoken={n + 1}"}
        elif more and self.style == "token":
            body = {**body, "nextPageToken": str(n + 1)}
        await self._send(send, 200, body, extra)

    async def _send(self, send, status, body, headers=None):
        data = json.dumps(body).encode()
        hdrs = [(b"content-type", b"application/json")]
        hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": data})


def serve(app: Replay):
    server = LiveServer(app)
    app.url = server.url
    return server


def args(url, org=None):
    return argparse.Namespace(base_url=url, org=org, max_retries=3)


def no_token_written(out: Path) -> None:
    for p in out.rglob("*"):
        if p.is_file():
            assert TOKEN not in p.read_text()


def okta_user(uid, status="ACTIVE", email=None):
    return {"id": uid, "status": status, "statusChanged": "2026-10-20T17:05:00.000Z",
            "profile": {"login": email or f"{uid}@example.com", "email": email or f"{uid}@example.com"}}


def test_okta_collect_pages_by_link_header_and_includes_deprovisioned(tmp_path, db_path, monkeypatch):
    monkeypatch.setenv("OKTA_API_TOKEN", TOKEN)
    app = Replay("link", {
        "/api/v1/users": [[okta_user("u1"), okta_user("u2")], [okta_user("u3")]],
        "/api/v1/users?search": [[okta_user("u9", "DEPROVISIONED", "gone@example.com")]],
        "/api/v1/groups": [[{"id": "g1", "profile": {"name": "Eng"}}]],
        "/api/v1/groups/g1/users": [[okta_user("u1")], [okta_user("u3")]],
        "/api/v1/apps": [[{"id": "0oa1", "label": "App", "status": "ACTIVE"}]],
        "/api/v1/apps/0oa1/users": [[{"id": "u2", "scope": "USER", "status": "ACTIVE"}]],
        **{f"/api/v1/users/{u}/grants": [[]] for u in ("u1", "u2", "u3")},
        "/api/v1/users/u9/grants": [[{"id": "oag1", "clientId": "0oa1", "userId": "u9", "status": "ACTIVE",
                                      "_embedded": {"scope": {"name": "okta.users.read"}}}]],
    }, throttle={"/api/v1/groups"})
    out = tmp_path / "out"
    with serve(app):
        summary = okta_collect.collect(out, args(app.url))
    assert summary["okta/api/v1/users.json"] == 4
    assert summary["okta/api/v1/groups/g1/users.json"] == 2
    assert [r for r in app.requests if r[0] == "/api/v1/groups"].__len__() == 2  # 429, then retried
    assert all(auth == f"SSWS {TOKEN}" for _, _, auth in app.requests)
    assert any(q.get("search") == 'status eq "DEPROVISIONED"' for p, q, _ in app.requests)
    assert any(q.get("expand") == "scope" for p, q, _ in app.requests if p.endswith("/grants"))
    no_token_written(out)
    eng = load(db_path, out / "okta")
    assert eng.node("okta:user:u9").active is False
    assert eng.node("person:gone@example.com").properties["status"] == "inactive"
    assert {e.src for e in eng.graph().in_edges("okta:group:g1", {"MEMBER_OF"})} == {"okta:user:u1", "okta:user:u3"}
    assert eng.node("okta:grant:oag1").properties["scopes"] == ["okta.users.read"]
    eng.close()


def test_msgraph_collect_follows_odata_next_link(tmp_path, db_path, monkeypatch):
    monkeypatch.setenv("MSGRAPH_TOKEN", TOKEN)
    user = lambda i, on=True: {"id": f"u{i}", "mail": f"u{i}@example.com", "accountEnabled": on}  # noqa: E731
    app = Replay("odata", {
        "/v1.0/users": [{"value": [user(1), user(2)]}, {"value": [user(3, False)]}],
        "/v1.0/groups": [{"value": [{"id": "g1", "displayName": "G"}]}],
        "/v1.0/groups/g1/members": [{"value": [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]},
                                    {"value": [{"@odata.type": "#microsoft.graph.group", "id": "g0"}]}],
        "/v1.0/servicePrincipals": [{"value": [{"id": "sp1", "appId": "a1", "displayName": "Bot"}]}],
        "/v1.0/servicePrincipals/sp1/appRoleAssignments": [{"value": []}],
        "/v1.0/oauth2PermissionGrants": [{"value": [{"id": "og1", "clientId": "sp1", "resourceId": "sp1",
                                                     "consentType": "Principal", "principalId": "u2",
                                                     "scope": "Mail.Read"}]}],
    }, throttle={"/v1.0/oauth2PermissionGrants"})
    out = tmp_path / "out"
    with serve(app):
        summary = graph_collect.collect(out, args(app.url))
    assert summary["msgraph/v1.0/users.json"] == 3 and summary["msgraph/v1.0/groups/g1/members.json"] == 2
    users_q = [q for p, q, _ in app.requests if p == "/v1.0/users"][0]
    assert "accountEnabled" in users_q["$select"]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in app.requests)
    no_token_written(out)
    eng = load(db_path, out / "msgraph")
    assert eng.node("msgraph:user:u3").active is False
    assert eng.node("msgraph:oauth2_grant:og1").properties["scopes"] == ["Mail.Read"]
    eng.close()


def test_msgraph_users_retried_without_leave_time_when_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MSGRAPH_TOKEN", TOKEN)
    app = Replay("odata", {"/v1.0/users": [{"value": [{"id": "u1", "accountEnabled": True}]}],
                           "/v1.0/groups": [{"value": []}], "/v1.0/servicePrincipals": [{"value": []}],
                           "/v1.0/oauth2PermissionGrants": [{"value": []}]},
                 deny=lambda path, q: "employeeLeaveDateTime" in q.get("$select", ""))
    with serve(app):
        summary = graph_collect.collect(tmp_path / "out", args(app.url))
    assert summary["msgraph/v1.0/users.json"] == 1
    selects = [q["$select"] for p, q, _ in app.requests if p == "/v1.0/users"]
    assert len(selects) == 2 and "employeeLeaveDateTime" not in selects[1]


def test_google_collect_follows_next_page_token(tmp_path, db_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_ACCESS_TOKEN", TOKEN)
    u = lambda i, s=False: {"id": str(i), "primaryEmail": f"u{i}@example.com", "suspended": s}  # noqa: E731
    base = "/admin/directory/v1"
    app = Replay("token", {
        f"{base}/users": [{"users": [u(1), u(2)]}, {"users": [u(3, True)]}],
        **{f"{base}/users/{i}/tokens": [{"kind": "admin#directory#tokenList", "items": []}] for i in (1, 3)},
        f"{base}/users/2/tokens": [{"items": [{"clientId": "c1.apps.googleusercontent.com", "userKey": "2",
                                               "displayText": "AI Mail", "scopes": ["https://mail.google.com/"]}]}],
        f"{base}/groups": [{"groups": [{"id": "g1", "email": "g@example.com"}]}],
        f"{base}/groups/g1/members": [{"members": [{"id": "1", "type": "USER"}]},
                                      {"members": [{"id": "2", "type": "USER"}]}],
    }, throttle={f"{base}/users/2/tokens"})
    out = tmp_path / "out"
    with serve(app):
        summary = google_collect.collect(out, args(app.url))
    assert summary["google/admin/directory/v1/users.json"] == 3
    assert summary["google/admin/directory/v1/groups/g1/members.json"] == 2
    assert all(q.get("customer") == "my_customer" for p, q, _ in app.requests if p.endswith("/users"))
    no_token_written(out)
    eng = load(db_path, out / "google")
    assert eng.node("google:user:3").active is False
    grant = eng.node("google:token:2:c1.apps.googleusercontent.com")
    assert grant.properties["scopes"] == ["https://mail.google.com/"]
    assert len(eng.graph().in_edges("google:group:g1", {"MEMBER_OF"})) == 2
    eng.close()


def test_github_collect_pages_by_link_and_skips_what_the_org_lacks(tmp_path, db_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    m = lambda login: {"login": login, "id": hash(login) % 1000, "type": "User"}  # noqa: E731
    app = Replay("link", {
        "/orgs/acme/members": [[m("a"), m("b")], [m("c")]],
        "/orgs/acme/teams": [[{"id": 1, "slug": "core", "name": "Core", "parent": None}]],
        "/orgs/acme/teams/core/members": [[m("a")]],
        "/orgs/acme/personal-access-tokens": [[{"id": 7, "owner": m("b"), "token_expired": False,
                                                "permissions": {"repository": {"contents": "read"}},
                                                "access_granted_at": "2026-10-01T00:00:00Z"}]],
        "/orgs/acme/installations": [{"total_count": 1, "installations": [
            {"id": 11, "app_id": 5, "app_slug": "bot", "permissions": {"contents": "write"}}]}],
    }, cursor="page", throttle={"/orgs/acme/members"}, missing={"/orgs/acme/copilot/billing/seats"})
    out = tmp_path / "out"
    with serve(app):
        summary = gh_collect.collect(out, args(app.url, org="acme"))
    assert summary["github/orgs/acme/members.json"] == 3
    assert summary["github/orgs/acme/installations.json"] == 1
    assert "github/orgs/acme/copilot/billing/seats.json" not in summary
    assert "skipped orgs/acme/copilot/billing/seats" in capsys.readouterr().err
    assert all(q.get("per_page") == "100" for _, q, _ in app.requests)
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in app.requests)
    no_token_written(out)
    eng = load(db_path, out / "github")
    assert len(eng.graph().in_edges("github:org:acme", {"MEMBER_OF"})) == 3
    assert eng.node("github:pat:7").properties["created_at"] == "2026-10-01T00:00:00Z"
    eng.close()


def test_next_link_to_another_origin_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    app = Replay("link", {"/orgs/acme/members": [[{"login": "a"}], [{"login": "b"}]]},
                 cursor="page", next_origin="http://127.0.0.2:9")
    with serve(app), pytest.raises(CollectError, match="another origin"):
        gh_collect.collect(tmp_path / "out", args(app.url, org="acme"))
    assert len(app.requests) == 1


def test_missing_token_and_org(tmp_path, monkeypatch):
    for var in ("OKTA_API_TOKEN", "OKTA_DOMAIN", "GITHUB_TOKEN", "GITHUB_ORG"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(CollectError, match="OKTA_API_TOKEN"):
        okta_collect.collect(tmp_path, args(None))
    monkeypatch.setenv("OKTA_API_TOKEN", TOKEN)
    with pytest.raises(CollectError, match="--org"):
        okta_collect.collect(tmp_path, args(None))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with pytest.raises(CollectError, match="--org"):
        gh_collect.collect(tmp_path, args(None))


def test_cli_collect_error_exit_status_hides_token(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MSGRAPH_TOKEN", TOKEN)
    app = Replay("odata", {})  # every path 404s
    from api.cli import main
    with serve(app):
        code = main(["collect", "msgraph", "--out", str(tmp_path / "o"), "--base-url", app.url])
    err = capsys.readouterr().err
    assert code == 1 and "HTTP 404" in err and TOKEN not in err
