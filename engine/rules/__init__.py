"""The rule pack: format (models), loading (loader), facts, checks, conditions."""
from .loader import BUILTIN_RULES_DIR, QUERIES_DIR, RuleError, load_rules

__all__ = ["BUILTIN_RULES_DIR", "QUERIES_DIR", "RuleError", "load_rules"]
