"""The ingesters' fast timestamp and file paths give exactly what the general ones do."""
from __future__ import annotations

import random

import pytest

from engine.derive import iso, parse_ts
from ingest import accounts, ai_records
from ingest.errors import IngestError
from ingest.files import read_json

SHAPES = [
    "2013-07-02T21:36:25.344Z", "2013-07-02T21:36:25Z", "2013-07-02T21:36:25.000Z",
    "2013-07-02T21:36:25.000001+00:00", "2013-07-02T21:36:25.5Z", "2024-02-29T01:02:03.100Z",
    # not the fast shape, or not a real time: the general path decides
    "2013-07-02T21:36:25.1234567Z", "2013-02-30T21:36:25Z", "2013-07-02T24:00:00Z",
    " 2013-07-02T21:36:25Z", "2013-07-02T21:36:25+01:00", "2013-07-02", "never", "",
    "0000-01-01T00:00:00Z", "2013-07-02T21:36:60Z", "2013-07-02T21:36:25.Z",
    "2013-07-02t21:36:25Z", "2013-07-02T21:36:25z", "\u0662013-07-02T21:36:25Z",
    # the forms tools print, and their "no value" placeholders
    "2022-06-16 10:17:40 -0700 PDT", "2022-06-16 10:17:40 -0700 -0700", "10-19-2003",
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z", "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00.5Z", "N/A", "no_information", "not_supported", "1700000000",
]


def random_shapes(n: int) -> list[str]:
    rng = random.Random(7)
    out = []
    for _ in range(n):
        y = rng.choice(["0001", "1999", "2024", "2023", "9999", "0000"])
        mo, d = f"{rng.randint(0, 13):02d}", f"{rng.randint(0, 32):02d}"
        h, mi, se = f"{rng.randint(0, 25):02d}", f"{rng.randint(0, 60):02d}", f"{rng.randint(0, 61):02d}"
        frac = rng.choice(["", ".0", ".000", ".123", ".000001", ".100000", ".5", ".1234567", "."])
        tz = rng.choice(["Z", "+00:00", "+01:00", "-00:00", "", "z"])
        out.append(f"{y}-{mo}-{d}T{h}:{mi}:{se}{frac}{tz}")
    return out


def test_fast_timestamps_match_the_general_parser():
    values = SHAPES + random_shapes(20000)
    for value in values:
        want = iso(parse_ts(value))
        assert accounts._iso_text(value) == want, value
        assert accounts.ts(value) == want, value
        assert ai_records.ts(value) == want, value
    # The fast shape really is taken by most of them and gives the documented text.
    assert accounts._iso_text("2013-07-02T21:36:25.344Z") == "2013-07-02T21:36:25.344000Z"
    assert accounts._iso_text("2013-07-02T21:36:25.000Z") == "2013-07-02T21:36:25Z"
    assert accounts._iso_text("2013-02-30T21:36:25Z") is None


@pytest.mark.parametrize("value", [None, 0, 1_700_000_000, 1_700_000_000_000, 3.5, True])
def test_non_text_timestamps_take_the_general_path(value):
    assert accounts.ts(value) == iso(parse_ts(value))
    assert ai_records.ts(value) == iso(parse_ts(value))


def test_read_json_whole_files(tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"a": "' + "x" * (3 << 20) + '"}')
    assert len(read_json(big)["a"]) == 3 << 20
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf[1, 2]")
    assert read_json(bom) == [1, 2]
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty file"):
        read_json(empty)
    with pytest.raises(IngestError, match="cannot read: No such file"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(IngestError, match="cannot read: Is a directory"):
        read_json(tmp_path)


@pytest.mark.parametrize("junk", [1e18, 10**30, float("inf"), float("nan"), -5, 0])
def test_numbers_out_of_calendar_range_are_no_timestamp(junk):
    """A vendor's numeric timestamp out of any calendar's range is junk (None), not a
    crash of every rule that reads the field."""
    from engine.derive import parse_ts
    assert parse_ts(junk) is None


def test_a_rule_over_an_out_of_range_timestamp_does_not_fire_or_crash(tmp_path):
    from engine.findings import all_findings
    from engine.model import Node, NodeKind, Records
    from engine.service import Engine
    eng = Engine.open(str(tmp_path / "t.db"))
    try:
        eng.store.load(Records(source="inventory", nodes=[
            Node(id="openai:api_key:k_far", kind=NodeKind.Credential, name="far", active=True,
                 properties={"created_at": 1e18, "last_used_at": "2026-01-02T00:00:00Z"}),
            Node(id="openai:api_key:k_old", kind=NodeKind.Credential, name="old", active=True,
                 properties={"created_at": "2025-01-01T00:00:00Z", "last_used_at": "2025-01-02T00:00:00Z"})]),
            complete=False)
        found = {(f.rule, f.subject_id) for f in all_findings(eng)}
        assert ("stale-credential", "openai:api_key:k_old") in found
        assert not any(s == "openai:api_key:k_far" and r in ("long-lived-credential", "stale-credential")
                       for r, s in found)
    finally:
        eng.close()


@pytest.mark.parametrize("text,want", [
    ("2022-06-16 10:17:40 -0700 PDT", "2022-06-16T17:17:40Z"),            # Go time.String()
    ("2022-06-16 10:17:40 -0700 -0700", "2022-06-16T17:17:40Z"),          # no zone abbreviation
    ("2022-06-16 10:17:40.123456789 +0000 UTC m=+0.000012", "2022-06-16T10:17:40.123456Z"),
    ("10-19-2003", "2003-10-19T00:00:00Z"),                                # gitleaks v7 Date
    ("1700000000", "2023-11-14T22:13:20Z"), (1700000000, "2023-11-14T22:13:20Z"),
    ("1700000000000", "2023-11-14T22:13:20Z"), (1700000000000, "2023-11-14T22:13:20Z"),
    ("2023-01-01T00:00:00.1234567Z", "2023-01-01T00:00:00.123456Z"),     # .NET's seven digits
    ("2023-01-01T02:00:00+02:00", "2023-01-01T00:00:00Z"), ("2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z"),
])
def test_timestamps_in_the_forms_tools_print(text, want):
    assert iso(parse_ts(text)) == want
    assert accounts.ts(text) == want


@pytest.mark.parametrize("placeholder", [
    "0001-01-01T00:00:00Z", "0001-01-01 00:00:00 +0000 UTC", "1970-01-01T00:00:00Z", "N/A", "n/a",
    "no_information", "not_supported", "", "   ", "never", "-", 0, None, "13-45-2003", "2022-06-16 25:17:40 -0700 PDT",
])
def test_placeholders_are_no_value(placeholder):
    assert parse_ts(placeholder) is None
    assert accounts.ts(placeholder) is None
    assert ai_records.ts(placeholder) is None
