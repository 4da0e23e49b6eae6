"""Evaluating rule conditions (`where`, `severity_raise[].when`) on one subject.

Ordered values (`reaches_sensitivity`) compare by their order, timestamps by time
(`older_than_days` is measured from "now", never the wall clock); a missing value
fails every test except `exists: false` and `ne`/`not_in`.
"""
from __future__ import annotations

import operator
import re
from datetime import datetime, timedelta
from typing import Any

from ..derive import parse_ts
from ..store.base import NodeView
from .models import SENSITIVITY_ORDER, Condition

_MISSING = object()


class Subject:
    """Lazy field values of one subject for conditions: cheap fields first, the
    expensive ones (blast radius, spend) only when a condition asks."""

    def __init__(self, facts, view: NodeView, evidence: dict[str, Any] | None = None):
        self.facts = facts
        self.view = view
        self.evidence = evidence or {}
        self._memo: dict[str, Any] = {}

    def get(self, field: str) -> Any:
        if field in self._memo:
            return self._memo[field]
        value = self._compute(field)
        self._memo[field] = value
        return value

    def _compute(self, field: str) -> Any:
        v = self.view
        if field == "id":
            return v.id
        if field == "kind":
            return v.kind
        if field == "name":
            return v.name if v.name is not None else _MISSING
        if field == "active":
            return bool(v.active)
        if field == "owner_status":
            return self.facts.owner_status(v.id)
        if field == "reaches_sensitivity":
            return self.facts.reaches_level(v.id)
        if field == "spend_usd_30d":
            return self.facts.spend_usd(v.id, 30)
        if field.startswith("properties."):
            return _dig(v.properties, field[len("properties."):])
        if field.startswith("evidence."):
            return _dig(self.evidence, field[len("evidence."):])
        return _MISSING


def _dig(data: Any, path: str) -> Any:
    if isinstance(data, dict) and path in data:
        return data[path] if data[path] is not None else _MISSING
    cur = data
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return _MISSING
    return _MISSING if cur is None else cur


def _ordered(field: str, value: Any) -> Any:
    if field == "reaches_sensitivity" and isinstance(value, str) and value in SENSITIVITY_ORDER:
        return SENSITIVITY_ORDER.index(value)
    if isinstance(value, str):
        ts = parse_ts(value) if re.match(r"^\d{4}-\d{2}-\d{2}", value) else None
        if ts is not None:
            return ts
    return value


def _cmp(op: str, left: Any, right: Any) -> bool:
    try:
        if op == "gt":
            return left > right
        if op == "gte":
            return left >= right
        if op == "lt":
            return left < right
        return left <= right
    except TypeError:
        return False


_OPS: dict[int, tuple[Condition, dict[str, Any]]] = {}


def ops_of(cond: Condition) -> dict[str, Any]:
    """cond.ops(), worked out once per condition object: a rule pack asks it for every
    subject. (The entry holds the condition, so its id is not reused while cached.)"""
    hit = _OPS.get(id(cond))
    if hit is None or hit[0] is not cond:
        if len(_OPS) > 4096:
            _OPS.clear()
        hit = _OPS[id(cond)] = (cond, cond.ops())
    return hit[1]


_ORDERED_ARGS: dict[int, tuple[Condition, dict[str, Any]]] = {}


def _ordered_arg(cond: Condition, op: str, arg: Any) -> Any:
    """_ordered(cond.field, arg), worked out once per condition and op (args are
    constants of the rule file)."""
    hit = _ORDERED_ARGS.get(id(cond))
    if hit is None or hit[0] is not cond:
        if len(_ORDERED_ARGS) > 4096:
            _ORDERED_ARGS.clear()
        hit = _ORDERED_ARGS[id(cond)] = (cond, {})
    table = hit[1]
    if op not in table:
        table[op] = _ordered(cond.field, arg)
    return table[op]


def holds(cond: Condition, subject: Subject, now: datetime | None) -> bool:
    value = subject.get(cond.field)
    for op, arg in ops_of(cond).items():
        if op == "exists":
            if (value is not _MISSING and value != "" and value != []) != arg:
                return False
            continue
        if value is _MISSING:
            if op in ("ne", "not_in"):
                continue
            return False
        if op == "eq":
            if value != arg and not (isinstance(value, str) and isinstance(arg, str) and value.lower() == arg.lower()):
                return False
        elif op == "ne":
            if value == arg:
                return False
        elif op == "in":
            if value not in arg:
                return False
        elif op == "not_in":
            if value in arg:
                return False
        elif op == "contains":
            if isinstance(value, (list, tuple, set)):
                if arg not in value:
                    return False
            elif str(arg) not in str(value):
                return False
        elif op == "matches":
            if not re.search(arg, str(value)):
                return False
        elif op in ("older_than_days", "newer_than_days"):
            ts = parse_ts(value)
            if ts is None or now is None:
                return False
            cutoff = now - timedelta(days=float(arg))
            if op == "older_than_days" and not ts < cutoff:
                return False
            if op == "newer_than_days" and not ts >= cutoff:
                return False
        else:
            if not _cmp(op, _ordered(cond.field, value), _ordered_arg(cond, op, arg)):
                return False
    return True


def all_hold(conds: list[Condition], subject: Subject, now: datetime | None) -> bool:
    return all(holds(c, subject, now) for c in conds)


# --- compiled conditions: the same tests without a Subject per finding ------------------
# A rule pack tests its severity raises on every finding (tens of thousands); holds()
# looks each field up by name through a Subject. `compile_conditions` works out once
# per condition list how to read each field and which ops to apply; its answers are
# holds()'s (tests/test_rules_compiled.py compares them on every field and op).

def _getter(field: str):
    """(facts, view, evidence) -> the field's value, as Subject._compute reads it."""
    if field == "id":
        return lambda facts, v, ev: v.id
    if field == "kind":
        return lambda facts, v, ev: v.kind
    if field == "name":
        return lambda facts, v, ev: v.name if v.name is not None else _MISSING
    if field == "active":
        return lambda facts, v, ev: bool(v.active)
    if field == "owner_status":
        return lambda facts, v, ev: facts.owner_status(v.id)
    if field == "reaches_sensitivity":
        return lambda facts, v, ev: facts.reaches_level(v.id)
    if field == "spend_usd_30d":
        return lambda facts, v, ev: facts.spend_usd(v.id, 30)
    if field.startswith("properties."):
        path = field[len("properties."):]
        return lambda facts, v, ev: _dig(v.properties, path)
    if field.startswith("evidence."):
        path = field[len("evidence."):]
        return lambda facts, v, ev: _dig(ev, path)
    return lambda facts, v, ev: _MISSING


class _ValueSubject:
    """The one-field Subject holds() needs to test a value already read."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def get(self, field: str) -> Any:
        return self.value


_CMP = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _tester(cond: Condition):
    """(value, now) -> holds(cond, ...) for a subject whose field has that value; the
    common shapes (`eq` a non-string, `exists`, an ordered comparison of
    reaches_sensitivity or a number) without holds()'s op loop."""
    ops = ops_of(cond)
    if len(ops) == 1:
        (op, arg), = ops.items()
        if op == "exists":
            return lambda value, now: (value is not _MISSING and value != "" and value != []) == arg
        if op == "eq" and not isinstance(arg, str):
            return lambda value, now: value is not _MISSING and value == arg
        if op in ("gt", "gte", "lt", "lte"):
            right = _ordered_arg(cond, op, arg)
            if cond.field == "reaches_sensitivity" and isinstance(right, int):
                rank = {name: i for i, name in enumerate(SENSITIVITY_ORDER)}
                cmp = _CMP[op]
                # reaches_level answers a name of SENSITIVITY_ORDER; anything else
                # takes holds()'s own path.
                return lambda value, now: cmp(rank[value], right) if type(value) is str and value in rank else \
                    holds(cond, _ValueSubject(value), now)
            if type(right) in (int, float):
                # A number is its own _ordered value: the comparison is holds()'s.
                cmp = _CMP[op]
                return lambda value, now: cmp(value, right) if type(value) in (int, float) else \
                    holds(cond, _ValueSubject(value), now)
    return lambda value, now: holds(cond, _ValueSubject(value), now)


def compile_conditions(conds: list[Condition]):
    """(facts, view, evidence, now) -> all_hold(conds, Subject(facts, view, evidence), now).
    Each field is read at most once per call, as a Subject's memo would."""
    parts = [(cond.field, _getter(cond.field), _tester(cond)) for cond in conds]
    if len(parts) == 1:
        (_, get, test), = parts

        def one(facts, view, evidence, now) -> bool:
            return test(get(facts, view, evidence), now)
        return one

    def every(facts, view, evidence, now) -> bool:
        seen: dict[str, Any] = {}
        for field, get, test in parts:
            value = seen[field] if field in seen else seen.setdefault(field, get(facts, view, evidence))
            if not test(value, now):
                return False
        return True
    return every
