"""Issue 2's done-when on the bundled demo: the vendor chat tool's blast radius shows
the second-order path to the warehouse (the Salesloft-Drift pattern), and
re-ingesting the same snapshot changes nothing."""
import sqlite3

from engine.service import Engine
from tests.conftest import DEMO


def test_drift_chat_reaches_the_warehouse_second_order(demo_engine):
    br = demo_engine.blast_radius("tool:drift-chat", 8)
    by = {r.node_id: r for r in br.reachable}
    wh = by["data:warehouse"]
    assert wh.path == ["tool:drift-chat", "saas:salesforce", "data:crm-records", "aws:access_key:ci-bot:1",
                       "aws:iam_user:ci-bot", "data:warehouse"]
    assert wh.edge_kinds == ["CAN_ACCESS", "CONTAINS", "STORES_SECRET", "AUTHENTICATES_AS", "CAN_ACCESS"]
    assert wh.access == "admin" and wh.depth == 5
    assert by["data:crm-records"].access == "write"


def test_reingesting_the_demo_changes_nothing(tmp_path):
    db = tmp_path / "d.db"
    eng = Engine.open(str(db))
    eng.ingest([DEMO])
    conn = sqlite3.connect(db)
    tables = ("node_src", "edge_src", "usage", "costs", "activity", "settings")

    def dump():
        out = {}
        for t in tables:
            cols = [c[1] for c in conn.execute(f"PRAGMA table_info({t})") if c[1] != "run_id"]
            out[t] = conn.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY 1, 2, 3").fetchall()
        return out

    before = dump()
    results = eng.ingest([DEMO])
    assert all(sum(r.removed.values()) == 0 for r in results)
    assert dump() == before
    eng.close()
