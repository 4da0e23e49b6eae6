"""stale-credential and long-lived-credential: windows measured from "now" (the data's
latest timestamp, or --as-of), never the wall clock."""
from datetime import date, datetime, timezone

from rules_kit import G, K, N, by_subject, subjects


def _graph(db_path):
    g = G(db_path)
    # now = 2026-11-14T23:00Z; 90 days before = 2026-08-16T23:00Z; 30 days = 2026-10-15T23:00Z
    g.cred("k:last_used_old", created_at="2026-01-01T00:00:00Z", last_used_at="2026-06-30T00:00:00Z")
    g.cred("k:last_used_edge", created_at="2026-01-01T00:00:00Z", last_used_at="2026-08-17T00:00:00Z")
    g.cred("k:never_used_old", created_at="2026-08-01T00:00:00Z")
    g.cred("k:never_used_young", created_at="2026-10-20T00:00:00Z")
    g.cred("k:stated_old_but_usage_recent", created_at="2026-01-01T00:00:00Z",
           last_used_at="2026-05-01T00:00:00Z")
    g.spend("k:stated_old_but_usage_recent", date(2026, 11, 2), 1.0)
    g.cred("k:revoked_old", active=False, created_at="2025-01-01T00:00:00Z", last_used_at="2025-02-01T00:00:00Z")
    g.cred("k:no_dates", created_at=None)
    # long-lived
    g.cred("k:old_no_expiry", created_at="2026-03-01T00:00:00Z", last_used_at="2026-11-14T00:00:00Z")
    g.cred("k:old_long_expiry", created_at="2026-03-01T00:00:00Z", expires_at="2027-03-01T00:00:00Z",
           last_used_at="2026-11-14T00:00:00Z")
    g.cred("k:old_short_expiry", created_at="2026-07-20T00:00:00Z", expires_at="2026-10-10T00:00:00Z")
    g.cred("k:old_90d_expiry", created_at="2026-08-01T00:00:00Z", expires_at="2026-10-30T00:00:00Z",
           last_used_at="2026-10-01T00:00:00Z")
    g.cred("k:old_90d_expiry_live", created_at="2026-08-01T00:00:00Z", expires_at="2026-12-30T00:00:00Z",
           last_used_at="2026-11-01T00:00:00Z")
    g.cred("k:young_no_expiry", created_at="2026-09-01T00:00:00Z", last_used_at="2026-11-14T00:00:00Z")
    g.node("openai:project:old", N.Project, status="archived")
    g.cred("k:archived_project", created_at="2025-01-01T00:00:00Z")
    g.edge("k:archived_project", K.MEMBER_OF, "openai:project:old")
    return g


def test_stale_credential(db_path):
    eng = _graph(db_path).engine()
    found = by_subject(eng, "stale-credential")
    # k:last_used_edge (89 days idle), a key whose stated last use is old but whose usage
    # rows are recent, a young unused key, revoked and archived-project keys: not stale
    assert set(found) == {"k:last_used_old", "k:never_used_old"}
    assert found["k:last_used_old"].evidence["idle_days"] == 137
    assert found["k:never_used_old"].evidence["never_used"] is True
    assert found["k:never_used_old"].evidence["now"] == "2026-11-14T23:00:00Z"
    eng.close()


def test_long_lived_credential(db_path):
    eng = _graph(db_path).engine()
    found = by_subject(eng, "long-lived-credential")
    # expired keys are inactive; a 151-day expiry is long-lived; exactly 90 days is not
    assert set(found) == {"k:last_used_old", "k:last_used_edge", "k:stated_old_but_usage_recent",
                          "k:old_no_expiry", "k:old_long_expiry", "k:never_used_old",
                          "k:old_90d_expiry_live"}
    assert found["k:old_long_expiry"].evidence["lifetime_days"] == 365
    assert found["k:old_no_expiry"].evidence["expires_at"] is None
    eng.close()


def test_as_of_moves_now(db_path):
    g = _graph(db_path)
    eng = g.engine(as_of=datetime(2026, 9, 1, tzinfo=timezone.utc))
    # on 2026-09-01 the June use is 63 days old: not stale yet; the 2026-08-01 key is 31 days
    # old; the key whose usage rows are in November (the future of this replay) was last
    # used on 2026-05-01 as far as that day knew
    assert subjects(eng, "stale-credential") == {"k:never_used_old", "k:stated_old_but_usage_recent"}
    eng.close()
