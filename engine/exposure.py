"""Dollars an hour an attacker could burn through what a blast radius reaches.

The model (parameters in queries/risk.yaml `exposure:`), per active credential the
blast radius reaches, plus the source itself when it is a credential:

1. Rate limits, when the credential or its project states one (LiteLLM `tpm_limit`
   / `rpm_limit`, a vendor's rate limit): tokens an hour = tpm x 60, else
   rpm x 60 x `tokens_per_request`; priced at the blended per-token price
   (`input_share` x input + the rest x output) of the most expensive model the key
   has used, else its vendor's `default_models` entry.
2. Otherwise its observed peak day / 24 x `burst_factor`: an attacker runs at several
   times the average hour of the key's busiest day. A key with neither is unknown
   (counted as 0, and said so in the detail).
3. Capped by what is left of every budget above it (engine.rules.facts.budgets_above):
   remaining = budget - spend in its period (month to date of "now" for monthly
   budgets; LiteLLM's own `spend` for `max_budget`). An hour cannot burn more than
   is left.

The total is the sum over credentials (a budget shared by several keys caps each of
them, so the sum can overstate a shared cap; the detail lists each key's basis).
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from .ids import source_of
from .model import EdgeKind, NodeKind


@lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    from .rules.loader import load_data
    return load_data("risk.yaml").get("exposure", {})


def _num(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rate_limit(facts, view, keys: list[str]) -> tuple[float | None, str | None]:
    holders = [view] + [facts.node(p) for p in facts.projects_of(view.id)]
    for v in holders:
        if v is None:
            continue
        for k in keys:
            val = _num(v.properties.get(k))
            if val is not None and val > 0:
                return val, f"{v.id}.{k}"
    return None, None


def _price_per_token(facts, cred_id: str, cfg: dict) -> tuple[float | None, str | None]:
    share = float(cfg.get("input_share", 0.75))
    best: tuple[float, str] | None = None
    models = {m for (_, m) in facts.daily_by_model(cred_id)}
    view = facts.node(cred_id)
    allowed = view.properties.get("models") if view is not None else None
    if isinstance(allowed, list):
        models |= {str(m) for m in allowed}
    if not models:
        default = (cfg.get("default_models") or {}).get(source_of(cred_id))
        if default:
            models = {default}
    for m in sorted(models):
        price = facts.prices.lookup(m)
        if price is None:
            continue
        blended = (share * price.input + (1 - share) * price.output) / 1_000_000
        if best is None or blended > best[0]:
            best = (blended, m)
    return (best[0], best[1]) if best else (None, None)


def _spent_in_period(facts, node_id: str, period: str, since: date | None) -> float:
    """Spend under a budget node (the credential, the credentials a tool holds, or a
    project's usage) since the start of the budget period."""
    memo = facts.__dict__.setdefault("_budget_spend", {})
    if (node_id, since) in memo:
        return memo[(node_id, since)]
    view = facts.node(node_id)
    if view is None:
        return 0.0
    creds: set[str] = set()
    if view.kind == NodeKind.Credential.value:
        creds.add(node_id)
    elif view.kind == NodeKind.AITool.value:
        creds |= {e.dst for e in facts.out_edges(node_id, EdgeKind.HOLDS)}
    elif view.kind == NodeKind.Project.value:
        creds |= {e.src for e in facts.in_edges(node_id, EdgeKind.MEMBER_OF)}
    rows = [r for c in sorted(creds) for r in facts.usage_by_credential.get(c, [])]
    if view.kind == NodeKind.Project.value:
        rows += [r for r in facts.usage_by_subject.get(node_id, []) if r.credential_id is None]
    total = sum(facts.row_usd(r) or 0.0 for r in rows if since is None or r.day >= since)
    memo[(node_id, since)] = total
    return total


def remaining_budget(facts, budget) -> float:
    if budget.field == "max_budget" and budget.spent is not None:
        return max(budget.usd - budget.spent, 0.0)
    since = None
    if budget.period in ("month", "1mo", "30d") and facts.as_of is not None:
        since = facts.as_of.date().replace(day=1)
    return max(budget.usd - _spent_in_period(facts, budget.node_id, budget.period, since), 0.0)


def credential_exposure(facts, cred_id: str) -> dict[str, Any]:
    cfg = _config()
    view = facts.node(cred_id)
    keys = cfg.get("rate_limit_keys") or {}
    out: dict[str, Any] = {"credential": cred_id, "usd_per_hour": 0.0}
    tpm, tpm_from = _rate_limit(facts, view, keys.get("tpm", ["tpm_limit"]))
    rpm, rpm_from = _rate_limit(facts, view, keys.get("rpm", ["rpm_limit"]))
    usd = None
    if tpm or rpm:
        per_token, model = _price_per_token(facts, cred_id, cfg)
        if per_token is not None:
            tokens = tpm * 60 if tpm else rpm * 60 * float(cfg.get("tokens_per_request", 2000))
            usd = tokens * per_token
            out.update(basis="tpm_limit" if tpm else "rpm_limit", limit_from=tpm_from or rpm_from,
                       tokens_per_hour=tokens, model=model, usd_per_token=per_token)
    if usd is None:
        daily = facts.daily_usd(cred_id)
        if daily:
            peak_day, peak = max(daily.items(), key=lambda kv: (kv[1], kv[0]))
            usd = peak / 24 * float(cfg.get("burst_factor", 4))
            out.update(basis="observed_peak", peak_day=peak_day.isoformat(), peak_day_usd=round(peak, 2),
                       burst_factor=float(cfg.get("burst_factor", 4)))
        else:
            out.update(basis="unknown", note="no rate limit stated and no usage observed")
            usd = 0.0
    caps = []
    for b in facts.budgets_above(cred_id):
        left = remaining_budget(facts, b)
        caps.append({"node": b.node_id, "field": b.field, "budget_usd": b.usd, "remaining_usd": round(left, 2)})
    if caps:
        tightest = min(caps, key=lambda c: c["remaining_usd"])
        out["budgets"] = caps
        if tightest["remaining_usd"] < usd:
            usd = tightest["remaining_usd"]
            out["capped_by"] = f"{tightest['node']}.{tightest['field']}"
    out["usd_per_hour"] = round(usd, 4)
    return out


def spend_exposure(engine, result) -> tuple[float | None, list[dict[str, Any]]]:
    """Sum over the active credentials a blast radius reaches (and its source, if a
    credential) of what each could burn in an hour; with each one's basis."""
    from .findings import facts_of
    facts = facts_of(engine)
    creds = []
    src = result.source
    if src.kind == NodeKind.Credential.value and src.active:
        creds.append(src.id)
    # The kind first (no node view needed): most of a big blast radius is not credentials.
    kind_of = getattr(facts, "kind_of", None)
    cred_kind = NodeKind.Credential.value
    reached = result.reachable
    kinds = getattr(reached, "node_kinds", None)     # the embedded traversal's kind codes
    if kinds is not None and len(kinds) == len(reached):
        from .graph import KIND_CODES
        reached = [reached[i] for i in (kinds == KIND_CODES[cred_kind]).nonzero()[0].tolist()]
    for r in reached:
        if kind_of is not None and kind_of(r.node_id) != cred_kind:
            continue
        v = facts.node(r.node_id)
        if v is not None and v.kind == NodeKind.Credential.value and v.active:
            creds.append(r.node_id)
    detail = [credential_exposure(facts, c) for c in dict.fromkeys(creds)]
    total = round(sum(d["usd_per_hour"] for d in detail), 2)
    return total, detail
