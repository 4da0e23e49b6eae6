"""The inventory ingester: every key of the contract format, clear errors on bad
input naming the file, and the db left as it was."""
import sqlite3
import textwrap

import pytest

from engine.service import Engine
from ingest.errors import IngestError
from ingest.inventory import ingest as ingest_inventory
from tests.conftest import write

FULL = """
teams:
  - id: data-platform
    name: Data Platform
    members: [Ana@Example.com]
    owners: [raj@example.com]
ai_tools:
  - id: support-copilot
    name: Support Copilot
    owner: ana@example.com
    approved: true
    environment: prod
    credentials: [openai:api_key:key_abc]
    oauth_clients: [google:oauth_client:123.apps.googleusercontent.com]
    budget_usd_month: 500
    ticket: SEC-42
  - id: team-bot
    owner: team:data-platform
saas_apps:
  - id: salesforce
    name: Salesforce
    oauth_clients: [okta:app:0oa1]
    data: [{id: data:crm-records, access: write}]
data_sources:
  - id: crm-records
    name: CRM records
    sensitivity: restricted
    stores_secrets: [aws:access_key:ci-bot:1]
credentials:
  - id: openai:api_key:key_abc
    environment: prod
    owner: raj@example.com
    used_by: [tool:support-copilot, dev@example.com]
access:
  - {principal: aws:iam_user:etl-bot, target: data:warehouse, access: admin}
  - {principal: tool:support-copilot, target: saas:salesforce, access: read}
prices:
  gpt-4o: {input: 2.5, output: 10}
owners:
  - {id: aws:iam_user:etl-bot, owner: [raj@example.com, team:data-platform]}
"""


def load(tmp_path, text, name="org.yaml"):
    root = tmp_path / "snap" / "inventory"
    write(root / name, textwrap.dedent(text))
    return ingest_inventory(root)


def edges_of(rec):
    return {(e.src, e.kind.value, e.dst) for e in rec.edges}


def test_every_key_of_the_contract(tmp_path):
    rec = load(tmp_path, FULL)
    nodes = {n.id: n for n in rec.nodes}
    assert nodes["team:data-platform"].name == "Data Platform"
    tool = nodes["tool:support-copilot"]
    assert tool.kind.value == "AITool" and tool.properties["approved"] is True
    assert tool.properties["environment"] == "prod" and tool.properties["budget_usd_month"] == 500
    assert tool.properties["ticket"] == "SEC-42"  # unknown keys kept as properties
    assert nodes["saas:salesforce"].kind.value == "SaaSApp"
    assert nodes["data:crm-records"].properties["sensitivity"] == "restricted"
    cred = nodes["openai:api_key:key_abc"]
    assert cred.enrichment and cred.properties["environment"] == "prod"
    e = edges_of(rec)
    assert ("person:ana@example.com", "MEMBER_OF", "team:data-platform") in e  # email lower-cased
    assert ("person:raj@example.com", "OWNS", "team:data-platform") in e
    assert ("person:ana@example.com", "OWNS", "tool:support-copilot") in e
    assert ("team:data-platform", "OWNS", "tool:team-bot") in e
    assert ("tool:support-copilot", "HOLDS", "openai:api_key:key_abc") in e
    assert ("tool:support-copilot", "HOLDS", "google:oauth_client:123.apps.googleusercontent.com") in e
    assert ("okta:app:0oa1", "CAN_ACCESS", "saas:salesforce") in e
    assert ("saas:salesforce", "CONTAINS", "data:crm-records") in e
    assert ("data:crm-records", "STORES_SECRET", "aws:access_key:ci-bot:1") in e
    assert ("person:raj@example.com", "OWNS", "openai:api_key:key_abc") in e
    assert ("tool:support-copilot", "HOLDS", "openai:api_key:key_abc") in e
    assert ("person:dev@example.com", "HOLDS", "openai:api_key:key_abc") in e
    assert ("aws:iam_user:etl-bot", "CAN_ACCESS", "data:warehouse") in e
    acc = {(x.src, x.dst): x.properties.get("access") for x in rec.edges if x.kind.value == "CAN_ACCESS"}
    assert acc[("aws:iam_user:etl-bot", "data:warehouse")] == "admin"
    assert acc[("tool:support-copilot", "saas:salesforce")] == "read"
    assert rec.settings == {"price:gpt-4o": {"input": 2.5, "output": 10.0}}
    assert ("person:raj@example.com", "OWNS", "aws:iam_user:etl-bot") in e
    assert ("team:data-platform", "OWNS", "aws:iam_user:etl-bot") in e
    people = {n.id for n in rec.nodes if n.kind.value == "Person"}
    assert people == {"person:ana@example.com", "person:raj@example.com", "person:dev@example.com"}


def test_empty_and_partial_files(tmp_path):
    rec = load(tmp_path, "teams:\nai_tools: []\n", name="b.yaml")
    assert rec.nodes == []


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n", "---\n"])
def test_an_empty_file_is_an_error_like_an_empty_json_file(tmp_path, text):
    with pytest.raises(IngestError, match=r"empty\.yaml: empty inventory file.*empty: true"):
        load(tmp_path, text, name="empty.yaml")


def test_empty_on_purpose_marker(tmp_path):
    assert load(tmp_path, "# nothing yet\nempty: true\n", name="e.yaml").nodes == []
    with pytest.raises(IngestError, match="holds teams"):
        load(tmp_path / "f", "empty: true\nteams: [{id: a}]\n", name="f.yaml")
    with pytest.raises(IngestError, match="must be true"):
        load(tmp_path / "g", "empty: false\n", name="g.yaml")


def test_multiple_files_are_one_source(tmp_path):
    root = tmp_path / "snap" / "inventory"
    write(root / "a.yaml", "teams: [{id: a}]\n")
    write(root / "sub" / "b.yml", "teams: [{id: b}]\n")
    rec = ingest_inventory(root)
    assert {n.id for n in rec.nodes} == {"team:a", "team:b"}


@pytest.mark.parametrize("text,needle", [
    ("teams: [{id: a, members: [x@y.z]\n", "invalid YAML at line"),
    ("- just\n- a list\n", "expected a mapping"),
    ("teams: {id: a}\n", "teams"),
    ("ai_tools: [{id: t, environment: production}]\n", "ai_tools.0.environment"),
    ("data_sources: [{id: d, sensitivity: secret}]\n", "sensitivity"),
    ("access: [{principal: tool:t, target: data:d, access: godmode}]\n", "unknown access level"),
    ("prices: {gpt-4o: {input: -1, output: 2}}\n", "prices.gpt-4o.input"),
    ("teems: []\n", "teems"),
    ("ai_tools: [{id: t, owner: somebody}]\n", "neither an email nor a node id"),
    ("ai_tools: [{name: no id}]\n", "ai_tools.0.id"),
])
def test_bad_input_names_file_and_problem(tmp_path, text, needle):
    with pytest.raises(IngestError) as err:
        load(tmp_path, text, name="broken.yaml")
    assert "broken.yaml" in str(err.value) and needle in str(err.value)


def test_malformed_file_leaves_db_as_it_was(tmp_path):
    snap = tmp_path / "snap"
    write(snap / "inventory" / "org.yaml", FULL)
    db = tmp_path / "b.db"
    eng = Engine.open(str(db))
    eng.ingest([snap])
    before = sqlite3.connect(db).execute("SELECT * FROM node_src ORDER BY id").fetchall()
    runs = len(eng.store.runs())
    write(snap / "inventory" / "zz-broken.yaml", "teams: [{id: new-team}]\nai_tools: [oops\n")
    with pytest.raises(IngestError, match="zz-broken.yaml"):
        eng.ingest([snap])
    after = sqlite3.connect(db).execute("SELECT * FROM node_src ORDER BY id").fetchall()
    assert before == after and len(eng.store.runs()) == runs
    assert eng.node("team:new-team") is None and eng.node("tool:support-copilot") is not None


def test_resync_marks_vanished_inventory_removed(tmp_path):
    snap = tmp_path / "snap"
    write(snap / "inventory" / "org.yaml", FULL)
    eng = Engine.open(str(tmp_path / "c.db"))
    eng.ingest([snap])
    write(snap / "inventory" / "org.yaml", FULL.replace("  - id: team-bot\n    owner: team:data-platform\n", ""))
    [res] = eng.ingest([snap])
    assert res.removed["nodes"] == 1
    assert eng.node("tool:team-bot") is None
    assert eng.store.get_node("tool:team-bot", include_removed=True).removed_at
