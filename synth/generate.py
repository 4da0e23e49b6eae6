"""`burnpath generate`: a synthetic enterprise as a snapshot in the contract layout.

    generate(people=2000, seed=1, out=Path("snap"))

writes openai/, anthropic/, litellm/, okta/, msgraph/, google/, scim/, github/,
aws/, gitleaks/, trufflehog/ and inventory/ under `out`, in the vendors' documented
response shapes, scaled by headcount with the rates in fixtures/synth/rates.yaml.
Same seed, same rates: byte-identical files. About 5-6 graph nodes per person, so
200k people is about a million nodes.
"""
from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

from .config import load_rates
from .org import build
from .sources import ai, dev, idp, inventory
from .usage import draw
from .writer import Output

SOURCES = ("openai", "anthropic", "litellm", "okta", "msgraph", "google", "scim", "github", "aws",
           "gitleaks", "trufflehog", "inventory")


def generate(people: int, seed: int, out: Path, rates_file: Path | None = None) -> dict:
    if people < 10:
        raise ValueError("--people must be at least 10 (a team, a tool and a leak need someone)")
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for source in SOURCES:        # a fresh snapshot: no stale files from an earlier run
        if (out / source).exists():
            shutil.rmtree(out / source)
    rates = load_rates(rates_file)
    org = build(rates, people, seed)
    usage = draw(org)
    output = Output(out)
    idp.write_all(org, output)
    ai.write_all(org, usage, output)
    dev.write_all(org, output)
    inventory.write_all(org, output)
    return _stats(org, usage, output, time.perf_counter() - started)


def _stats(org, usage, output: Output, seconds: float) -> dict:
    per_source: dict[str, dict[str, int]] = {}
    for rel, items in output.files.items():
        s = per_source.setdefault(rel.split("/", 1)[0], {"files": 0, "items": 0})
        s["files"] += 1
        s["items"] += items
    creds = Counter(c.vendor for c in org.creds)
    usage_rows = int((usage.tokens > 0).sum() + (usage.new_tokens > 0).sum())
    return {
        "people": org.n, "seed": org.seed, "out": str(output.root),
        "seconds": round(seconds, 2),
        "entities": {
            "people": org.n, "departed": int(org.departed.sum()), "contractors": int(org.contractor.sum()),
            "teams": len(org.team_slug), "ai_tools": len(org.tools),
            "agents": sum(1 for t in org.tools if t["agent"]),
            "credentials": dict(sorted(creds.items())), "openai_projects": len(org.projects),
            "anthropic_workspaces": len(org.workspaces), "litellm_teams": len(org.lt_teams),
            "iam_users": len(org.iam_users), "saas_apps": len(org.saas), "data_sources": len(org.data),
            "google_oauth_clients": len(org.google_clients), "entra_apps": len(org.graph_apps),
            "github_installations": len(org.installations),
            "leaks": sum(1 for k, _, _ in org.leaks if k >= 0),
            "unmatched_findings": sum(1 for k, _, _ in org.leaks if k < 0),
            "spiking_credentials": sum(1 for c in org.creds if c.spike_day >= 0),
            "new_model_credentials": sum(1 for c in org.creds if c.new_model_day >= 0),
            "usage_credential_days": usage_rows,
        },
        "sources": dict(sorted(per_source.items())),
        "files": len(output.files),
        "rows": sum(output.files.values()),
    }
