"""The compromise trace's timeline: what happened to one key, in time order, each event
with the source that says so.

Events: `created`; `exposed` (each secret-scanner finding, with who committed it and
that person's status); `owner-departed`, `holder-departed`, `author-departed`;
`first-use` / `last-use` after the compromise, per activity signal (usage report,
the vendor's own last-used time and service, Claude Code activity: engine.activity);
`anomaly` (each usage day the trace marks); `revoked` / `expired` / `removed` when
the key is out of service. An event whose time no source states (a key a vendor lists
as inactive, no date) comes last with `at` null.

Exposure authors: a scanner names the committer (gitleaks `Author`/`Email`,
trufflehog's git `email`); the email links to `person:<email>` when that person is
in the graph, so a departed author is called out.
"""
from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from datetime import datetime
from typing import Any

from .activity import USAGE_SOURCE_NAMES, ActivitySignal, describe_source, midnight, signals_of
from .derive import parse_ts
from .ids import IDENTITY_PROVIDERS, person_id, source_of
from .model import EdgeKind

SCANNER_NAMES = {"gitleaks": "gitleaks report", "trufflehog": "trufflehog report"}


@dataclass
class TimelineEvent:
    at: datetime | None
    kind: str
    source: str
    detail: str
    node_id: str | None = None      # the node the event is about, when not the subject


@dataclass
class ExposureAuthor:
    exposure_id: str
    name: str | None
    email: str | None
    person_id: str | None           # the linked person, when the graph has them
    status: str | None              # active | inactive | unverified
    departed_at: str | None


def exposure_time(x_props: dict[str, Any]) -> datetime | None:
    """When a scanner says the secret was committed (or found)."""
    for key in ("date", "created_at", "timestamp", "commit_date"):
        ts = parse_ts(x_props.get(key))
        if ts is not None:
            return ts
    return None


def exposure_authors(facts, exposures: list[str]) -> list[ExposureAuthor]:
    out = []
    for xid in exposures:
        x = facts.node(xid)
        if x is None:
            continue
        p = x.properties or {}
        # git metadata gives "Name <email>" (trufflehog) or the two apart (gitleaks).
        raw_name = p.get("author") if isinstance(p.get("author"), str) else None
        raw_email = p.get("email") if isinstance(p.get("email"), str) else None
        parsed_name, email = parseaddr(raw_email or raw_name or "")
        email = email.lower() if "@" in email else None
        name = raw_name if raw_name and raw_name != raw_email else (parsed_name or None)
        if email is None and name is None:
            continue
        pid = person_id(email) if email else None
        status = left = None
        if pid is not None and facts.node(pid) is not None:
            status, left = facts.person_status(pid)
        else:
            pid = None
        out.append(ExposureAuthor(xid, name, email, pid, status, left if status == "inactive" else None))
    return out


def _where(p: dict[str, Any]) -> str:
    repo = p.get("repository") or p.get("source_name")
    file_ = p.get("file")
    line = p.get("line") or p.get("start_line")
    bits = []
    if repo:
        bits.append(str(repo))
    if file_:
        bits.append(f"{file_}" + (f":{line}" if line else ""))
    if p.get("commit"):
        bits.append(f"commit {str(p['commit'])[:12]}")
    return " ".join(bits)


def _idp_sources(facts, person: str) -> str:
    found = sorted({source_of(e.dst) for e in facts.out_edges(person, EdgeKind.HAS_ACCOUNT)
                    if source_of(e.dst) in IDENTITY_PROVIDERS})
    return ", ".join(describe_source(s) for s in found) or "identity providers"


def _in_window(s: ActivitySignal, since: datetime | None) -> bool:
    if since is None:
        return True
    # A day bucket counts from the compromise's own day, as usageSince does.
    return s.at.date() >= since.date() if s.day else s.at >= since


def activity_since(engine, facts, creds: list[str], since: datetime | None) -> list[tuple[str, ActivitySignal]]:
    out = []
    for cid in creds:
        v = facts.node(cid)
        if v is None:
            continue
        out += [(cid, s) for s in signals_of(engine, facts, v) if _in_window(s, since)]
    as_of = engine.as_of
    if as_of is not None:
        out = [(c, s) for c, s in out if s.at <= as_of]
    out.sort(key=lambda cs: (cs[1].at, cs[0], cs[1].source))
    return out


def build_timeline(engine, facts, view, since, exposures: list[str], authors: list[ExposureAuthor],
                   creds: list[str], usage) -> list[TimelineEvent]:
    ev: list[TimelineEvent] = []
    props = view.properties or {}
    own_source = describe_source(source_of(view.id))
    created = parse_ts(props.get("created_at"))
    if created is not None:
        ev.append(TimelineEvent(created, "created", own_source, f"{view.id} created"))

    by_exposure = {a.exposure_id: a for a in authors}
    for xid in exposures:
        x = facts.node(xid)
        p = (x.properties if x else {}) or {}
        a = by_exposure.get(xid)
        who = ""
        if a is not None:
            who = " by " + " ".join(t for t in (a.name, f"<{a.email}>" if a.email else None) if t)
            if a.person_id:
                who += f" ({a.person_id}, {a.status}" + (f" since {a.departed_at}" if a.departed_at else "") + ")"
        where = _where(p)
        ev.append(TimelineEvent(exposure_time(p), "exposed", SCANNER_NAMES.get(source_of(xid), source_of(xid)),
                                f"secret committed{who}" + (f" in {where}" if where else "")
                                + ("; verified live by the scanner" if p.get("verified") is True else ""),
                                node_id=xid))
        if a is not None and a.status == "inactive":
            ev.append(TimelineEvent(parse_ts(a.departed_at), "author-departed", _idp_sources(facts, a.person_id),
                                    f"{a.person_id}, who committed it, has left: every identity-provider "
                                    f"account is deactivated", node_id=a.person_id))

    for o in facts.owner_people(view.id):
        if o.status == "inactive":
            via = "" if o.via == o.person else f" (owner through {o.via})"
            ev.append(TimelineEvent(parse_ts(o.deactivated_at), "owner-departed", _idp_sources(facts, o.person),
                                    f"owner {o.person}{via} left", node_id=o.person))
    owners = {o.person for o in facts.owner_people(view.id)}
    for h in facts.holders(view.id):
        if h.person and h.person not in owners:
            status, left = facts.person_status(h.person)
            if status == "inactive":
                ev.append(TimelineEvent(parse_ts(left), "holder-departed", _idp_sources(facts, h.person),
                                        f"{h.person}, who {'holds' if h.via == 'HOLDS' else 'used'} it, left",
                                        node_id=h.person))

    seen = activity_since(engine, facts, creds, since)
    per_source: dict[tuple[str, str], list[ActivitySignal]] = {}
    for cid, s in seen:
        per_source.setdefault((cid, s.source), []).append(s)
    for (cid, src), sigs in sorted(per_source.items()):
        on = "" if cid == view.id else f" on {cid}"
        first, last = sigs[0], sigs[-1]
        if len(sigs) > 1 or first.kind != "last-used":
            ev.append(TimelineEvent(first.at, "first-use", src, f"first use since the compromise{on}: {first.detail}",
                                    node_id=None if cid == view.id else cid))
        if len(sigs) > 1 or first.kind == "last-used":
            ev.append(TimelineEvent(last.at, "last-use", src, f"last use since the compromise{on}: {last.detail}",
                                    node_id=None if cid == view.id else cid))

    for u in usage:
        if u.anomalous:
            src = USAGE_SOURCE_NAMES.get(source_of(u.credential_id or view.id), "usage report")
            ev.append(TimelineEvent(midnight(u.day), "anomaly", src, f"{u.model}: {u.note}",
                                    node_id=None if u.credential_id == view.id else u.credential_id))

    if not view.active:
        reason = props.get("inactive_reason") or props.get("status") or "inactive"
        if view.removed_at:
            ev.append(TimelineEvent(parse_ts(view.removed_at), "removed", own_source,
                                    f"no longer listed by {own_source}"))
        elif reason == "expired":
            ev.append(TimelineEvent(parse_ts(props.get("expires_at")), "expired", own_source, "expired"))
        else:
            at = next((parse_ts(props.get(k)) for k in ("revoked_at", "deactivated_at", "disabled_at", "archived_at")
                       if parse_ts(props.get(k)) is not None), None)
            ev.append(TimelineEvent(at, "revoked", own_source, f"{own_source} lists it as {reason}"
                                    + ("" if at else " (no date stated)")))
    ev.sort(key=lambda e: (e.at is None, e.at.timestamp() if e.at else 0.0, e.kind, e.source))
    return ev
