"""Edges no single source states, derived from all of them at load. Pure (views and
edges in, new edges out) and linear: both stores call it (the embedded graph at load,
the Neo4j store when it materialises derived edges).

Person resolution (HAS_ACCOUNT person -> account, `via` says how):
1. edges a source already states (the account's own email, inventory
   `people[].aliases`) are kept as they are;
2. `email`: an Account with an `email` property and no HAS_ACCOUNT links to
   `person:<lower-cased email>`;
3. `scim`: a `github:user:<login>` with no HAS_ACCOUNT links to the person of a SCIM
   user that names the login, either explicitly (`github_logins`, from a provisioning
   attribute) or as a GitHub Enterprise Managed User: EMU logins are
   `<normalized IdP userName>_<shortcode>` and plain GitHub logins cannot contain `_`,
   so `handle_shortcode` matches a SCIM user whose `emu_handle` is `handle`.
   A login or handle that two people's SCIM users claim links no one.
Then `USES` (contract: Person -> AITool) is lifted from a resolved account to its
person (GitHub Copilot seats are stated per login), keeping the seat's properties.

Leak matching (EXPOSED_IN credential -> SecretExposure, `match` says how):
- `hash`: the exposure's `sha256` equals a credential's `sha256` (or LiteLLM
  `token`/`token_hash`, the sha256 of the key, also the id of `litellm:key:<hash>`);
- `key_id`: the exposure's AWS access key id equals a credential's `key_id`;
- `prefix+last4`: the exposure's redacted form and a credential's (OpenAI
  `redacted_value`, Anthropic `partial_key_hint`, LiteLLM `key_name`/`key_alias`,
  `hint`, or `prefix` + `last4`) share vendor prefix and last four characters, and
  their visible starts agree (engine.secret_hints.same_key).
The strongest kind of match wins per exposure (hash, then key_id, then prefix+last4);
a prefix+last4 match that fits more than one credential links all of them with
`ambiguous: true`. A finding that matches nothing gets no edge: it stays a
SecretExposure of an unknown credential (its own redacted form tells what leaked).
"""
from __future__ import annotations

from typing import Iterable

from .ids import looks_like_email, person_id
from .secret_hints import Hint, hint_from_parts, is_sha256_hex, parse_redacted, same_key
from .store.base import EdgeView, NodeView

HINT_KEYS = ("redacted_value", "partial_key_hint", "hint", "key_name", "key_alias", "redacted")
ACCOUNT = "Account"
CREDENTIAL = "Credential"
EXPOSURE = "SecretExposure"


def derived_edges(views: dict[str, NodeView], edges: list[EdgeView],
                  leaks: list[tuple] | None = None) -> list[EdgeView]:
    """`leaks`, when given, is leak_links(views) computed beforehand (it reads no edge,
    so a graph build runs it while the edge rows are still being read)."""
    out: list[EdgeView] = []
    existing = {(e.src, e.kind, e.dst) for e in edges}

    def add(src: str, kind: str, dst: str, props: dict) -> None:
        if (src, kind, dst) not in existing:
            existing.add((src, kind, dst))
            out.append(EdgeView(src=src, dst=dst, kind=kind, properties=props, sources=["derived"]))

    person_of = _link_people(views, edges, add)
    _lift_uses(views, edges, person_of, add)
    if leaks is None:
        _match_leaks(views, add)
    else:
        for link in leaks:
            add(*link)
    return out


def leak_links(views: dict[str, NodeView]) -> list[tuple]:
    """The EXPOSED_IN links leak matching proposes, as (src, kind, dst, properties) in
    the order derived_edges adds them."""
    found: list[tuple] = []
    _match_leaks(views, lambda *link: found.append(link))
    return found


# --- people -----------------------------------------------------------------
def _link_people(views, edges, add) -> dict[str, str]:
    person_of: dict[str, str] = {}
    for e in edges:
        if e.kind == "HAS_ACCOUNT" and e.dst not in person_of:
            person_of[e.dst] = e.src

    for v in views.values():
        if v.kind != ACCOUNT or v.id in person_of:
            continue
        email = v.properties.get("email")
        if looks_like_email(email):
            pid = person_id(email)
            person_of[v.id] = pid
            add(pid, "HAS_ACCOUNT", v.id, {"via": "email"})

    # login/handle -> person; None marks one that names two people (never linked)
    by_login: dict[str, str | None] = {}
    by_emu: dict[str, str | None] = {}

    def claim(table: dict, key: str, pid: str) -> None:
        table[key] = pid if table.get(key, pid) == pid else None

    for v in views.values():
        if not v.id.startswith("scim:user:"):
            continue
        pid = person_of.get(v.id)
        if pid is None:
            continue
        for login in v.properties.get("github_logins") or ():
            claim(by_login, str(login).lower(), pid)
        handle = v.properties.get("emu_handle")
        if handle:
            claim(by_emu, str(handle).lower(), pid)

    if by_login or by_emu:
        for v in views.values():
            if not v.id.startswith("github:user:") or v.id in person_of:
                continue
            login = v.id[len("github:user:"):].lower()
            pid, how = by_login.get(login), "scim github login"
            if pid is None and "_" in login:
                pid, how = by_emu.get(login.rsplit("_", 1)[0]), "scim emu handle"
            if pid is not None:
                person_of[v.id] = pid
                add(pid, "HAS_ACCOUNT", v.id, {"via": how})
    return person_of


def _lift_uses(views, edges: Iterable[EdgeView], person_of: dict[str, str], add) -> None:
    for e in edges:
        if e.kind != "USES":
            continue
        src = views.get(e.src)
        pid = person_of.get(e.src)
        if pid and (src is None or src.kind == ACCOUNT):
            add(pid, "USES", e.dst, {**e.properties, "via_account": e.src})


# --- leaks ------------------------------------------------------------------
def _credential_hints(props: dict) -> set[Hint]:
    hints = {parse_redacted(props[k]) for k in HINT_KEYS if k in props}
    if "last4" in props:
        hints.add(hint_from_parts(props.get("prefix"), props.get("last4")))
    return {h for h in hints if h is not None and h.last4}


def _match_leaks(views: dict[str, NodeView], add) -> None:
    exposures = [v for v in views.values() if v.kind == EXPOSURE]
    if not exposures:
        return
    by_hash: dict[str, list[str]] = {}
    by_key_id: dict[str, list[str]] = {}
    by_tail: dict[tuple[str, str], list[tuple[str, Hint]]] = {}
    for v in views.values():
        if v.kind != CREDENTIAL:
            continue
        p = v.properties
        hashes = {p.get("sha256"), p.get("token"), p.get("token_hash")}
        if v.id.startswith("litellm:key:"):
            hashes.add(v.id[len("litellm:key:"):])
        for h in hashes:
            if is_sha256_hex(h):
                by_hash.setdefault(h, []).append(v.id)
        if p.get("key_id"):
            by_key_id.setdefault(str(p["key_id"]).strip(), []).append(v.id)
        for hint in _credential_hints(p):
            by_tail.setdefault((hint.vendor, hint.last4), []).append((v.id, hint))

    for x in exposures:
        p = x.properties
        hits: list[str] = []
        how = None
        if is_sha256_hex(p.get("sha256")) and p["sha256"] in by_hash:
            hits, how = by_hash[p["sha256"]], "hash"
        elif p.get("key_id"):
            # An AWS key id matches only in full: its last four alone say too little.
            hits, how = by_key_id.get(str(p["key_id"]).strip(), []), "key_id"
        else:
            hint = (parse_redacted(p.get("redacted")) if p.get("redacted") else None) \
                or hint_from_parts(p.get("prefix"), p.get("last4"))
            if hint is not None and hint.last4:
                hits = sorted({cid for cid, ch in by_tail.get((hint.vendor, hint.last4), ())
                               if same_key(ch, hint)})
                how = "prefix+last4"
        for cid in dict.fromkeys(hits):
            props = {"match": how, "scanner": p.get("scanner"), "date": p.get("date"),
                     "repository": p.get("repository"), "verified": p.get("verified")}
            if how == "prefix+last4" and len(hits) > 1:
                props["ambiguous"] = True
            add(cid, "EXPOSED_IN", x.id, {k: v for k, v in props.items() if v is not None})
