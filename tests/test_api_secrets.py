"""No secret values in API responses: everything the demo serves is scanned for
key-shaped strings; only redacted values and hints may appear."""
from __future__ import annotations

import re

import pytest

from tests.api_helpers import serving

# Shapes of live secrets (and of full AWS key ids). Redacted forms such as
# `sk-ant-api03-R2D...Xk9Q` or `AKIA...CIB1` break these runs and do not match.
SECRET_SHAPES = {
    "openai": re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    "anthropic": re.compile(r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{20,}"),
    "aws key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "aws secret": re.compile(r"(?i)aws_secret_access_key\W{0,5}[A-Za-z0-9/+=]{40}"),
    "github": re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|github_pat_[A-Za-z0-9_]{50,}"),
    "litellm": re.compile(r"\bsk-[A-Za-z0-9]{16,}"),
    "google api key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "slack": re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


def scan(text: str) -> list[str]:
    return [f"{name}: {m.group(0)[:12]}..." for name, rx in SECRET_SHAPES.items() for m in rx.finditer(text)]


def test_the_scanner_catches_secret_shapes():
    planted = ("sk-proj-" + "A1b2" * 12, "sk-ant-api03-" + "Zz09" * 20, "AKIA" + "ABCDEFGHIJKLMNOP",
               "ghp_" + "a" * 36, "AIza" + "B" * 35)
    for secret in planted:
        assert scan(f'{{"x": "{secret}"}}'), secret
    for redacted in ("sk-ant-api03-R2D...Xk9Q", "AKIA...CIB1", "sk-...abcd", "sk-proj-****wxyz", "ghp_...1234"):
        assert not scan(redacted), redacted


def _all_pages(srv, query: str, field: str) -> list[str]:
    texts, after = [], None
    while True:
        resp = srv.graphql(query, {"after": after})
        assert resp.status_code == 200
        body = resp.json()
        assert "errors" not in body, body["errors"][:2]
        texts.append(resp.text)
        page = body["data"][field]
        if not page["pageInfo"]["hasNextPage"]:
            return texts
        after = page["pageInfo"]["endCursor"]


@pytest.fixture(scope="module")
def demo_server(demo_db):
    with serving(demo_db) as (srv, _, _):
        yield srv


def test_demo_responses_hold_no_secrets(demo_server):
    srv = demo_server
    texts = _all_pages(srv, "query($after: String) { nodes(first: 200, after: $after) { pageInfo { hasNextPage endCursor } "
                            "nodes { id name properties sources owners { id } risk { score reasons factors { detail } } } } }",
                       "nodes")
    texts += _all_pages(srv, "query($after: String) { findings(first: 200, after: $after) { pageInfo { hasNextPage endCursor } "
                             "nodes { id title evidence subject { id properties } } } }", "findings")
    for q in ('{ blastRadius(id: "tool:drift-chat") { reachable { node { id properties } path } spendExposureDetail } }',
              '{ whoCanReach(id: "data:warehouse") { node { id properties } } }',
              '{ traceCompromise(id: "anthropic:api_key:apikey_01DataAgent") { owners { id } holders { id properties } '
              'usageSince { day model usd note } revocationPlan { action target reason } exposures { id properties } } }',
              '{ traceCompromise(id: "aws:access_key:ci-bot:1") { exposures { id properties } revocationPlan { reason } } }',
              '{ spend(groupBy: "credential") { key usd detail } }'):
        resp = srv.graphql(q)
        assert resp.status_code == 200 and "errors" not in resp.json(), (q, resp.text[:500])
        texts.append(resp.text)
    everything = "\n".join(texts)
    assert "data:warehouse" in everything and "apikey_01DataAgent" in everything  # the scan saw real content
    assert scan(everything) == []
