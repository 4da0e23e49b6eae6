"""What the AI-provider ingesters (OpenAI, Anthropic, LiteLLM, Bedrock) share: key
hints split for leak matching, timestamps normalised, accounts linked to people, and
usage summed to one row per day x credential x model."""
from __future__ import annotations

import functools
import gc
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable

from engine.derive import iso, parse_ts
from engine.ids import looks_like_email, person_id
from engine.model import EdgeKind, NodeKind, Records, UsageRow, trusted_edge, trusted_node, trusted_usage

from .accounts import _iso_text
from .errors import IngestError

# Vendor statuses under which a credential or account still works.
ACTIVE_STATUSES = {"active", "enabled", "valid"}
# Hints are shown as `<prefix>...<tail>`; vendors use an ellipsis or stars between.
_HINT_GAPS = ("...", "\u2026", "****", "***")


def gc_paused(fn: Callable) -> Callable:
    """Run an ingester with the cyclic garbage collector paused. Usage files make
    millions of small acyclic objects; the collector's repeated passes over them cost
    more than the parsing (measured 2-3x on 1M rows). Re-enabled however it ends."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return run


def ts(value: Any) -> str | None:
    """Any vendor timestamp (ISO string, unix seconds) as ISO 8601 UTC, else None."""
    return _iso_text(value) if type(value) is str else iso(parse_ts(value))


def day_of(value: Any, path: Path, where: str) -> date:
    dt = parse_ts(value)
    if dt is None:
        raise IngestError(path, f"{where}: {value!r} is not a timestamp")
    return dt.date()


def split_hint(hint: Any) -> dict[str, str]:
    """`sk-ant-api03-R2D...Xk9Q` -> hint, prefix `sk-ant-api03-R2D`, last4 `Xk9Q`."""
    if not isinstance(hint, str) or not hint:
        return {}
    out = {"hint": hint}
    for gap in _HINT_GAPS:
        if gap in hint:
            head, _, tail = hint.partition(gap)
            tail = tail.strip("*.\u2026")
            if head:
                out["prefix"] = head
            if tail:
                out["last4"] = tail[-4:]
            break
    return out


def status_active(status: Any) -> bool | None:
    if status is None or status == "":
        return None
    return str(status).strip().lower() in ACTIVE_STATUSES


def as_int(value: Any, path: Path, where: str) -> int:
    if type(value) is int:          # the common case, first: usage files hold millions
        return value
    if value is None:
        return 0
    if isinstance(value, bool):
        raise IngestError(path, f"{where}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(float(str(value)))
    except ValueError:
        raise IngestError(path, f"{where}: expected a number, got {value!r}") from None


def as_float(value: Any, path: Path, where: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise IngestError(path, f"{where}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise IngestError(path, f"{where}: expected a number, got {value!r}") from None


def require_dict(item: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise IngestError(path, f"{where}: expected an object, got {type(item).__name__}")
    return item


def clean(props: dict[str, Any]) -> dict[str, Any]:
    """Drop nulls so later sources' facts are not overwritten by a vendor's silence."""
    return {k: v for k, v in props.items() if v is not None}


class Graph:
    """Builds one source's nodes and edges, linking accounts with an email to people.
    Ids are formatted by the callers, kinds are ours and `active` is a bool or None, so
    records are built without re-validation (engine.model.trusted_node)."""

    def __init__(self, rec: Records):
        self.rec = rec
        self._people: set[str] = set()
        self._edges: set[tuple[str, str, str]] = set()

    def node(self, node_id: str, kind: NodeKind, name: str | None = None,
             active: bool | None = None, **props: Any) -> str:
        self.rec.nodes.append(trusted_node(node_id, kind, name, active, clean(props)))
        return node_id

    def edge(self, src: str, dst: str, kind: EdgeKind, **props: Any) -> None:
        key = (src, kind.value, dst)
        if key in self._edges and not props:
            return
        self._edges.add(key)
        self.rec.edges.append(trusted_edge(src, dst, kind, clean(props)))

    def account(self, node_id: str, email: Any, name: str | None = None,
                active: bool | None = None, **props: Any) -> str:
        """An account node; with an email, also its Person and HAS_ACCOUNT."""
        email_ok = looks_like_email(email)
        self.node(node_id, NodeKind.Account, name=name, active=active,
                  email=email.strip().lower() if email_ok else email, **props)
        if email_ok:
            pid = person_id(email)
            if pid not in self._people:
                self._people.add(pid)
                self.rec.nodes.append(trusted_node(pid, NodeKind.Person, None, None,
                                                   {"email": pid[len("person:"):]}))
            self.edge(pid, node_id, EdgeKind.HAS_ACCOUNT)
        return node_id


# Keyword names the AI ingesters pass to Graph.node/account themselves. A vendor field
# of the same name that a call site does not map is kept as `vendor_<name>`, so an
# unexpected field can never collide with ours (a TypeError instead of a clear result).
RESERVED_PROPS = frozenset({
    "node_id", "kind", "name", "active", "email", "vendor", "project_id", "workspace_id",
    "created_at", "updated_at", "added_at", "archived_at", "admin", "status", "login",
    "last_used_at", "expires_at"})


def vendor_extras(item: dict[str, Any], skip: set[str], drop=frozenset()) -> dict[str, Any]:
    """Vendor fields kept as properties: not mapped (`skip`), not secret (`drop`)."""
    out = {}
    for k, v in item.items():
        if k in skip or k in drop:
            continue
        out[f"vendor_{k}" if k in RESERVED_PROPS else k] = v
    return out


class UsageSum:
    """Sums vendor rows into one UsageRow per (day, credential, project, account, model).
    Each sum is a small list [input, output, cached, requests, vendor_usd, extra]: this
    runs once per vendor row, millions of times for a large usage file."""

    def __init__(self, source: str, requests_known: bool = True):
        """requests_known False: the vendor report states no request count (its rows'
        `requests` 0 means unknown, and they say so: `requests_known: false`)."""
        self.source = source
        self.rows: dict[tuple, list] = {}
        self.base = {"vendor": source} if requests_known else {"vendor": source, "requests_known": False}

    def add(self, day: date, model: str, credential_id: str | None, project_id: str | None,
            account_id: str | None, input_tokens: int = 0, output_tokens: int = 0,
            cached_input_tokens: int = 0, requests: int = 0, vendor_usd: float | None = None,
            extra: dict[str, int | float] | None = None) -> None:
        key = (day, credential_id, project_id, account_id, model)
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = [input_tokens, output_tokens, cached_input_tokens, requests,
                              vendor_usd, dict(extra) if extra else None]
            return
        row[0] += input_tokens
        row[1] += output_tokens
        row[2] += cached_input_tokens
        row[3] += requests
        if vendor_usd is not None:
            row[4] = (row[4] or 0.0) + vendor_usd
        if extra:
            sums = row[5] if row[5] is not None else {}
            for k, v in extra.items():
                sums[k] = sums.get(k, 0) + v
            row[5] = sums

    def usage_rows(self) -> list[UsageRow]:
        """In first-seen order (the file's), so re-reading a file gives the same list.
        Every sum was checked as it was added (ints via as_int, dates via day_of), so
        the rows are built without re-validation (engine.model.trusted_usage)."""
        base = self.base
        return [trusted_usage(day, model, cred, proj, acct, tin, tout, cached, reqs, usd,
                              {**base, **extra} if extra else dict(base))
                for (day, cred, proj, acct, model), (tin, tout, cached, reqs, usd, extra)
                in self.rows.items()]


def unknown_key_warnings(source: str, used: Iterable[str | None], listed: set[str],
                         what: str = "key") -> list[str]:
    """A usage row for a key the listing never named is kept; say so once per key."""
    missing = sorted({u for u in used if u and u not in listed})
    return [f"{source}: usage for {what} {m} which no listing names (row kept)" for m in missing]


def selected(files: Iterable[Path], only: set[Path] | None) -> list[Path]:
    files = sorted(set(files))
    if only is None:
        return files
    return [f for f in files if f.resolve() in only]
