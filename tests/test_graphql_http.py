"""The GraphQL contract over a real HTTP server on loopback."""
import pytest

from api.app import create_app
from engine.service import Engine
from tests.api_helpers import SMALL_ORG as INV
from tests.conftest import LiveServer, write, gql_data as data



@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gql")
    write(tmp / "snap" / "inventory" / "org.yaml", INV)
    eng = Engine.open(str(tmp / "g.db"))
    eng.ingest([tmp / "snap"])
    with LiveServer(create_app(eng)) as srv:
        yield srv
    eng.close()


def test_node_fields(server):
    d = data(server.graphql('{ node(id: "tool:bot") { id kind name active properties owners { id } risk { score reasons } } }'))
    n = d["node"]
    assert n["id"] == "tool:bot" and n["kind"] == "AITool" and n["name"] == "Bot"
    assert n["owners"] == [{"id": "team:t"}]
    assert isinstance(n["properties"], dict) and 0 <= n["risk"]["score"] <= 100


def test_unknown_node_is_null(server):
    assert data(server.graphql('{ node(id: "nope") { id } }')) == {"node": None}


def test_nodes_cursor_pagination_walks_everything_once(server):
    seen, after = [], None
    total = None
    while True:
        d = data(server.graphql("query($a: String) { nodes(first: 3, after: $a) { totalCount "
                                "nodes { id } pageInfo { hasNextPage endCursor } } }", {"a": after}))["nodes"]
        total = d["totalCount"]
        seen += [n["id"] for n in d["nodes"]]
        if not d["pageInfo"]["hasNextPage"]:
            break
        after = d["pageInfo"]["endCursor"]
    assert len(seen) == total == len(set(seen)) and seen == sorted(seen)


def test_nodes_by_kind(server):
    d = data(server.graphql('{ nodes(kind: "DataSource") { totalCount nodes { id } } }'))
    assert d["nodes"]["totalCount"] == 2
    err = server.graphql('{ nodes(kind: "Robot") { totalCount } }').json()["errors"][0]
    assert err["extensions"]["code"] == "BAD_INPUT"


def test_blast_radius_second_order(server):
    d = data(server.graphql('{ blastRadius(id: "tool:bot") { source { id } reachable { node { id } depth access path } '
                            'dataSources { id depth access } saasApps { id } credentials { id } spendExposureUsdPerHour } }'))
    br = d["blastRadius"]
    wh = next(r for r in br["reachable"] if r["node"]["id"] == "data:wh")
    assert wh["path"] == ["tool:bot", "saas:crm", "data:records", "aws:access_key:ci:1", "data:wh"]
    assert wh["depth"] == 4 and wh["access"] == "admin"
    assert {x["id"] for x in br["dataSources"]} == {"data:records", "data:wh"}
    assert [x["id"] for x in br["saasApps"]] == ["saas:crm"]
    assert {x["id"] for x in br["credentials"]} == {"openai:api_key:k1", "aws:access_key:ci:1"}


def test_max_depth_limits(server):
    d = data(server.graphql('{ blastRadius(id: "tool:bot", maxDepth: 2) { reachable { node { id } } } }'))
    assert {r["node"]["id"] for r in d["blastRadius"]["reachable"]} == {"openai:api_key:k1", "saas:crm", "data:records"}


def test_who_can_reach(server):
    d = data(server.graphql('{ whoCanReach(id: "data:wh") { node { id } depth access path } }'))
    by = {r["node"]["id"]: r for r in d["whoCanReach"]}
    assert by["tool:bot"]["path"][0] == "tool:bot" and by["tool:bot"]["path"][-1] == "data:wh"
    assert by["team:t"]["depth"] == 5  # the team owns the tool
    assert "person:a@x.io" in by


def test_unknown_id_is_a_graphql_error(server):
    for q in ('{ blastRadius(id: "x:y:z") { reachable { depth } } }', '{ whoCanReach(id: "x:y:z") { depth } }'):
        resp = server.graphql(q)
        assert resp.status_code == 200
        err = resp.json()["errors"][0]
        assert "no node with id 'x:y:z'" in err["message"] and err["extensions"]["code"] == "NOT_FOUND"


def test_graphiql_in_a_browser(server):
    import httpx
    resp = httpx.get(server.url + "/graphql", headers={"Accept": "text/html"})
    assert resp.status_code == 200 and "graphiql" in resp.text.lower()
