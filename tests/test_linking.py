"""engine.linking.derived_edges: person resolution and leak matching, including the
near misses that must not match."""
from __future__ import annotations

import copy
import time

from engine.linking import derived_edges
from engine.secret_hints import parse_redacted, reduce_secret, same_key
from engine.store.base import EdgeView, NodeView


def node(nid, kind, **props):
    return NodeView(id=nid, kind=kind, name=None, active=True, properties=props)


def views(*nodes):
    return {n.id: n for n in nodes}


def exposure(nid, **props):
    return node(nid, "SecretExposure", scanner="gitleaks", **props)


def exposed(out):
    return {(e.src, e.dst): e.properties for e in out if e.kind == "EXPOSED_IN"}


ANTHROPIC = node("anthropic:api_key:a1", "Credential", partial_key_hint="sk-ant-api03-R2D...Xk9Q")
OPENAI = node("openai:api_key:o1", "Credential", redacted_value="sk-proj-...Xk9Q")
LITELLM = node("litellm:key:" + "ab" * 32, "Credential", key_name="sk-...Zz12")
AWS = node("aws:access_key:ci-bot:1", "Credential", key_id="AKIAQ3EGNORTHWNDCIB1")
AWS2 = node("aws:access_key:other:1", "Credential", key_id="AKIAZZZZZZZZZZZZCIB1")
CREDS = (ANTHROPIC, OPENAI, LITELLM, AWS, AWS2)


def test_prefix_and_last4_matches_each_vendor_hint():
    v = views(*CREDS,
              exposure("x:ant", redacted="sk-ant-api03-R2D...Xk9Q"),
              exposure("x:ant-short", redacted="sk-ant-api03-...Xk9Q"),
              exposure("x:oai", redacted="sk-proj-abc...Xk9Q"),
              exposure("x:lite", prefix="sk-", last4="Zz12"))
    got = exposed(derived_edges(v, []))
    assert got[("anthropic:api_key:a1", "x:ant")]["match"] == "prefix+last4"
    assert ("anthropic:api_key:a1", "x:ant-short") in got
    assert ("openai:api_key:o1", "x:oai") in got
    assert (LITELLM.id, "x:lite") in got
    assert len(got) == 4  # and nothing else


def test_near_misses_do_not_match():
    v = views(*CREDS,
              # same vendor prefix, different last four
              exposure("x:last4", redacted="sk-ant-api03-R2D...Xk9R"),
              # same last four, different vendor prefix (OpenAI form vs the Anthropic key)
              exposure("x:vendor", redacted="sk-svcacct-...Xk9Q"),
              # same vendor and last four, but the visible starts disagree
              exposure("x:start", redacted="sk-ant-api03-Q7P...Xk9Q"),
              # only three trailing characters visible
              exposure("x:short", redacted="sk-ant-api03-R2D...k9Q"),
              # AWS: same last four, different key id
              exposure("x:aws", key_id="AKIAQ3EGNORTHWNDXIB1", prefix="AKIA", last4="CIB1",
                       redacted="AKIAQ3EGNORTHWNDXIB1"),
              # fully hidden
              exposure("x:hidden", secret_form="hidden"))
    got = exposed(derived_edges(v, []))
    assert got == {}


def test_hash_and_key_id_matches_win():
    raw = "sk-ant-api03-" + "q" * 80 + "Xk9Q"
    hint, digest = reduce_secret(raw)
    hashed = node("anthropic:api_key:h1", "Credential", sha256=digest)
    v = views(*CREDS, hashed,
              exposure("x:hash", sha256=digest, redacted=hint.redacted, prefix=hint.prefix, last4=hint.last4),
              exposure("x:lite-hash", sha256="ab" * 32),
              exposure("x:aws", key_id="AKIAQ3EGNORTHWNDCIB1", redacted="AKIAQ3EGNORTHWNDCIB1"))
    got = exposed(derived_edges(v, []))
    # the hash decides: the look-alike Anthropic hint (same last four) is not also linked
    assert got[("anthropic:api_key:h1", "x:hash")]["match"] == "hash"
    assert ("anthropic:api_key:a1", "x:hash") not in got
    assert got[(LITELLM.id, "x:lite-hash")]["match"] == "hash"
    assert got[(AWS.id, "x:aws")]["match"] == "key_id"
    assert (AWS2.id, "x:aws") not in got


def test_ambiguous_hint_links_every_candidate():
    twin = node("anthropic:api_key:a2", "Credential", hint="sk-ant-api03-R2D...Xk9Q")
    v = views(ANTHROPIC, twin, exposure("x:ant", redacted="sk-ant-api03-R2D...Xk9Q"))
    got = exposed(derived_edges(v, []))
    assert set(got) == {("anthropic:api_key:a1", "x:ant"), ("anthropic:api_key:a2", "x:ant")}
    assert all(p["ambiguous"] for p in got.values())


def test_people_by_email_without_duplicates_and_uses_lifted():
    acct = node("openai:user:u1", "Account", email="Ana@Example.com")
    linked = node("okta:user:o1", "Account", email="ana@example.com")
    bare = node("litellm:user:x", "Account")
    gh = node("github:user:ana-silva", "Account", login="ana-silva")
    edges = [EdgeView("person:ana@example.com", "okta:user:o1", "HAS_ACCOUNT", {}),
             EdgeView("person:ana@example.com", "github:user:ana-silva", "HAS_ACCOUNT", {"via": "inventory alias"}),
             EdgeView("github:user:ana-silva", "github:copilot", "USES", {"last_activity_at": "2026-11-01T00:00:00Z"}),
             EdgeView("github:user:zed", "github:copilot", "USES", {})]
    out = derived_edges(views(acct, linked, bare, gh), edges)
    has = {(e.src, e.dst): e.properties for e in out if e.kind == "HAS_ACCOUNT"}
    assert has == {("person:ana@example.com", "openai:user:u1"): {"via": "email"}}
    uses = {(e.src, e.dst): e.properties for e in out if e.kind == "USES"}
    assert uses == {("person:ana@example.com", "github:copilot"): {
        "last_activity_at": "2026-11-01T00:00:00Z", "via_account": "github:user:ana-silva"}}


def test_scim_handles_claimed_by_two_people_link_no_one():
    s1 = node("scim:user:1", "Account", email="jo@a.com", emu_handle="jo", github_logins=["shared"])
    s2 = node("scim:user:2", "Account", email="jo@b.com", emu_handle="jo", github_logins=["shared"])
    s3 = node("scim:user:3", "Account", email="max@a.com", emu_handle="max")
    gh = [node(f"github:user:{x}", "Account") for x in ("jo_acme", "shared", "max_acme")]
    out = derived_edges(views(s1, s2, s3, *gh), [])
    linked = {e.dst: e.src for e in out if e.kind == "HAS_ACCOUNT" and e.dst.startswith("github:")}
    assert linked == {"github:user:max_acme": "person:max@a.com"}


def test_pure_inputs_untouched():
    v = views(*CREDS, exposure("x:ant", redacted="sk-ant-api03-R2D...Xk9Q"),
              node("openai:user:u1", "Account", email="a@b.c"))
    edges = [EdgeView("github:user:q", "github:copilot", "USES", {})]
    before_v, before_e = copy.deepcopy(v), copy.deepcopy(edges)
    first = derived_edges(v, edges)
    assert v == before_v and edges == before_e
    assert [(e.src, e.kind, e.dst) for e in derived_edges(v, edges)] == [(e.src, e.kind, e.dst) for e in first]


def test_hint_parsing():
    h = parse_redacted("sk-ant-api03-R2D...Xk9Q")
    assert (h.prefix, h.last4, h.vendor) == ("sk-ant-api03-R2D", "Xk9Q", "sk-ant-api03-")
    assert parse_redacted("sk-proj-****abcd").last4 == "abcd"
    assert parse_redacted("REDACTED") is None and parse_redacted("sk-plain") is None
    assert not same_key(parse_redacted("sk-...Xk9Q"), parse_redacted("sk-ant-api03-...Xk9Q"))


def _tail(i: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(digits[(i // 62 ** k) % 62] for k in range(4))


def test_linear_time_on_a_large_graph():
    n = 20_000
    nodes = {}
    for i in range(n):
        c = node(f"openai:api_key:k{i}", "Credential", redacted_value=f"sk-proj-...{_tail(i)}")
        nodes[c.id] = c
        a = node(f"openai:user:u{i}", "Account", email=f"p{i}@example.com")
        nodes[a.id] = a
        x = exposure(f"gitleaks:finding:{i}", redacted=f"sk-proj-...{_tail((i * 7) % n)}")
        nodes[x.id] = x
    start = time.perf_counter()
    out = derived_edges(nodes, [])
    elapsed = time.perf_counter() - start
    assert sum(e.kind == "HAS_ACCOUNT" for e in out) == n
    assert sum(e.kind == "EXPOSED_IN" for e in out) == n
    # Linear work, a few microseconds a node; the bound is loose for loaded CI machines.
    assert elapsed < 10.0, f"derived_edges took {elapsed:.2f}s for {3 * n} nodes"
    print(f"derived_edges: {3 * n} nodes, {len(out)} edges in {elapsed:.2f}s")
