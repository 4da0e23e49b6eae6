"""The fixed library of check primitives a rule's `match.check` names.

Each check looks at one subject through the Facts API (engine.rules.facts) and
returns zero or more hits, each with the evidence it rests on: the edges, usage rows
and timestamps, plus what it measured. Parameters come from the rule file (its
`parameters`, then `match.check.params`) over the defaults declared here; the loader
rejects unknown ones. "Now" is always `facts.as_of`.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Callable

from ..derive import iso as _iso_of, parse_ts as _parse_ts
from ..model import NodeKind
from ..store.base import NodeView
from .facts import Facts, edge_dict, normalise_model
from .kinds import (AITool as _KIND_AITool, Account as _KIND_Account, Credential as CRED,
                    OAuthGrant as _KIND_OAuthGrant, Person as _KIND_Person,
                    ServiceAccount as _KIND_ServiceAccount)
from .loader import load_data
from .usage import unpriced_said


@dataclass
class Hit:
    evidence: dict[str, Any]
    key: str | None = None          # tells apart several findings on one subject (a day, a model)
    message: str | None = None


@dataclass
class Check:
    name: str
    kinds: tuple[str, ...]
    fn: Callable[[Facts, NodeView, dict[str, Any]], list[Hit]]
    defaults: dict[str, Any] = field(default_factory=dict)
    doc: str = ""
    validators: dict[str, Callable[[Any], bool]] = field(default_factory=dict)
    # Optional bulk screen (engine.rules.screens): the ids of every subject this check
    # could hit, a superset worked out in one pass, so the check runs only on those.
    screen: Callable[[Facts, dict[str, Any]], "set[str] | None"] | None = None
    # Optional whole-rule form (engine.rules.bulk): the hits of every subject in a list
    # at once, [fn(facts, view, params) for view in views] to the last byte, from bulk
    # passes over the embedded facts' columns instead of one call per subject.
    bulk: Callable[[Facts, list[NodeView], dict[str, Any]], list[list[Hit]]] | None = None

    def validate_params(self, params: dict[str, Any]) -> None:
        for name, value in params.items():
            default = self.defaults.get(name)
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{name} must be a number, got {value!r}")
                if value < 0:
                    raise ValueError(f"{name} must be 0 or more, got {value!r}")
            elif isinstance(default, bool) and not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
            elif isinstance(default, str) and not isinstance(value, str):
                raise ValueError(f"{name} must be a string, got {value!r}")

    def run(self, facts: Facts, view: NodeView, params: dict[str, Any]) -> list[Hit]:
        return self.fn(facts, view, {**self.defaults, **params})


CHECKS: dict[str, Check] = {}


def check(name: str, kinds: tuple[str, ...], **defaults):
    def register(fn):
        CHECKS[name] = Check(name=name, kinds=kinds, fn=fn, defaults=defaults, doc=fn.__doc__ or "")
        return fn
    return register


def _now(facts: Facts) -> datetime | None:
    return facts.as_of


# Timestamps repeat across thousands of subjects (and "now" is in every finding):
# each distinct value is parsed and formatted once. Datetimes are immutable.
@lru_cache(maxsize=1 << 16)
def _parse_text(value: str) -> datetime | None:
    return _parse_ts(value)


def parse_ts(value: Any) -> datetime | None:
    return _parse_text(value) if type(value) is str else _parse_ts(value)


@lru_cache(maxsize=1 << 16)
def iso(value: datetime | None) -> str | None:
    return _iso_of(value)


def _usage_row(facts: Facts, r) -> dict[str, Any]:
    usd = facts.row_usd(r)
    return unpriced_said({"source": r.source, "day": r.day.isoformat(), "model": r.model,
                          "credential_id": r.credential_id, "project_id": r.project_id,
                          "account_id": r.account_id, "input_tokens": r.input_tokens,
                          "output_tokens": r.output_tokens, "requests": r.requests,
                          "usd": None if usd is None else round(usd, 4)})


def usage_usd_text(summary: dict[str, Any]) -> str:
    """`$12.30`, or `$12.30 + unpriced (model-x)` when some models have no price."""
    text = f"${summary['usd']:,.2f}"
    if summary.get("unpriced_models"):
        text += f" + unpriced ({', '.join(summary['unpriced_models'])})"
    return text


def _owners_evidence(facts: Facts, node_id: str) -> list[dict[str, Any]]:
    return [{"person": o.person, "status": o.status, "deactivated_at": o.deactivated_at,
             "via": o.via} for o in facts.owner_people(node_id)]


def _owner_edges(facts: Facts, node_id: str) -> list[dict[str, Any]]:
    from ..model import EdgeKind as K
    edges = facts.edge_dicts(node_id, K.OWNS, out=False)
    edges += [edge_dict(e) for e in facts.out_edges(node_id, K.AUTHENTICATES_AS, K.MEMBER_OF)]
    return edges


# --- ownership -------------------------------------------------------------
@check("no_active_owner", (CRED, NodeKind.ServiceAccount.value, NodeKind.AITool.value))
def no_active_owner(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """Active subject none of whose resolved owners is an active person (unverified is
    not active; no owner at all is orphaned too). A key only usage names (no listing,
    so no owner data) is a placeholder for ownership: not orphaned."""
    if not view.active or view.properties.get("stub"):
        return []
    people = facts.owner_people(view.id)
    if any(o.status == "active" for o in people):
        return []
    owners = facts.owners(view.id)
    why = "no owner resolves" if not owners else \
        "owners are " + ", ".join(f"{o.person} ({o.status})" for o in people)
    return [Hit({"owners": _owners_evidence(facts, view.id), "resolved_owners": owners,
                 "edges": _owner_edges(facts, view.id), "now": iso(_now(facts))},
                message=f"{view.id}: {why}")]


@check("owner_departed_with_usage", (CRED,))
def owner_departed_with_usage(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """A credential whose owner person is inactive, with usage on days after the
    owner's deactivation (the deactivation day itself is not counted: its daily
    bucket may predate the departure). Owners resolve directly, or through the
    service account, project or team (Facts.departed_owners); one finding lists every
    departed owner with usage after their departure, the earliest departure first."""
    if view.id not in facts.usage_by_credential:    # no usage: nothing spent after anyone left
        return []
    gone = facts.departed_owners(view.id)
    if not gone:
        return []
    rows = facts.usage_by_credential[view.id]
    owners = []
    for o in sorted(gone, key=lambda o: (parse_ts(o.deactivated_at), o.person)):
        left = parse_ts(o.deactivated_at)
        after = sorted((r for r in rows if r.day > left.date()), key=lambda r: (r.day, r.model))
        if after:
            owners.append((o, after))
    if not owners:
        return []
    o, after = owners[0]
    usd = sum(facts.row_usd(r) or 0.0 for r in after)
    days = len({r.day for r in after})
    listed = [{"person": x.person, "deactivated_at": x.deactivated_at, "via": x.via,
               "usd_after": round(sum(facts.row_usd(r) or 0.0 for r in rs), 2),
               "days_after": len({r.day for r in rs}), "first_day_after": rs[0].day.isoformat()}
              for x, rs in owners]
    return [Hit({
        "owner": o.person, "deactivated_at": o.deactivated_at, "via": o.via,
        "departed_owners": listed,
        "usage_after": [_usage_row(facts, r) for r in after],
        "usd_after": round(usd, 2), "days_after": days,
        "first_day_after": after[0].day.isoformat(), "last_day_after": after[-1].day.isoformat(),
        "edges": _owner_edges(facts, view.id), "now": iso(_now(facts))},
        message=f"{view.id}: owner{'s' if len(listed) > 1 else ''} "
                f"{', '.join(x['person'] + ' (left ' + str(x['deactivated_at']) + ')' for x in listed)}; "
                f"${usd:,.2f} spent over {days} days since the first left")]


# --- lifecycle -------------------------------------------------------------
@check("stale", (CRED,), unused_days=90, never_used_days=30)
def stale(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """Active, last used more than `unused_days` before now, or never used and created
    more than `never_used_days` before now. Last use is the later of the vendor's
    `last_used_at` and the last usage row."""
    now = _now(facts)
    if not view.active or now is None:
        return []
    stated = parse_ts(view.properties.get("last_used_at"))
    day = facts.last_usage_day(view.id)
    seen = datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo) if day else None
    last = max([t for t in (stated, seen) if t is not None], default=None)
    if last is not None:
        if last < now - timedelta(days=p["unused_days"]):
            idle = (now - last).days
            created = parse_ts(view.properties.get("created_at"))
            base = {"now": iso(now), "last_used_at": iso(stated),
                    "last_usage_day": day.isoformat() if day else None, "created_at": iso(created)}
            return [Hit({**base, "idle_days": idle, "threshold_days": p["unused_days"]},
                        message=f"{view.id}: last used {iso(last)}, {idle} days before now")]
        return []
    created = parse_ts(view.properties.get("created_at"))
    base = {"now": iso(now), "last_used_at": iso(stated), "last_usage_day": day.isoformat() if day else None,
            "created_at": iso(created)}
    if created is not None and created < now - timedelta(days=p["never_used_days"]):
        age = (now - created).days
        return [Hit({**base, "never_used": True, "age_days": age, "threshold_days": p["never_used_days"]},
                    message=f"{view.id}: never used, created {iso(created)} ({age} days ago)")]
    return []


@check("long_lived", (CRED,), max_age_days=90, max_lifetime_days=90)
def long_lived(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """Active, older than `max_age_days`, and no expiry or an expiry more than
    `max_lifetime_days` after creation."""
    now = _now(facts)
    created = parse_ts(view.properties.get("created_at"))
    if not view.active or now is None or created is None:
        return []
    if not created < now - timedelta(days=p["max_age_days"]):
        return []
    expires = parse_ts(view.properties.get("expires_at"))
    lifetime = None if expires is None else (expires - created).days
    if expires is not None and not expires - created > timedelta(days=p["max_lifetime_days"]):
        return []
    age = (now - created).days
    return [Hit({"now": iso(now), "created_at": iso(created), "expires_at": iso(expires),
                 "age_days": age, "lifetime_days": lifetime},
                message=f"{view.id}: {age} days old, " +
                        ("no expiry" if expires is None else f"expires {lifetime} days after creation"))]


# --- exposure and sharing --------------------------------------------------
@check("exposed", (CRED,))
def exposed(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """Matched to a secret-scanner finding (EXPOSED_IN, derived by engine.linking)."""
    found = facts.exposures(view.id)
    if not found:
        return []
    exposures = []
    for e, x in found:
        props = dict(x.properties) if x else {}
        exposures.append({"id": e.dst, "match": e.properties.get("match"),
                          # (file and line let SARIF place the finding in the repository)
                          **{k: props.get(k) for k in ("source", "repo", "repository", "repository_url",
                                                       "file", "line", "end_line", "commit",
                                                       "date", "created_at", "verified", "rule", "detector",
                                                       "redacted_value", "hint", "link")
                             if props.get(k) is not None}})
    dates = sorted(d for d in (parse_ts((x.properties if x else {}).get("date") or
                                        (x.properties if x else {}).get("created_at")) for _, x in found) if d)
    return [Hit({"exposures": exposures, "edges": [edge_dict(e) for e, _ in found],
                 "active": bool(view.active), "first_exposed_at": iso(dates[0]) if dates else None,
                 "now": iso(_now(facts))},
                message=f"{view.id}: exposed in {', '.join(x['id'] for x in exposures)}"
                        + (" and still active" if view.active else " (inactive now)"))]


@check("shared", (CRED,), min_people=2, min_tools=2)
def shared(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """Used or held by `min_people`+ people, `min_tools`+ tools, or a person and a tool."""
    holders = facts.holders(view.id)
    people = sorted({h.person or h.id for h in holders if h.kind in (_KIND_Person, _KIND_Account)})
    tools = sorted({h.id for h in holders if h.kind == _KIND_AITool})
    if not (len(people) >= p["min_people"] or len(tools) >= p["min_tools"] or (people and tools)):
        return []
    from ..model import EdgeKind as K
    return [Hit({"people": people, "tools": tools,
                 "holders": [{"id": h.id, "kind": h.kind, "via": h.via} for h in holders],
                 "edges": facts.edge_dicts(view.id, K.HOLDS, out=False)},
                message=f"{view.id}: held or used by {len(people)} people and {len(tools)} tools")]


@check("environment_mix", (CRED,), production="prod")
def environment_mix(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """Held or used in production and in another environment (its own, its project's,
    and its holders' environments, names normalised by queries/environments.yaml)."""
    envs = facts.environments(view.id)
    prod = facts.envs.normalise(p["production"])
    if prod not in envs or len(envs) < 2:
        return []
    from ..model import EdgeKind as K
    return [Hit({"environments": envs,
                 "edges": facts.edge_dicts(view.id, K.HOLDS, out=False)},
                message=f"{view.id}: used in {', '.join(envs)}")]


# --- OAuth -------------------------------------------------------------------
@lru_cache(maxsize=1)
def sensitive_scope_table() -> dict[str, dict[str, Any]]:
    """{lower-cased scope: {provider, category, access, scope}} from queries/sensitive_scopes.yaml."""
    data = load_data("sensitive_scopes.yaml")
    out = {}
    for provider, spec in (data.get("providers") or {}).items():
        for entry in spec.get("scopes", []):
            out[str(entry["scope"]).lower()] = {"provider": provider, "scope": entry["scope"],
                                                "category": entry.get("category"),
                                                "access": entry.get("access", "read")}
    return out


@lru_cache(maxsize=65536)
def _scope_keys(scope: str) -> tuple[str, ...]:
    s = scope.strip().lower()
    keys = [s]
    for prefix in ("https://graph.microsoft.com/", "https://outlook.office.com/", "https://outlook.office365.com/"):
        if s.startswith(prefix):
            keys.append(s[len(prefix):])
    return tuple(keys)


def sensitive_scopes_of(scopes: list[str]) -> list[dict[str, Any]]:
    # Grants share a long-tailed handful of scope sets: each set is looked up once,
    # and every caller gets its own dicts.
    return [dict(h) for h in _sensitive_hits(tuple(scopes))]


@lru_cache(maxsize=65536)
def _sensitive_hits(scopes: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    table = sensitive_scope_table()
    out = []
    for s in scopes:
        hit = next((table[k] for k in _scope_keys(s) if k in table), None)
        if hit is not None:
            out.append({**hit, "granted": s})
    return tuple(out)


@lru_cache(maxsize=1)
def _vendor_matchers() -> tuple[list, list]:
    data = load_data("ai_vendors.yaml")
    vendors = []
    for vendor in data.get("vendors", []):
        words = [(f"domain {d}", re.compile(r"(^|[^a-z0-9\-])" + re.escape(d.lower()) + r"($|[^a-z0-9\-])"))
                 for d in vendor.get("domains", [])]
        words += [(f"name {n}", re.compile(r"(^|[^a-z0-9])" + re.escape(n.lower()) + r"($|[^a-z0-9])"))
                  for n in vendor.get("names", [])]
        vendors.append((vendor["name"], {str(x) for x in vendor.get("client_ids", [])}, words))
    patterns = [(p, re.compile(p)) for p in data.get("name_patterns", [])]
    return vendors, patterns


def _any_of(regexes: list) -> "re.Pattern | None":
    """One alternation of many regexes: it finds a match exactly when one of them would
    (search tries every alternative at every position), so a miss, the common case,
    costs one scan instead of one per vendor word. None when they cannot be combined."""
    if not regexes:
        return None
    try:
        return re.compile("|".join(f"(?:{rx.pattern})" for rx in regexes))
    except re.error:
        return None


@lru_cache(maxsize=1)
def _vendor_screens() -> tuple:
    vendors, patterns = _vendor_matchers()
    ids = frozenset(i for _, client_ids, _ in vendors for i in client_ids)
    # Every vendor word's regex needs the lower-cased word itself in the text: a plain
    # substring test rules most texts out before any regex runs.
    data = load_data("ai_vendors.yaml")
    literals = tuple(sorted({str(w).lower() for v in data.get("vendors", [])
                             for w in (*v.get("domains", []), *v.get("names", []))}))
    return ids, _any_of([rx for _, _, words in vendors for _, rx in words]), \
        _any_of([rx for _, rx in patterns]), literals


def ai_vendor_of(texts: list[str], client_id: str | None) -> dict[str, Any] | None:
    """The known AI vendor an OAuth client belongs to (queries/ai_vendors.yaml), by
    client id, domain, or name; else an app whose own name says AI."""
    return _ai_vendor(tuple(texts), client_id)


@lru_cache(maxsize=65536)
def _ai_vendor(texts: tuple[str, ...], client_id: str | None) -> dict[str, Any] | None:
    vendors, patterns = _vendor_matchers()
    hay = " ".join(texts).lower()
    known_ids, any_word, any_pattern, literals = _vendor_screens()
    if not (client_id and str(client_id) in known_ids) and (
            not any(w in hay for w in literals) or (any_word is not None and any_word.search(hay) is None)):
        vendors = ()    # no client id and no vendor word matches: the loop would find nothing
    for name, ids, words in vendors:
        if client_id and str(client_id) in ids:
            return {"vendor": name, "matched": f"client id {client_id}"}
        for label, rx in words:
            if rx.search(hay):
                return {"vendor": name, "matched": label}
    if any_pattern is not None and not any(any_pattern.search(t) for t in texts
                                           if not t.startswith(("http://", "https://"))):
        return None
    for label, rx in patterns:
        for text in texts:
            if not text.startswith(("http://", "https://")) and rx.search(text):
                return {"vendor": text, "matched": f"name pattern {label}"}
    return None


@check("sensitive_scopes", (NodeKind.OAuthGrant.value,))
def sensitive_scopes(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """An OAuth grant holding a scope from queries/sensitive_scopes.yaml."""
    g = facts.grant(view.id)
    hits = sensitive_scopes_of(g.scopes)
    if not hits:
        return []
    vendor = ai_vendor_of(g.texts, g.client_id)
    from ..model import EdgeKind as K
    return [Hit({"sensitive_scopes": hits, "scopes": g.scopes, "client_id": g.client_id,
                 "client_name": g.client_name, "client": g.client_node, "consented_by": g.consented_by,
                 "ai_vendor": vendor["vendor"] if vendor else None, "active": bool(view.active),
                 "edges": g.opens + facts.edge_dicts(view.id, K.CONSENTED, out=False)},
                message=f"{view.id}: grants {', '.join(h['granted'] for h in hits)}"
                        + (f" to {g.client_name}" if g.client_name else ""))]


# --- AI usage governance -----------------------------------------------------
@check("unclaimed_ai", (CRED, NodeKind.Project.value, NodeKind.ServiceAccount.value,
                        _KIND_Account, _KIND_OAuthGrant))
def unclaimed_ai(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """AI-provider usage on a credential, project or workspace (or an identity the
    vendor bills with no key) that no approved inventory tool claims; or an OAuth grant
    to a known AI vendor's client (queries/ai_vendors.yaml) no approved tool claims.
    A credential's usage is claimed by a tool holding it, or by a tool holding another
    credential of its project (the project is then a known tool's)."""
    if view.kind == _KIND_OAuthGrant:
        g = facts.grant(view.id)
        vendor = ai_vendor_of(g.texts, g.client_id)
        if vendor is None:
            return []
        claimed = facts.claims(view.id) + (facts.claims(g.client_node) if g.client_node else [])
        if claimed:
            return []
        return [Hit({"ai_vendor": vendor["vendor"], "matched": vendor["matched"], "client_id": g.client_id,
                     "client_name": g.client_name, "client": g.client_node, "scopes": g.scopes,
                     "sensitive_scopes": [h["granted"] for h in sensitive_scopes_of(g.scopes)],
                     "consented_by": g.consented_by, "edges": g.opens},
                    message=f"{view.id}: OAuth grant to {vendor['vendor']} ({g.client_name or g.client_id}) "
                            f"that no approved tool claims")]
    if not facts.has_usage(view.id):
        return []
    claimed = list(facts.claims(view.id))     # a copy: claims() answers are memoised
    projects = facts.projects_of(view.id) if view.kind == CRED else []
    if view.kind == CRED:
        projects = sorted(set(projects) | set(facts.usage_projects(view.id)))
        for proj in projects:
            claimed += facts.claims(proj)
    if view.kind in (_KIND_ServiceAccount, _KIND_Account):
        from ..model import EdgeKind as K
        for e in facts.in_edges(view.id, K.AUTHENTICATES_AS):
            claimed += facts.claims(e.src)
    if claimed:
        return []
    summary = facts.usage_summary(view.id)
    return [Hit({"usage": summary, "projects": projects, "usage_rows": facts.recent_usage(view.id, 20),
                 "now": iso(_now(facts))},
                message=f"{view.id}: {usage_usd_text(summary)} of AI usage on {summary['days']} days "
                        f"({', '.join(summary['models'])}) that no approved tool claims")]


@check("no_budget_with_spend", (CRED,), spend_window_days=30, min_spend_usd=0.0)
def no_budget_with_spend(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """An active credential with spend (over `min_spend_usd` in the last
    `spend_window_days`) and no budget cap on it or anything above it."""
    if not view.active:
        return []
    spent = facts.spend_usd(view.id, int(p["spend_window_days"]))
    if not spent > p["min_spend_usd"]:
        return []
    if facts.budgets_above(view.id):
        return []
    from ..model import EdgeKind as K
    above = facts.edge_dicts(view.id, K.MEMBER_OF)
    above += facts.edge_dicts(view.id, K.HOLDS, out=False)
    return [Hit({"spend_usd_window": round(spent, 2), "window_days": int(p["spend_window_days"]),
                 "checked": above, "now": iso(_now(facts))},
                message=f"{view.id}: ${spent:,.2f} in {int(p['spend_window_days'])} days, no budget above it")]


# --- spend behaviour -------------------------------------------------------
def dense_series(daily: dict[date, float], end: date | None = None) -> list[tuple[date, float]]:
    if not daily:
        return []
    start = min(daily)
    stop = max(max(daily), end) if end else max(daily)
    out = []
    d = start
    while d <= stop:
        out.append((d, daily.get(d, 0.0)))
        d += timedelta(days=1)
    return out


def anomalous_days(series: list[tuple[date, float]], p: dict) -> list[dict[str, Any]]:
    """Days far above their own trailing robust baseline. For each day: the trailing
    `baseline_days` (only days since first use) give a median m and a MAD scaled to a
    standard deviation, floored at `mad_floor_fraction` x m and `mad_floor_usd`. The
    day fires when it exceeds m + `mad_multiplier` x that spread, is at least
    `min_ratio` x m, exceeds m by at least `dollar_floor_usd`, and the window had at
    least `min_active_days` days with spend (too little history means no baseline)."""
    out = []
    n = int(p["baseline_days"])
    floor = float(p["dollar_floor_usd"])
    for i, (day, usd) in enumerate(series):
        if usd < floor:         # the median is >= 0, so it could not clear the dollar floor
            continue
        window = [v for _, v in series[max(0, i - n):i]]
        if len(window) < int(p["min_baseline_days"]):
            continue
        if sum(1 for v in window if v > 0) < int(p["min_active_days"]):
            continue
        m = statistics.median(window)
        mad = statistics.median(abs(v - m) for v in window)
        spread = max(float(p["mad_scale"]) * mad, float(p["mad_floor_fraction"]) * m, float(p["mad_floor_usd"]))
        threshold = m + float(p["mad_multiplier"]) * spread
        if usd > threshold and usd >= float(p["min_ratio"]) * m and usd - m >= float(p["dollar_floor_usd"]):
            out.append({"day": day, "usd": round(usd, 2), "baseline_median_usd": round(m, 2),
                        "baseline_mad_usd": round(mad, 2), "threshold_usd": round(threshold, 2),
                        "ratio": round(usd / m, 2) if m > 0 else None, "excess_usd": round(usd - m, 2),
                        "window": [series[max(0, i - n)][0].isoformat(), series[i - 1][0].isoformat()]})
    return out


ANOMALY_DEFAULTS = dict(baseline_days=14, min_baseline_days=7, min_active_days=7, mad_multiplier=6.0,
                        mad_scale=1.4826, mad_floor_fraction=0.1, mad_floor_usd=1.0, min_ratio=3.0,
                        dollar_floor_usd=20.0)


@check("spend_anomaly", (CRED,), **ANOMALY_DEFAULTS)
def spend_anomaly(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """One hit per day whose USD on this credential is far above its own trailing
    robust baseline (see anomalous_days)."""
    daily = facts.daily_usd(view.id)
    if not daily:
        return []
    by_model = facts.daily_by_model(view.id)
    hits = []
    for a in anomalous_days(dense_series(daily), p):
        day = a["day"]
        models = {m: round(c["usd"], 2) for (d, m), c in sorted(by_model.items()) if d == day}
        rows = [_usage_row(facts, r) for r in facts.usage_by_credential.get(view.id, []) if r.day == day]
        ratio = f"{a['ratio']}x" if a["ratio"] else "from nothing"
        hits.append(Hit({**a, "day": day.isoformat(), "models": models, "usage": rows},
                        key=day.isoformat(),
                        message=f"{view.id}: ${a['usd']:,.2f} on {day.isoformat()} vs a "
                                f"${a['baseline_median_usd']:,.2f}/day baseline ({ratio})"))
    return hits


@check("new_model", (CRED,), min_history_days=14)
def new_model(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """A credential's first use of a model (dated snapshots of one model count as one)
    at least `min_history_days` after its first use of anything: categorical, no
    threshold on volume. Models first used on the key's first day are its baseline."""
    first = facts.first_use(view.id)
    if len(first) < 2:
        return []
    start = min(first.values())
    hits = []
    for model, day in first.items():
        if (day - start).days < int(p["min_history_days"]):
            continue
        prior = sorted(m for m, d in first.items() if d < day)
        if not prior:
            continue
        rows = [_usage_row(facts, r) for r in facts.usage_by_credential.get(view.id, [])
                if r.day == day and normalise_model(r.model) == model]
        hits.append(Hit({"model": model, "first_day": day.isoformat(), "history_start": start.isoformat(),
                         "history_days": (day - start).days, "prior_models": prior, "usage": rows},
                        key=model,
                        message=f"{view.id}: first call to {model} on {day.isoformat()} after "
                                f"{(day - start).days} days on {', '.join(prior)}"))
    return hits


# The departure checks register themselves with the same library.
from . import departure  # noqa: E402,F401
