"""Findings: the rule pack (queries/rules/ plus --rules directories) evaluated over
the facts of the current store generation.

Each rule file names subject kinds, a check from engine.rules.checks and/or
conditions; every hit becomes a Finding with a stable id (`<rule>:<subject>` plus
`:<day>` or `:<model>` for per-day and per-model rules), the rule's frameworks, a
severity (the rule's base, raised by its `severity_raise` entries) and the evidence
the check collected. Results are cached per store generation, ordered by severity,
rule, subject, id.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .rules.conditions import Subject, all_hold
from .rules.models import SEVERITY_RANK, Rule


@dataclass
class Finding:
    id: str                 # stable: rule + subject (+ day for per-day rules)
    rule: str
    title: str
    severity: str           # critical | high | medium | low
    subject_id: str
    frameworks: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)


def rule_dirs_of(engine, extra_rule_dirs=None) -> tuple[str, ...]:
    dirs = list(getattr(engine, "rule_dirs", None) or []) + list(extra_rule_dirs or [])
    return tuple(str(d) for d in dirs)


def rules_of(engine, extra_rule_dirs=None) -> list[Rule]:
    from .rules.loader import load_rules
    return load_rules(rule_dirs_of(engine, extra_rule_dirs))


def facts_of(engine):
    """The store's own facts when it offers them (Neo4j), else the embedded ones."""
    def build():
        provider = getattr(engine.store, "rule_facts", None)
        if provider is not None:
            return provider(engine)
        from .rules.facts import Facts
        return Facts(engine)
    return engine.cached(f"rule-facts@{engine.as_of}", build)


def _severity(rule: Rule, subject: Subject, now) -> tuple[str, list[str]]:
    best = rule.severity
    reasons = [f"base {rule.severity}"]
    for raise_ in rule.severity_raise:
        if SEVERITY_RANK[raise_.severity] < SEVERITY_RANK[best] and all_hold(raise_.when, subject, now):
            best = raise_.severity
            reasons.append(f"raised to {raise_.severity}: " + (raise_.reason or ", ".join(
                f"{c.field} {' '.join(f'{k} {v}' for k, v in c.ops().items())}" for c in raise_.when)))
    return best, reasons


@contextmanager
def _gc_paused():
    """Evaluating a pack builds many small dicts and no cycles; with a big graph in
    memory each full collection would walk millions of objects, so it waits."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def evaluate_rule(rule: Rule, facts, screened: bool = True) -> list[Finding]:
    with _gc_paused():
        return _evaluate_rule(rule, facts, screened)


def _evaluate_rule(rule: Rule, facts, screened: bool) -> list[Finding]:
    """Findings of one rule. `screened`: run the check only on the subjects its bulk
    screen (engine.rules.screens) lets through; the same findings, far fewer calls.
    Off, every subject of the rule's kinds is checked (the reference path)."""
    from .rules.checks import CHECKS, Hit
    from .rules.facts import Facts
    from .rules import screens  # noqa: F401  (registers the screens on CHECKS)
    now = facts.as_of
    check = CHECKS[rule.match.check.name] if rule.match.check else None
    params = {**rule.parameters, **(rule.match.check.params if rule.match.check else {})}
    out: list[Finding] = []
    now_text = now.isoformat().replace("+00:00", "Z") if now else None
    keep = None
    # Screens read the embedded facts' indexes: a store's own facts are not screened.
    if screened and check is not None and check.screen is not None and type(facts) is Facts:
        keep = check.screen(facts, {**check.defaults, **params})
    views = facts.subjects(rule.match.kinds) if keep is None else facts.subjects_among(rule.match.kinds, keep)
    # What is the same for every subject, worked out once (Check.run's parameters).
    run = check.fn if check is not None else None
    run_params = {**check.defaults, **params} if check is not None else None
    where = rule.match.where
    raises = rule.severity_raise
    append = out.append
    for view in views:
        subject = None
        if where:
            subject = Subject(facts, view)
            if not all_hold(where, subject, now):
                continue
        if run is not None:
            hits = run(facts, view, run_params)
            if not hits:
                continue
        else:
            hits = [Hit({"conditions": [{"field": c.field, **c.ops(), "value": _shown(subject.get(c.field))}
                                        for c in where]},
                        message=f"{view.id}: {rule.title}")]
        for hit in hits:
            if raises:
                if subject is None:
                    subject = Subject(facts, view)
                subject.evidence = hit.evidence
                if subject._memo and any(k.startswith("evidence.") for k in subject._memo):
                    subject._memo = {k: v for k, v in subject._memo.items() if not k.startswith("evidence.")}
                severity, reasons = _severity(rule, subject, now)
            else:
                severity, reasons = rule.severity, [f"base {rule.severity}"]
            evidence = {"summary": hit.message or f"{view.id}: {rule.title}", **hit.evidence,
                        "severity_reasons": reasons}
            if "now" not in evidence:
                evidence["now"] = now_text
            fid = f"{rule.id}:{view.id}" + (f":{hit.key}" if hit.key else "")
            append(Finding(id=fid, rule=rule.id, title=rule.title, severity=severity,
                           subject_id=view.id, frameworks=list(rule.frameworks), evidence=evidence))
    return out


def _shown(value):
    from .rules.conditions import _MISSING
    return None if value is _MISSING else value


def all_findings(engine, extra_rule_dirs=None) -> list[Finding]:
    rules = rules_of(engine, extra_rule_dirs)
    key = f"findings@{engine.as_of}@{rule_dirs_of(engine, extra_rule_dirs)}"

    def compute() -> list[Finding]:
        with _gc_paused():
            facts = facts_of(engine)
            out: list[Finding] = []
            for rule in rules:
                out.extend(evaluate_rule(rule, facts))
            out.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.rule, f.subject_id, f.id))
        return out
    return engine.cached(key, compute)


def findings(engine, rule: str | None = None, severity: str | None = None,
             subject: str | None = None, extra_rule_dirs=None) -> list[Finding]:
    items = all_findings(engine, extra_rule_dirs)
    if rule is not None:
        known = {r.id for r in rules_of(engine, extra_rule_dirs)}
        if rule not in known:
            raise ValueError(f"unknown rule {rule!r} (one of {', '.join(sorted(known))})")
        items = [f for f in items if f.rule == rule]
    if severity is not None:
        if severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {severity!r} (critical, high, medium, low)")
        items = [f for f in items if f.severity == severity]
    if subject is not None:
        items = [f for f in items if f.subject_id == subject]
    return items
