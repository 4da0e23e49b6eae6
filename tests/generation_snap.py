"""A LiteLLM snapshot whose every answer names the round it came from: round k has k
keys, k dollars of spend on them and k shadow-ai findings (no inventory tool claims
the keys). A GraphQL response whose fields (graph, usage rows, cached findings)
disagree on k mixes two store generations. Used by tests/test_generation_reads.py
and bench/soak.py."""
from __future__ import annotations

import json
from pathlib import Path

# Each field reads another path: the in-memory graph, the usage rows (SQL on the
# embedded store), and the rule pack's cached findings.
ECHO_QUERY = """{
  credentials: nodes(kind: "Credential", first: 0) { totalCount }
  spend(groupBy: "credential") { usd }
  shadow: findings(rule: "shadow-ai", first: 0) { totalCount }
}"""


def write_round(root: Path, k: int) -> Path:
    """The snapshot of round k (k >= 1) under root/litellm; returns root."""
    keys = [{"token": f"tok{i:05d}", "key_alias": f"key-{i}", "spend": 1.0, "max_budget": None,
             "expires": None, "user_id": None, "team_id": None, "metadata": {},
             "created_at": "2026-09-01T00:00:00Z"} for i in range(k)]
    logs = [{"request_id": f"req-{i}", "call_type": "acompletion", "api_key": f"tok{i:05d}",
             "spend": 1.0, "total_tokens": 10, "prompt_tokens": 5, "completion_tokens": 5,
             "startTime": "2026-10-01T08:00:00Z", "endTime": "2026-10-01T08:00:01Z",
             "model": "gpt-4o-mini", "user": "", "metadata": {}, "status": "success"}
            for i in range(k)]
    base = root / "litellm"
    (base / "key").mkdir(parents=True, exist_ok=True)
    (base / "spend").mkdir(parents=True, exist_ok=True)
    (base / "key" / "list.json").write_text(json.dumps({"keys": keys, "total_count": k}))
    (base / "spend" / "logs.json").write_text(json.dumps(logs))
    return root


def echoes(data: dict) -> tuple[int, int, int]:
    """What the fields of one ECHO_QUERY response count."""
    return (data["credentials"]["totalCount"], round(sum(r["usd"] for r in data["spend"])),
            data["shadow"]["totalCount"])


def rounds_of(data: dict, base: tuple[int, int, int] = (0, 0, 0)) -> set[int]:
    """The rounds the fields of one ECHO_QUERY response name (one when not mixed);
    `base`: what other sources in the store add to each count."""
    return {value - offset for value, offset in zip(echoes(data), base)}
