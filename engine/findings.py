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
            reasons.append(_reason(raise_))
    return best, reasons


def _reason(raise_) -> str:
    return f"raised to {raise_.severity}: " + (raise_.reason or ", ".join(
        f"{c.field} {' '.join(f'{k} {v}' for k, v in c.ops().items())}" for c in raise_.when))


def _severity_of(rule: Rule):
    """(facts, view, evidence, now) -> _severity's answer, with the raises' conditions
    compiled once for the rule (engine.rules.conditions.compile_conditions)."""
    from .rules.conditions import compile_conditions
    base = rule.severity
    base_reason = f"base {rule.severity}"
    raises = [(raise_.severity, SEVERITY_RANK[raise_.severity], compile_conditions(raise_.when), _reason(raise_))
              for raise_ in rule.severity_raise]

    def severity(facts, view, evidence, now) -> tuple[str, list[str]]:
        best, rank = base, SEVERITY_RANK[base]
        reasons = [base_reason]
        for sev, sev_rank, test, reason in raises:
            if sev_rank < rank and test(facts, view, evidence, now):
                best, rank = sev, sev_rank
                reasons.append(reason)
        return best, reasons
    return severity


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


def evaluate_rule(rule: Rule, facts, screened: bool = True, fast: bool = True) -> list[Finding]:
    with _gc_paused():
        if not fast:
            return _evaluate_rule(rule, facts, screened)
        return _evaluate_rule_fast(rule, facts, screened)


def _evaluate_rule(rule: Rule, facts, screened: bool) -> list[Finding]:
    """Findings of one rule, the straightforward way: every subject through its
    Subject, the check's per-subject function and holds() (the reference the fast
    path is tested against). `screened`: run the check only on the subjects its bulk
    screen (engine.rules.screens) lets through; the same findings, far fewer calls.
    Off, every subject of the rule's kinds is checked."""
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
    for view in views:
        subject = Subject(facts, view)
        if rule.match.where and not all_hold(rule.match.where, subject, now):
            continue
        if check is not None:
            hits = check.run(facts, view, params)
        else:
            hits = [Hit({"conditions": [{"field": c.field, **c.ops(), "value": _shown(subject.get(c.field))}
                                        for c in rule.match.where]},
                        message=f"{view.id}: {rule.title}")]
        for hit in hits:
            subject.evidence = hit.evidence
            subject._memo = {k: v for k, v in subject._memo.items() if not k.startswith("evidence.")}
            severity, reasons = _severity(rule, subject, now)
            evidence = {"summary": hit.message or f"{view.id}: {rule.title}", **hit.evidence,
                        "severity_reasons": reasons}
            if "now" not in evidence:
                evidence["now"] = now_text
            fid = f"{rule.id}:{view.id}" + (f":{hit.key}" if hit.key else "")
            out.append(Finding(id=fid, rule=rule.id, title=rule.title, severity=severity,
                               subject_id=view.id, frameworks=list(rule.frameworks), evidence=evidence))
    return out


def _evaluate_rule_fast(rule: Rule, facts, screened: bool) -> list[Finding]:
    """_evaluate_rule's findings with the work per subject cut down: conditions
    compiled once per rule, and on the embedded facts a check's whole-rule `bulk`
    form (engine.rules.bulk) when it has one, instead of one call per subject."""
    from .rules.checks import CHECKS, Hit
    from .rules.conditions import compile_conditions
    from .rules.facts import Facts
    from .rules import screens  # noqa: F401  (registers the screens on CHECKS)
    from .rules import bulk  # noqa: F401  (registers the bulk forms on CHECKS)
    now = facts.as_of
    check = CHECKS[rule.match.check.name] if rule.match.check else None
    params = {**rule.parameters, **(rule.match.check.params if rule.match.check else {})}
    out: list[Finding] = []
    now_text = now.isoformat().replace("+00:00", "Z") if now else None
    embedded = type(facts) is Facts
    run_params = {**check.defaults, **params} if check is not None else None
    keep = None
    # Screens and bulk forms read the embedded facts' indexes: a store's own facts
    # take the per-subject path.
    if screened and check is not None and check.screen is not None and embedded:
        keep = check.screen(facts, run_params)
    views = facts.subjects(rule.match.kinds) if keep is None else facts.subjects_among(rule.match.kinds, keep)
    where = rule.match.where
    if where:
        test = compile_conditions(where)
        views = [v for v in views if test(facts, v, {}, now)]
    if check is not None and check.bulk is not None and embedded:
        results = check.bulk(facts, views, run_params)
    elif check is not None:
        run = check.fn
        results = [run(facts, view, run_params) for view in views]
    else:
        results = [[Hit({"conditions": [{"field": c.field, **c.ops(), "value": _shown(Subject(facts, view).get(c.field))}
                                        for c in where]},
                        message=f"{view.id}: {rule.title}")] for view in views]
    severity_of = _severity_of(rule) if rule.severity_raise else None
    plain = (rule.severity, [f"base {rule.severity}"])
    rule_id, title, frameworks = rule.id, rule.title, rule.frameworks
    append = out.append
    for view, hits in zip(views, results):
        if not hits:
            continue
        for hit in hits:
            ev = hit.evidence
            if severity_of is not None:
                severity, reasons = severity_of(facts, view, ev, now)
            else:
                severity, reasons = plain[0], list(plain[1])
            evidence = {"summary": hit.message or f"{view.id}: {title}", **ev, "severity_reasons": reasons}
            if "now" not in evidence:
                evidence["now"] = now_text
            fid = f"{rule_id}:{view.id}:{hit.key}" if hit.key else f"{rule_id}:{view.id}"
            append(Finding(id=fid, rule=rule_id, title=title, severity=severity,
                           subject_id=view.id, frameworks=list(frameworks), evidence=evidence))
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
            # What was built here lives until the next store generation and forms no
            # cycle the collector must break (the facts' tie to the engine goes with the
            # engine's cache): handed to the permanent generation, as the graph is at
            # load, instead of the first collection after the pause walking it all.
            gc.freeze()
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
