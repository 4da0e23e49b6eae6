"""Loading the rule pack: the bundled queries/rules/ plus any --rules directories.

Each `*.yaml`/`*.yml` file holds one rule. A file that does not parse, does not fit
the format (engine.rules.models), names an unknown check or an unknown check
parameter raises RuleError naming the file and the problem; nothing is half-loaded.
A user directory may replace a bundled rule by using its id (to retune parameters);
two files with one id inside the same layer are an error.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from .models import Rule

QUERIES_DIR = Path(__file__).resolve().parent.parent.parent / "queries"
BUILTIN_RULES_DIR = QUERIES_DIR / "rules"


class RuleError(Exception):
    """A rule file is wrong; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(parts) + more


def _safe_load(text: str):
    """yaml.safe_load, through libyaml when it is there (the same documents, several
    times faster: a fresh engine reads the whole pack); a document libyaml refuses is
    re-read by the Python loader, so errors read exactly as safe_load's."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.load(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def parse_rule_file(path: Path) -> Rule:
    from .checks import CHECKS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(path, f"cannot read: {exc}") from exc
    try:
        data = _safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise RuleError(path, f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(data, dict):
        raise RuleError(path, f"expected a mapping (id, title, severity, match, ...), got "
                              f"{type(data).__name__}")
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        raise RuleError(path, f"not a valid rule: {_format_validation(exc)}") from exc
    if rule.match.check is not None:
        check = CHECKS.get(rule.match.check.name)
        if check is None:
            raise RuleError(path, f"match.check: unknown check {rule.match.check.name!r} "
                                  f"(one of {', '.join(sorted(CHECKS))})")
        params = {**rule.parameters, **rule.match.check.params}
        unknown = sorted(set(params) - set(check.defaults))
        if unknown:
            known = ", ".join(sorted(check.defaults)) or "none"
            raise RuleError(path, f"parameters: unknown parameter(s) {unknown} for check "
                                  f"{check.name!r} (known: {known})")
        bad_kinds = sorted(set(rule.match.kinds) - set(check.kinds))
        if bad_kinds:
            raise RuleError(path, f"match.kinds: check {check.name!r} does not apply to {bad_kinds} "
                                  f"(it applies to {', '.join(check.kinds)})")
        try:
            check.validate_params({**check.defaults, **params})
        except ValueError as exc:
            raise RuleError(path, f"parameters: {exc}") from exc
    rule.path = str(path)
    return rule


def _load_dir(directory: Path) -> dict[str, Rule]:
    if not directory.exists():
        raise RuleError(directory, "rules directory does not exist")
    if not directory.is_dir():
        raise RuleError(directory, "not a directory (--rules takes a directory of rule files)")
    out: dict[str, Rule] = {}
    files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        rule = parse_rule_file(path)
        if rule.id in out:
            raise RuleError(path, f"rule id {rule.id!r} is already defined in {out[rule.id].path}")
        out[rule.id] = rule
    return out


@lru_cache(maxsize=16)
def _cached_pack(dirs: tuple[str, ...], stamps: tuple) -> tuple[Rule, ...]:
    rules: dict[str, Rule] = {}
    for directory in dirs:
        rules.update(_load_dir(Path(directory)))
    return tuple(r for r in sorted(rules.values(), key=lambda r: r.id) if r.enabled)


def _stamp(directory: str) -> tuple:
    p = Path(directory)
    if not p.is_dir():
        return (directory, None)
    return (directory, tuple(sorted((str(f), f.stat().st_mtime_ns, f.stat().st_size)
                                    for f in p.rglob("*") if f.suffix in (".yaml", ".yml"))))


def load_rules(extra_dirs: list[str | Path] | tuple = ()) -> list[Rule]:
    """The bundled pack, then each extra directory in order (later ids replace earlier)."""
    dirs = (str(BUILTIN_RULES_DIR), *(str(Path(d)) for d in extra_dirs))
    return list(_cached_pack(dirs, tuple(_stamp(d) for d in dirs)))


def load_data(name: str):
    """A data file of queries/ (sensitive_scopes.yaml, ai_vendors.yaml, ...)."""
    return _load_data(name)


@lru_cache(maxsize=16)
def _load_data(name: str):
    path = QUERIES_DIR / name
    try:
        return _safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(path, f"cannot load rule data: {exc}") from exc
