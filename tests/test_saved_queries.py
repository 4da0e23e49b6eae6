"""Every saved query in queries/saved/ runs on the demo without errors and returns data."""
from pathlib import Path

import pytest

from api.execute import execute
from engine.service import Engine

SAVED = sorted((Path(__file__).resolve().parent.parent / "queries" / "saved").glob("*.graphql"))
VARS = {"id": "anthropic:api_key:apikey_01DataAgent"}


@pytest.fixture(scope="module")
def eng(demo_db):
    e = Engine.open(str(demo_db))
    yield e
    e.close()


@pytest.mark.parametrize("path", SAVED, ids=[p.stem for p in SAVED])
def test_saved_query_runs(eng, path):
    text = path.read_text()
    variables = {k: v for k, v in VARS.items() if f"${k}" in text}
    if "tool" in path.stem and "id" in variables:
        variables["id"] = "tool:drift-chat"
    result = execute(eng, text, variables)
    assert not result.get("errors"), result.get("errors")
    assert all(v is not None for v in result["data"].values())


def test_there_are_saved_queries():
    assert {p.stem for p in SAVED} >= {"ai_tool_blast_radius", "orphaned_identities", "leaked_key_trace"}


def test_drift_chat_reaches_the_warehouse_through_the_saved_query(eng):
    text = (SAVED[0].parent / "ai_tool_blast_radius.graphql").read_text()
    d = execute(eng, text, {"id": "tool:drift-chat"})["data"]["blastRadius"]
    assert "data:warehouse" in {x["id"] for x in d["dataSources"]}
