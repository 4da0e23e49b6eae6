"""nodes(search:): case-insensitive on id, name, email, login, key hint, last four,
redacted value and aliases; live nodes only; ordered by id and paged by cursor.
The same on Neo4j (Cypher) is checked by tests/test_parity.py over these queries."""
from __future__ import annotations

import pytest

from api.execute import execute
from engine.model import Node, NodeKind, Records
from engine.search import search_text

LEAKED = "anthropic:api_key:apikey_01DataAgent"
SEARCH = """query($q: String!, $kind: String, $first: Int, $after: String) {
  nodes(search: $q, kind: $kind, first: $first, after: $after) {
    totalCount nodes { id kind } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


def ids(engine, q, kind=None, first=500):
    out = execute(engine, SEARCH, {"q": q, "kind": kind, "first": first})
    assert "errors" not in out, out
    return [n["id"] for n in out["data"]["nodes"]["nodes"]]


def test_a_key_is_found_by_its_last_four_in_any_case(demo_engine):
    assert ids(demo_engine, "Xk9Q", "Credential") == [LEAKED]
    assert ids(demo_engine, "xk9q", "Credential") == [LEAKED]
    # The near-miss scanner finding (...Xk9R) is not the key, and the key is not it.
    assert LEAKED not in ids(demo_engine, "xk9r")
    assert any("gitleaks" in i for i in ids(demo_engine, "xk9r"))
    # By hint prefix, by redacted value, by id fragment.
    assert LEAKED in ids(demo_engine, "sk-ant-api03-R2D")
    assert ids(demo_engine, "sk-proj-Sup...Q7aa") == ["openai:api_key:key_support"]
    assert "aws:access_key:ci-bot:1" in ids(demo_engine, "ACCESS_KEY:CI-BOT")


def test_people_by_email_name_and_login(demo_engine):
    assert ids(demo_engine, "BEN@example.com", "Person") == ["person:ben@example.com"]
    found = ids(demo_engine, "bokafor")          # Ben's GitHub login
    assert "github:user:bokafor" in found
    by_name = ids(demo_engine, "ana silva")
    assert "person:ana@example.com" in by_name
    assert ids(demo_engine, "zz-nothing-like-this") == []


def test_only_searched_fields_match(demo_engine):
    """A value in a property outside the searched ones does not make a match."""
    view = demo_engine.node("openai:api_key:key_support")
    assert view.properties.get("project_id")          # a property not searched
    text = search_text(view)
    assert view.properties["project_id"].lower() not in text
    assert ids(demo_engine, view.properties["project_id"], "Credential") == []


def test_paging_by_cursor_covers_every_match_once(demo_engine):
    everything = ids(demo_engine, "example.com")
    assert len(everything) > 10 and everything == sorted(everything)
    seen, after, pages = [], None, 0
    while True:
        out = execute(demo_engine, SEARCH, {"q": "example.com", "first": 4, "after": after})["data"]["nodes"]
        assert out["totalCount"] == len(everything)
        assert out["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen += [n["id"] for n in out["nodes"]]
        pages += 1
        if not out["pageInfo"]["hasNextPage"]:
            break
        after = out["pageInfo"]["endCursor"]
    assert seen == everything and pages == -(-len(everything) // 4)


def test_kind_filter_and_bad_input(demo_engine):
    creds = ids(demo_engine, "sk-", "Credential")
    assert creds and all(i.split(":")[1] in ("api_key", "admin_api_key", "key") for i in creds)
    out = execute(demo_engine, SEARCH, {"q": "a", "kind": "Nope"})
    assert out["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    out = execute(demo_engine, SEARCH, {"q": "a" * 201})
    assert out["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    out = execute(demo_engine, SEARCH, {"q": "a", "after": "not a cursor"})
    assert out["errors"][0]["extensions"]["code"] == "BAD_INPUT"


def _records(nodes):
    return Records(source="inventory", nodes=list(nodes))


def test_aliases_lists_and_removed_nodes(engine):
    engine.store.load(_records([
        Node(id="person:zoe@example.com", kind=NodeKind.Person, properties={"email": "zoe@example.com",
                                                                             "aliases": ["zed", "Z-Bot"]}),
        Node(id="person:yan@example.com", kind=NodeKind.Person, properties={"email": "yan@example.com",
                                                                             "aliases": ["yan", 7]}),
        Node(id="tool:gone", kind=NodeKind.AITool, name="Vanishing Tool"),
    ]), complete=True)
    assert ids(engine, "z-bot") == ["person:zoe@example.com"]
    assert ids(engine, "vanishing") == ["tool:gone"]
    # A list of mixed types is not searched element by element (as Neo4j stores it: text).
    assert ids(engine, "yan") == ["person:yan@example.com"]        # by id and email, not the alias list
    assert search_text(engine.node("person:yan@example.com")).count("yan") == 2
    engine.store.load(_records([
        Node(id="person:zoe@example.com", kind=NodeKind.Person, properties={"email": "zoe@example.com"}),
        Node(id="person:yan@example.com", kind=NodeKind.Person, properties={"email": "yan@example.com"}),
    ]), complete=True)
    assert ids(engine, "vanishing") == []                          # removed: not found
    assert ids(engine, "z-bot") == []                              # its alias went with the re-sync


@pytest.mark.parametrize("field", ["hint", "last4", "redacted_value", "login", "key_alias"])
def test_each_searched_property(engine, field):
    engine.store.load(_records([
        Node(id="litellm:key:abc", kind=NodeKind.Credential, properties={field: "Needle-42"}),
        Node(id="litellm:key:def", kind=NodeKind.Credential, properties={"note": "Needle-42"}),
    ]), complete=True)
    assert ids(engine, "needle-42") == ["litellm:key:abc"]
