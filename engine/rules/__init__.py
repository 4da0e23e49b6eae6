"""The rule pack: format (models), loading (loader), facts, checks, conditions."""
from .loader import BUILTIN_RULES_DIR, QUERIES_DIR, RuleError, load_rules  # noqa: F401
