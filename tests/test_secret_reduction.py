"""The secret-reduction rule (engine.secret_hints) and the store's scrub of free text
(engine.secret_scrub): what may be kept of a secret, and what must not be touched."""
from __future__ import annotations

import random
import secrets
import string

import pytest
from hypothesis import given, settings, strategies as st

from engine.secret_hints import (KNOWN_PREFIXES, MIN_HIDDEN, prefix_table, reduce_secret, secret_facts,
                                 trim_hint, vendor_prefix)
from engine.secret_scrub import scrub_props, scrub_records, scrub_text
from engine.model import Node, NodeKind, Records
from tests.secret_planting import shapes

ALNUM = string.ascii_letters + string.digits


def rand(n: int) -> str:
    while True:
        s = "".join(secrets.choice(ALNUM) for _ in range(n))
        if any(c.isdigit() for c in s) and any(c.isupper() for c in s) and any(c.islower() for c in s):
            return s


def test_prefixes_come_from_the_table_in_queries():
    table = prefix_table()
    assert {"sk-proj-", "sk-ant-api03-", "sk-ant-admin01-", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
            "github_pat_", "glpat-", "xoxb-", "xoxp-", "AIza", "hf_", "sk-"} <= set(KNOWN_PREFIXES)
    assert list(KNOWN_PREFIXES) == sorted(KNOWN_PREFIXES, key=len, reverse=True)
    assert MIN_HIDDEN == table.min_hidden == 16
    assert vendor_prefix("sk-ant-api03-xyz") == "sk-ant-api03-" and vendor_prefix("sk-proj-x") == "sk-proj-"


def test_an_unknown_secret_keeps_no_start():
    # the old rule kept everything up to the last `-` or `_` as the "vendor prefix"
    raw = "acme_internal_service_" + rand(24)
    f = secret_facts(raw)
    assert "prefix" not in f and f["redacted"] == f"...{raw[-4:]}" and f["secret_type"] == "unknown"


@pytest.mark.parametrize("length, has_last4", [(19, False), (20, True), (40, True)])
def test_last_four_only_when_sixteen_stay_hidden(length, has_last4):
    raw = rand(length)
    assert ("last4" in secret_facts(raw)) is has_last4
    short = "ghp_" + rand(15)          # 4 + 15 + ... : fewer than 16 hidden after prefix and last four
    hint, _ = reduce_secret(short)
    assert hint.prefix == "ghp_" and hint.last4 is None


def test_structured_secrets_keep_type_host_and_user():
    pw = rand(16)
    cases = {
        f"postgres://app:{pw}@db.example.com:5432/x": ("uri", "db.example.com", "app"),
        f"https://oauth2:glpat-{pw}@gitlab.example.com/g/r.git": ("uri", "gitlab.example.com", "oauth2"),
        f"https://ghp_{rand(36)}@github.com/o/r": ("uri", "github.com", None),
        f"mongodb+srv://svc:{pw}@c0.abc.mongodb.net/db": ("uri", "c0.abc.mongodb.net", "svc"),
        f"jdbc:postgresql://h.example.com/db?user=etl&password={pw}": ("uri", "h.example.com", "etl"),
        f"jdbc:oracle:thin:scott/{pw}@orahost:1521:ORCL": ("uri", "orahost", "scott"),
        f"Server=tcp:sql.example.net,1433;Database=d;User ID=svc;Password={pw};": ("connection string", "sql.example.net", "svc"),
    }
    for raw, (kind, host, user) in cases.items():
        f = secret_facts(raw)
        assert (f["secret_type"], f.get("host"), f.get("user")) == (kind, host, user), raw
        assert pw not in str(f) and "prefix" not in f and "last4" not in f and len(f["sha256"]) == 64
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + rand(64) + "\n-----END RSA PRIVATE KEY-----"
    f = secret_facts(key)
    assert f["secret_type"] == "pem rsa private key" and f["redacted"] == "-----BEGIN RSA PRIVATE KEY-----..."
    assert "last4" not in f and "prefix" not in f


def test_vendor_hints_kept_unless_they_show_too_much():
    assert trim_hint("sk-ant-api03-R2D...Xk9Q") == "sk-ant-api03-R2D...Xk9Q"
    assert trim_hint("sk-proj-****abcd") == "sk-proj-****abcd"
    assert trim_hint("sk-proj-abcdefghijkl...wxyz") == "sk-proj-...wxyz"
    assert trim_hint("sk-...abcdefgh") == "sk-...efgh"
    raw = "sk-proj-" + rand(40)
    assert trim_hint(raw) == f"sk-proj-...{raw[-4:]}"      # a raw key where a hint belongs
    assert trim_hint("AKIAIOSFODNN7EXAMPLE") == "AKIAIOSFODNN7EXAMPLE"


ORDINARY = [
    "00u1abcdEFGH2345ijkl", "0oa1b2c3d4e5f6g7h8i9", "123456789012-abc123def456.apps.googleusercontent.com",
    "ana.silva@example.com", "a" * 64, "3c8e5d2a71" * 3, "0f" * 16, "123e4567-e89b-12d3-a456-426614174000",
    "https://www.googleapis.com/auth/drive.readonly", "https://graph.microsoft.com/v1.0/$metadata#users",
    "sk-learn-tutorial-notebook-v2", "2026-11-14T08:30:00.000Z", "ssh://git@github.com/acme/app.git",
    "AKIAIOSFODNN7EXAMPLE", "arn:aws:iam::123456789012:user/ci-bot", "user_018ed545f17b38efd8cba973",
    "key_abc123DEF456ghi789", "apikey_01DataAgent", "Data Platform Engineering", "password changed last week",
    "token_hash", "sk-...abcd", "sk-ant-api03-R2D...Xk9Q", "postgres://db.example.com:5432/app",
    "wrkspc_01DataAgents", "github_app_installation_12345", "pk_test_only_words_here",
    "aws:access_key:ci-bot:1", "okta:app:0oa1b2c3d4e5f6g7h8i9", "gitleaks:finding:c:a.py:generic-api-key:1",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_values_are_not_touched(text):
    assert scrub_text(text) == text


def test_ordinary_properties_make_no_copy():
    props = {"id_native": "00u1abcdEFGH2345ijkl", "email": "ana@example.com", "token_hash": "ab" * 32,
             "api_key_id": "key_123", "secret_form": "hashed", "sha256": "cd" * 32, "scopes": ORDINARY[8:10],
             "passwordPolicies": "DisablePasswordExpiration", "stores_secrets": ["aws:access_key:ci:1"], "n": 3}
    assert scrub_props(props) is None


def test_secret_named_fields_are_reduced_whatever_their_shape():
    got = scrub_props({"password": "hunter2", "clientSecret": rand(30), "appPassword": rand(12),
                       "api_key": rand(20), "extension_9a8b_apiToken": rand(40), "token": "ab" * 32,
                       "nested": {"private_key": rand(50)}, "list": [{"secretText": rand(24)}]})
    assert got["password"] == "***" and got["appPassword"] == "***" and got["token"] == "ab" * 32
    assert got["clientSecret"].startswith("...") and got["api_key"].startswith("...")
    assert got["nested"]["private_key"].startswith("...") and got["list"][0]["secretText"].startswith("...")


def test_free_text_secrets_are_reduced_in_place():
    tok, pw = "ghp_" + rand(36), rand(14)
    text = f"deploy with {tok} and postgres://app:{pw}@db:5432/x, password={pw}; Bearer {rand(30)}"
    out = scrub_text(text)
    assert tok[4:-4] not in out and pw not in out
    assert f"ghp_...{tok[-4:]}" in out and "postgres://app:***@db" in out and "password=***" in out
    assert out.startswith("deploy with ")


def test_records_names_edges_and_warnings_are_scrubbed():
    tok = "sk-ant-api03-" + rand(90)
    rec = Records(source="inventory", nodes=[Node(id="tool:x", kind=NodeKind.AITool, name=f"bot {tok}",
                                                  properties={"note": tok})], warnings=[f"bad value {tok}"])
    assert scrub_records(rec) == 2
    blob = str(rec.nodes[0].name) + str(rec.nodes[0].properties) + " ".join(rec.warnings)
    assert tok[13:-4] not in blob


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([" ", "=", ": ", "\n", "(", "token ", "@", "Bearer ", "sk-", "-----BEGIN ", "x "]),
                max_size=8), st.integers(min_value=0, max_value=2**32))
def test_scrubbing_is_idempotent_and_hides_every_shape(parts, seed):
    # (secrets separated as text separates words: a token glued to a letter before it
    # is no token a scanner would report either)
    rng = random.Random(seed)
    planted = shapes(rng)
    text = " ".join(p + planted[rng.randrange(len(planted))].text for p in parts)
    once = scrub_text(text)
    assert scrub_text(once) == once
    for p in planted:
        if p.text in text:
            assert all(w not in once for w in p.windows()), p.text[:30]
