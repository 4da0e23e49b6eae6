"""The synthetic enterprise generator: its snapshot is valid for every ingester,
byte-identical for a seed, different for another seed, and plausible (departures,
leaks matched to real keys, usage, spikes) even at a small size."""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
import yaml

from engine.service import Engine
from ingest.snapshot import SOURCES
from synth.generate import generate

PEOPLE = 60


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "snap"
    stats = generate(PEOPLE, 3, out)
    return out, stats


@pytest.fixture(scope="module")
def loaded(snapshot, tmp_path_factory):
    out, _ = snapshot
    db = tmp_path_factory.mktemp("synthdb") / "synth.db"
    engine = Engine.open(str(db))
    results = engine.ingest([out])
    yield engine, {r.source: r for r in results}
    engine.close()


def test_every_source_is_written_and_ingests_without_error(snapshot, loaded):
    out, stats = snapshot
    _, results = loaded
    assert set(results) == set(SOURCES), "every source directory is recognised and loaded"
    for source, res in results.items():
        total = sum(res.counts.get(k, 0) for k in ("nodes", "edges", "usage", "costs", "activity"))
        assert total > 0, f"{source} loaded nothing"
        assert res.complete
    # the counts the generator reports are the files it wrote
    assert stats["files"] == sum(1 for p in out.rglob("*") if p.is_file())
    assert set(stats["sources"]) == set(SOURCES)


def test_inventory_is_plain_yaml(snapshot):
    out, _ = snapshot
    for path in (out / "inventory").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())     # the pure-Python loader agrees too
        assert isinstance(data, dict) and data


def test_same_seed_same_bytes_other_seed_other_bytes(snapshot, tmp_path):
    out, _ = snapshot
    again = tmp_path / "again"
    generate(PEOPLE, 3, again)
    assert digest(again) == digest(out)
    other = tmp_path / "other"
    generate(PEOPLE, 4, other)
    a, b = digest(out), digest(other)
    assert a != b
    # not just a renamed copy: the people themselves differ
    assert (other / "okta/api/v1/users.json").read_bytes() != (out / "okta/api/v1/users.json").read_bytes()


def test_regenerating_into_the_same_directory_leaves_no_stale_files(tmp_path):
    out = tmp_path / "snap"
    generate(PEOPLE, 3, out)
    first = digest(out)
    generate(PEOPLE, 5, out)
    generate(PEOPLE, 3, out)
    assert digest(out) == first


def test_plausible_org(loaded):
    engine, _ = loaded
    g = engine.graph()
    kinds = Counter(v.kind for v in g.views)
    for kind in ("Person", "Account", "Team", "Project", "ServiceAccount", "Credential", "OAuthClient",
                 "OAuthGrant", "AITool", "SaaSApp", "DataSource", "SecretExposure"):
        assert kinds[kind] > 0, f"no {kind} nodes"
    people = [v for v in g.views if v.kind == "Person"]
    statuses = Counter(v.properties.get("status") for v in people)
    assert statuses["inactive"] >= 1, "some people departed"
    assert statuses["active"] > statuses["inactive"], "most people are still here"
    # leaks: scanner findings matched to credentials the vendors list, and near misses
    exposed = [e for e in g.edges if e.kind == "EXPOSED_IN"]
    assert exposed, "some leaks are matched to keys"
    for e in exposed:
        assert g.node_view(e.src).kind == "Credential" and "stub" not in g.node_view(e.src).properties
    findings = [v for v in g.views if v.kind == "SecretExposure"]
    assert len({e.dst for e in exposed}) < len(findings), "some findings match no key"
    # usage: 30+ days of it, on several credentials, more than one vendor
    usage = engine.store.usage()
    days = {u.day for u in usage}
    assert len(days) >= 30
    assert len({u.credential_id for u in usage if u.credential_id}) >= 5
    assert {u.source for u in usage} >= {"openai", "anthropic", "litellm"}
    # a departed person's key keeps spending after they left (the planted story)
    from engine.ownership import owners_of
    departed = {v.id: v.properties["deactivated_at"][:10] for v in people
                if v.properties.get("status") == "inactive" and v.properties.get("deactivated_at")}
    assert departed
    spending_after = {u.credential_id for u in usage if u.credential_id
                      and any(u.day.isoformat() > departed.get(o, "9999")
                              for o in owners_of(engine, u.credential_id))}
    assert spending_after, "some departed owner's key keeps spending"
    # accounts of departed people are linked, not orphaned stubs
    assert all(not v.properties.get("stub") for v in g.views)
