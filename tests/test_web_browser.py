"""The web views at / in a real browser (Debian's chromium driven by playwright, as
tests/test_graphiql_browser.py launches it), against a real server on the demo org.

Every view loads with no console error and nothing fetched from off the machine; the
blast-radius picture shows the demo's second-order chain (read from the rendered SVG
and the picture's model); search finds a key by its last four; the findings filters
narrow the table to what the API answers for the same filters; tokens are sent as
the user's Authorization header. Screenshots go to out/screenshots/ (git-ignored),
and the blast-radius one also to docs/img/blast-radius.png for the README.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from api.auth import TokenStore
from api.web import SCRIPTS, STYLES
from engine.service import Engine
from tests.conftest import ROOT, gql_data
from tests.test_graphiql_browser import browser, chromium, demo_copy, serving  # noqa: F401 - fixtures

SHOTS = ROOT / "out" / "screenshots"
README_SHOT = ROOT / "docs" / "img" / "blast-radius.png"

# Story 1 of fixtures/demo/STORY.md: the chat tool -> Salesforce -> CRM records, which
# store the CI bot's AWS key -> the CI bot -> admin on the warehouse.
CHAIN = ["tool:drift-chat", "saas:salesforce", "data:crm-records", "aws:access_key:ci-bot:1",
         "aws:iam_user:ci-bot", "data:warehouse"]
LEAKED = "anthropic:api_key:apikey_01DataAgent"   # hint sk-ant-api03-R2D...Xk9Q

VIEWS = {
    "search": "#/search?q=Xk9Q",
    "blast": "#/blast/" + quote("tool:drift-chat", safe=""),
    "reverse": "#/blast/" + quote("data:warehouse", safe="") + "?reverse=1",
    "findings": "#/findings?severity=critical",
    "spend": "#/spend?by=team",
    "trace": "#/trace/" + quote(LEAKED, safe=""),
    "risk": "#/risk",
}


def open_view(s, url: str, fragment: str) -> None:
    s.page.goto(f"{url}/{fragment}")
    wait_ready(s)


def wait_ready(s) -> None:
    s.page.wait_for_selector("main[aria-busy=false]", timeout=60_000)


def shot(s, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"web-{name}.png"
    s.page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def served(demo_copy, chromium, tmp_path):  # noqa: F811 - pytest fixtures
    with serving(demo_copy) as srv, browser(chromium, tmp_path) as s:
        s.page.set_viewport_size({"width": 1500, "height": 900})
        yield srv, s


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_each_view_loads_clean_and_offline(served, view):
    srv, s = served
    resp = s.page.goto(srv.url + "/")
    assert resp.status == 200
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
    open_view(s, srv.url, VIEWS[view])
    assert s.page.get_attribute("main", "data-ready") == ("blast" if view == "reverse" else view)
    assert s.page.text_content("#status").strip() == "", s.page.text_content("#status")
    assert s.page.locator("h2#view-title").count() == 1
    shot(s, view)
    s.assert_offline_and_clean(srv)
    assert any(urlsplit(r.url).path == "/graphql" and r.method == "POST" for r in s.requests)


def test_blast_radius_shows_the_second_order_chain(served):
    srv, s = served
    open_view(s, srv.url, VIEWS["blast"])
    svg = s.page.locator("#picture svg.picture")
    assert svg.count() == 1
    # The rendered picture: each node of the chain drawn, on a second-order path, in
    # its layer; the warehouse reached at depth 5, with admin access.
    for depth, node_id in enumerate(CHAIN):
        node = s.page.locator(f'#picture g.node[data-id="{node_id}"]')
        assert node.count() == 1, node_id
        assert node.get_attribute("data-depth") == str(depth)
        assert "second-order" in node.get_attribute("class").split(), node_id
    warehouse = s.page.locator('#picture g.node[data-id="data:warehouse"]')
    assert warehouse.get_attribute("data-access") == "admin"
    assert warehouse.get_attribute("data-second-order") == "true"
    assert "sens-restricted" in warehouse.get_attribute("class")
    # Each hop of the chain is a drawn, highlighted edge; the stored secret's is marked.
    for a, b in zip(CHAIN, CHAIN[1:]):
        edge = s.page.locator(f'#picture g.edge[data-from="{a}"][data-to="{b}"]')
        assert edge.count() == 1, (a, b)
        assert "second-order" in edge.get_attribute("class"), (a, b)
    secret = s.page.locator('#picture g.edge.stored-secret')
    assert secret.count() == 1
    assert secret.get_attribute("data-from") == "data:crm-records"
    assert secret.get_attribute("data-to") == "aws:access_key:ci-bot:1"
    # Nodes off the chain are not highlighted (the Okta app the tool holds).
    okta = s.page.locator('#picture g.node[data-id="okta:app:0oadriftly"]')
    assert okta.count() == 1 and "second-order" not in okta.get_attribute("class").split()
    # The picture's model agrees with the API's answer.
    model_path = s.page.evaluate("() => window.Burnpath.lastPicture.nodes['data:warehouse'].path")
    api = gql_data(srv.graphql('{ blastRadius(id: "tool:drift-chat") { reachable { id path } } }'))
    assert model_path == next(r["path"] for r in api["blastRadius"]["reachable"] if r["id"] == "data:warehouse")
    # Hover: the evidence path of the node, and of an edge in its tooltip.
    warehouse.hover()
    details = s.page.text_content("#picture-details")
    assert "evidence path" in details and "STORES_SECRET" in details and "aws:access_key:ci-bot:1" in details
    edge_title = s.page.locator('#picture g.edge.stored-secret title').text_content()
    assert "STORES_SECRET" in edge_title and "evidence" in edge_title
    # Counts per kind beside the picture.
    assert s.page.text_content('#picture-counts li[data-kind="DataSource"]') == "DataSource: 2"
    README_SHOT.parent.mkdir(parents=True, exist_ok=True)
    s.page.set_viewport_size({"width": 1840, "height": 900})
    s.page.evaluate("() => { document.querySelector('.picture-wrap').scrollLeft = 0; window.scrollTo(0, 0); }")
    s.page.mouse.move(1, 1)
    warehouse.dispatch_event("mouseenter")   # its evidence path in the panel, without scrolling to it
    s.page.locator(".picture-area").screenshot(path=str(README_SHOT))
    shot(s, "blast-chain")
    s.assert_offline_and_clean(srv)


def test_keyboard_recentres_and_toggles_who_can_reach(served):
    srv, s = served
    open_view(s, srv.url, VIEWS["blast"])
    node = s.page.locator('#picture g.node[data-id="aws:iam_user:ci-bot"]')
    node.focus()
    assert s.page.text_content("#picture-details").startswith("ServiceAccount aws:iam_user:ci-bot")
    s.page.keyboard.press("Enter")
    s.page.wait_for_function("() => location.hash.includes('ci-bot') && "
                             "document.querySelector('main').getAttribute('aria-busy') === 'false' && "
                             "document.querySelector('#picture g.node.source')")
    assert s.page.get_attribute("#picture g.node.source", "data-id") == "aws:iam_user:ci-bot"
    s.page.check("#blast-reverse")
    s.page.wait_for_function("() => location.hash.includes('reverse=1') && "
                             "document.querySelector('main').getAttribute('aria-busy') === 'false' && "
                             "document.querySelector('#picture svg')")
    reachers = set(s.page.eval_on_selector_all("#picture g.node", "els => els.map(e => e.dataset.id)"))
    api = gql_data(srv.graphql('{ whoCanReach(id: "aws:iam_user:ci-bot") { id } }'))
    assert {r["id"] for r in api["whoCanReach"]} | {"aws:iam_user:ci-bot"} == reachers
    # In reverse, the chain runs into the target: the CRM records reach it through the stored key.
    crm = s.page.locator('#picture g.node[data-id="data:crm-records"]')
    assert crm.get_attribute("data-second-order") == "true"
    s.assert_offline_and_clean(srv)


def test_long_tail_collapses_into_counted_groups_and_expands(served):
    """Thousands of reaches stay readable: the picture module, in the browser, on a
    generated reach list (300 credentials at depth 2 under 40 accounts)."""
    srv, s = served
    open_view(s, srv.url, "#/search")
    counts = s.page.evaluate("""() => {
      const reaches = [];
      for (let a = 0; a < 40; a++) {
        reaches.push({id: 'acct:' + a, kind: 'Account', depth: 1, access: 'admin', path: ['src', 'acct:' + a], pathEdges: ['HAS_ACCOUNT']});
      }
      for (let c = 0; c < 300; c++) {
        const a = 'acct:' + (c % 40);
        reaches.push({id: 'cred:' + c, kind: 'Credential', depth: 2, access: 'read', path: ['src', a, 'cred:' + c], pathEdges: ['HAS_ACCOUNT', 'OWNS']});
      }
      const model = Burnpath.picture.buildModel({id: 'src', kind: 'Person', name: 'src'}, reaches, {});
      const host = document.createElement('div');
      host.id = 'test-picture';
      document.querySelector('main').appendChild(host);
      Burnpath.picture.render(host, model, {});
      return Array.from(host.querySelectorAll('g.node')).map(g => [g.dataset.id, g.dataset.count || null]);
    }""")
    groups = {i: c for i, c in counts if i.startswith("group:")}
    limit = s.page.evaluate("() => Burnpath.picture.GROUP_LIMIT")
    assert groups == {"group:1|Account": str(40 - limit), "group:2|Credential": str(300 - limit)}
    assert len(counts) == 1 + 2 * limit + 2
    s.page.locator('#test-picture g.node[data-id="group:2|Credential"]').click()
    shown = s.page.eval_on_selector_all("#test-picture g.node", "els => els.map(e => e.dataset.id)")
    creds = [i for i in shown if i.startswith("cred:")]
    assert len(creds) == 200 and "group:2|Credential" in shown   # expanded to 200, the rest counted again
    assert s.page.get_attribute('#test-picture g.node[data-id="group:2|Credential"]', "data-count") == "100"


def test_search_finds_a_key_by_its_last_four(served):
    srv, s = served
    open_view(s, srv.url, "#/search")
    s.page.fill("#search-q", "xK9q")          # any case
    s.page.click("form[role=search] button")
    s.page.wait_for_selector("#search-results tr[data-id]")
    wait_ready(s)
    ids = s.page.eval_on_selector_all("#search-results tr[data-id]", "els => els.map(e => e.dataset.id)")
    assert LEAKED in ids
    # The near-miss finding (...Xk9R) is not a match for ...Xk9Q, and vice versa.
    assert all("Xk9R" not in i for i in ids)
    s.page.click(f'#search-results tr[data-id="{LEAKED}"] a.node-link')
    s.page.wait_for_selector(f'#picture g.node.source[data-id="{LEAKED}"]')
    s.assert_offline_and_clean(srv)


def test_findings_filters_narrow_the_table(served):
    srv, s = served
    open_view(s, srv.url, "#/findings")
    total = gql_data(srv.graphql("{ findings { totalCount } }"))["findings"]["totalCount"]
    assert s.page.text_content("#findings-count") == f"{total} findings"

    def choose(select: str, value: str, in_hash: str) -> list[dict]:
        """Pick a filter value; the rows once the view has reloaded for it."""
        s.page.select_option(select, value)
        s.page.wait_for_function(f"() => location.hash.includes({in_hash!r}) === {'true' if value else 'false'}")
        wait_ready(s)
        return s.page.eval_on_selector_all("#findings-table tbody tr", "els => els.map(e => ({...e.dataset}))")

    rows = choose("#f-severity", "critical", "severity=critical")
    want = gql_data(srv.graphql('{ findings(severity: "critical") { totalCount nodes { id } } }'))["findings"]
    assert rows and {r["severity"] for r in rows} == {"critical"} and len(rows) == want["totalCount"] < total
    choose("#f-severity", "", "severity=")
    rows = choose("#f-rule", "leaked-credential", "rule=leaked-credential")
    assert [r["rule"] for r in rows] == ["leaked-credential", "leaked-credential"]
    choose("#f-rule", "", "rule=")
    rows = choose("#f-framework", "OWASP-NHI9", "framework=OWASP-NHI9")
    assert [r["rule"] for r in rows] == ["over-shared-credential"]
    choose("#f-framework", "", "framework=")
    choose("#f-team", "team:support", "team=team")
    subjects = s.page.eval_on_selector_all("#findings-table tbody tr td:nth-child(4) a",
                                           "els => els.map(e => decodeURIComponent(e.hash.split('/')[2]))")
    want = gql_data(srv.graphql('{ findings(team: "team:support") { nodes { subject { id } teams } } }'))
    assert subjects == [f["subject"]["id"] for f in want["findings"]["nodes"]]
    assert subjects and all("team:support" in f["teams"] for f in want["findings"]["nodes"])
    assert LEAKED not in subjects    # the leaked key is the data platform team's
    # Each row links to its subject's picture.
    s.page.locator("#findings-table tbody tr td:nth-child(4) a").first.click()
    s.page.wait_for_selector("#picture g.node.source")
    assert s.page.get_attribute("#picture g.node.source", "data-id") == subjects[0]
    s.assert_offline_and_clean(srv)


def test_spend_view_stacks_days_marks_anomalies_and_unpriced(served):
    srv, s = served
    open_view(s, srv.url, VIEWS["spend"])
    days = s.page.eval_on_selector_all("#spend-chart g.bar", "els => els.map(e => e.dataset.day)")
    api = gql_data(srv.graphql('{ spendDaily(groupBy: "team") { day usd unpricedRequests } }'))["spendDaily"]
    assert days == sorted({r["day"] for r in api})
    anomalous = s.page.eval_on_selector_all("#spend-chart path.anomaly", "els => els.map(e => e.dataset.day)")
    assert anomalous[:1] == ["2026-11-08"] and "2026-11-10" in anomalous   # the leak, the spike
    unpriced_days = {r["day"] for r in api if r["unpricedRequests"]}
    assert s.page.locator("#spend-chart circle.unpriced-dot").count() == len(unpriced_days) > 0
    assert s.page.locator("tr.unpriced").count() >= 1
    s.assert_offline_and_clean(srv)


def test_trace_shows_timeline_and_checklist_beside_the_picture(served):
    srv, s = served
    open_view(s, srv.url, VIEWS["trace"])
    steps = s.page.locator("#trace-plan li")
    api = gql_data(srv.graphql('{ traceCompromise(id: "%s") { revocationPlan { order action target } } }' % LEAKED))
    plan = api["traceCompromise"]["revocationPlan"]
    assert steps.count() == len(plan) > 0
    first = s.page.locator("#trace-plan input[type=checkbox]").first
    label = s.page.locator(f'label[for="{first.get_attribute("id")}"]').text_content()
    assert plan[0]["action"] in label and plan[0]["target"] in label
    first.check()
    s.page.reload()
    wait_ready(s)
    assert s.page.locator("#trace-plan input[type=checkbox]").first.is_checked()   # kept for the tab
    assert s.page.locator("#trace-timeline li").count() >= 2
    assert "exposed" in s.page.text_content("#trace-timeline") or "exposure" in s.page.text_content("#trace-timeline")
    assert s.page.locator(f'#picture g.node.source[data-id="{LEAKED}"]').count() == 1
    s.assert_offline_and_clean(srv)


def test_risk_view_lists_scores_with_their_factors(served):
    srv, s = served
    open_view(s, srv.url, VIEWS["risk"])
    scores = [float(x) for x in s.page.eval_on_selector_all("td.score", "els => els.map(e => e.textContent)")]
    assert scores and scores == sorted(scores, reverse=True)
    top = s.page.get_attribute("tbody tr[data-id]", "data-id")
    api = gql_data(srv.graphql('{ node(id: "%s") { risk { score reasons } } }' % top))["node"]["risk"]
    assert scores[0] == api["score"]
    assert s.page.locator("tbody tr[data-id] .factors li").first.text_content().strip() != ""
    s.assert_offline_and_clean(srv)


def test_token_goes_in_the_authorization_header_and_stays_in_the_tab(demo_copy, chromium, tmp_path):  # noqa: F811
    eng = Engine.open(str(demo_copy))
    _, token = TokenStore(eng.store).create("reader", name="web test")
    eng.close()
    with serving(demo_copy) as srv, browser(chromium, tmp_path) as s:
        resp = s.page.goto(srv.url + "/" + VIEWS["search"])
        assert token not in resp.text()
        wait_ready(s)
        assert "API token" in s.page.text_content("#status")   # the 401, said plainly
        s.page.fill("#token", token)
        s.page.click("#token-form button")
        s.page.wait_for_selector("#search-results tr[data-id]")
        posts = [r for r in s.requests if r.method == "POST" and urlsplit(r.url).path == "/graphql"]
        assert posts[-1].headers.get("authorization") == f"Bearer {token}"
        assert s.page.evaluate("() => sessionStorage.getItem('burnpath.token')") == token
        assert token not in s.page.evaluate("() => JSON.stringify(Object.assign({}, localStorage))")


# --- HTTP level (no browser) -----------------------------------------------------

def test_page_and_assets_are_local_and_need_no_token(demo_copy):  # noqa: F811
    eng = Engine.open(str(demo_copy))
    TokenStore(eng.store).create("admin")
    eng.close()
    with serving(demo_copy) as srv:
        page = httpx.get(srv.url + "/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert not re.search(r"(?i)https?:|//[a-z]|cdn", html)
        assert "<script>" not in html and "style=" not in html
        refs = {r.split("?")[0] for r in re.findall(r'(?:src|href)="([^"]+)"', html)}
        assert {f"web/static/{n}" for n in SCRIPTS + STYLES} <= refs
        for name in SCRIPTS + STYLES:
            asset = httpx.get(f"{srv.url}/web/static/{name}")
            assert asset.status_code == 200 and "max-age" in asset.headers["cache-control"]
            assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", asset.text), name
        for name in ("README.md", "..%2Fweb.py", "client.js.map", ""):
            assert httpx.get(f"{srv.url}/web/static/{name}").status_code == 404
        assert srv.graphql("{ nodes { totalCount } }").status_code == 401   # data still needs a token
