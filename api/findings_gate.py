"""`burnpath findings --fail-on SEVERITY [--baseline FILE]`: the CI gate.

Exit 3 when a finding at or above SEVERITY exists that the baseline does not list.
A baseline is what an earlier run wrote: `burnpath findings --format json` output (a
list of findings; their `id`s are used), a SARIF file from `--format sarif` (each
result's `partialFingerprints.burnpathFindingId`), or a plain list of finding ids
(a JSON array of strings, or a text file with one id per line; `#` starts a comment).
A finding's id is `<rule>:<subject id>` (plus a discriminator for rules that find
one subject more than once), stable across runs, so a baseline keeps matching.
"""
from __future__ import annotations

import json
from pathlib import Path

from engine.rules.models import SEVERITIES, SEVERITY_RANK, at_or_above

from .cli_options import CliError

EXIT_GATE = 3


def severity_arg(text: str) -> str:
    import argparse
    value = text.strip().lower()
    if value not in SEVERITY_RANK:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(SEVERITIES)}")
    return value


def load_baseline(path: str | None) -> set[str]:
    if not path:
        return set()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"--baseline {p}: cannot read: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        if text.lstrip().startswith(("[", "{")):
            raise CliError(f"--baseline {p}: not valid JSON (expected `findings --format json` "
                           "output, SARIF, or one finding id per line)") from None
        return {line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()}
    return ids_in(doc, p)


def ids_in(doc, path: Path) -> set[str]:
    if isinstance(doc, dict) and isinstance(doc.get("runs"), list):          # SARIF
        out = set()
        for run in doc["runs"]:
            for result in (run or {}).get("results") or []:
                fid = ((result.get("partialFingerprints") or {}).get("burnpathFindingId")
                       or (result.get("properties") or {}).get("findingId"))
                if fid:
                    out.add(fid)
        return out
    if isinstance(doc, dict) and isinstance(doc.get("findings"), list):
        doc = doc["findings"]
    if isinstance(doc, list):
        out = set()
        for n, item in enumerate(doc):
            if isinstance(item, str):
                out.add(item)
            elif isinstance(item, dict) and isinstance(item.get("id"), str):
                out.add(item["id"])
            else:
                raise CliError(f"--baseline {path}: item {n} is neither a finding id nor a finding with an id")
        return out
    raise CliError(f"--baseline {path}: expected a list of findings or finding ids, or SARIF")


def gate(items, fail_on: str | None, baseline: set[str]) -> list:
    """The findings that fail the gate (at or above `fail_on`, not in the baseline)."""
    if not fail_on:
        return []
    return [f for f in items if at_or_above(f.severity, fail_on) and f.id not in baseline]
