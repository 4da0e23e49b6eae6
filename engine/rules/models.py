"""The rule-pack format (one YAML file per rule in queries/rules/ or a --rules dir),
as pydantic models so that a bad file fails on load with the file and the problem.

A rule is data: which subjects it looks at (`match.kinds`), a named check from the
fixed library in engine.rules.checks (with `parameters`), and/or property conditions
(`match.where`). Severity starts at `severity` and is raised by the first-listed
strongest `severity_raise` entry whose conditions all hold.

Conditions (`where`, `severity_raise[].when`) test one field each:

    {field: active, eq: true}
    {field: properties.environment, exists: false}
    {field: properties.created_at, older_than_days: 30}
    {field: reaches_sensitivity, gte: restricted}
    {field: evidence.ratio, gte: 10}

Fields: `id`, `kind`, `name`, `active`, `properties.<name>`, `owner_status`
(worst status among resolved owners: none | inactive | unverified | active),
`reaches_sensitivity` (strongest sensitivity of data its blast radius reaches:
none < public < internal < confidential < restricted), `spend_usd_30d`, and for
severity only `evidence.<key>` (what the check found).
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}   # 0 is the most severe


def at_or_above(severity: str, threshold: str) -> bool:
    """`severity` is `threshold` or worse (an unknown severity is below every threshold)."""
    return SEVERITY_RANK.get(severity, len(SEVERITIES)) <= SEVERITY_RANK[threshold]
SUBJECT_KINDS = ("Person", "Account", "Team", "Project", "ServiceAccount", "Credential",
                 "OAuthClient", "OAuthGrant", "AITool", "SaaSApp", "DataSource", "SecretExposure")
SENSITIVITY_ORDER = ("none", "public", "internal", "confidential", "restricted")
OWNER_STATUS_ORDER = ("active", "unverified", "inactive", "none")
OPS = ("eq", "ne", "in", "not_in", "exists", "gt", "gte", "lt", "lte", "contains",
       "older_than_days", "newer_than_days", "matches")
FIELD_RE = re.compile(r"^(id|kind|name|active|owner_status|reaches_sensitivity|spend_usd_30d"
                      r"|properties\.[A-Za-z0-9_.\-]+|evidence\.[A-Za-z0-9_.\-]+)$")
RULE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9\-]*$")
FRAMEWORK_RE = re.compile(r"^(OWASP-NHI\d+|OWASP-LLM\d+|OWASP-ASI\d+|CSF-[A-Z]{2}\.[A-Z]{2}-\d{2}|[A-Z][A-Za-z0-9.\-]+)$")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    field: str
    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    exists: bool | None = None
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None
    contains: Any = None
    older_than_days: float | None = None
    newer_than_days: float | None = None
    matches: str | None = None

    @field_validator("field")
    @classmethod
    def _field(cls, v: str) -> str:
        if not FIELD_RE.match(v):
            raise ValueError(f"unknown field {v!r} (id, kind, name, active, owner_status, "
                             f"reaches_sensitivity, spend_usd_30d, properties.<name>, evidence.<name>)")
        return v

    @field_validator("matches")
    @classmethod
    def _regex(cls, v):
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"bad regular expression {v!r}: {exc}") from exc
        return v

    @model_validator(mode="after")
    def _one_op(self):
        ops = self.ops()
        if not ops:
            raise ValueError(f"condition on {self.field!r} has no test (one of {', '.join(OPS)})")
        return self

    def ops(self) -> dict[str, Any]:
        out = {}
        for op in OPS:
            value = getattr(self, "in_" if op == "in" else op)
            if value is not None:
                out[op] = value
        return out


class SeverityRaise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: list[Condition] = Field(min_length=1)
    severity: Literal["critical", "high", "medium", "low"]
    reason: str | None = None


class CheckRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Match(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kinds: list[str] = Field(min_length=1)
    check: CheckRef | None = None
    where: list[Condition] = Field(default_factory=list)

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if k not in SUBJECT_KINDS]
        if bad:
            raise ValueError(f"unknown kind(s) {bad} (one of {', '.join(SUBJECT_KINDS)})")
        return v

    @field_validator("check", mode="before")
    @classmethod
    def _check_shorthand(cls, v):
        return {"name": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _something(self):
        if self.check is None and not self.where:
            raise ValueError("match needs a check, a where list, or both "
                             "(a rule with neither would flag every subject)")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    description: str = ""
    severity: Literal["critical", "high", "medium", "low"]
    severity_raise: list[SeverityRaise] = Field(default_factory=list)
    frameworks: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    match: Match
    remediation: str | None = None
    enabled: bool = True
    # Set by the loader: where the rule came from (for messages and SARIF).
    path: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not RULE_ID_RE.match(v):
            raise ValueError(f"rule id {v!r} must be lower-case letters, digits and dashes")
        return v

    @field_validator("frameworks")
    @classmethod
    def _frameworks(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if not FRAMEWORK_RE.match(str(f))]
        if bad:
            raise ValueError(f"framework id(s) {bad} do not look like OWASP-NHI<n>, OWASP-LLM<n>, "
                             f"CSF-<FN>.<CAT>-<nn> or another upper-case identifier")
        return v
