"""`aws/bedrock/invocations/*.jsonl`: Amazon Bedrock model invocation logs (one JSON
record per line, as CloudWatch Logs or S3 delivery writes them; `.gz` accepted).

Each record names the calling identity's ARN, the model and the token counts; the
request and response bodies are never read into the graph. Usage rows are keyed by
the identity (`aws:iam_user:<name>`, or `aws:iam_role:<name>` for an assumed role,
a ServiceAccount), summed per day x identity x model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.model import NodeKind, Records

from .ai_records import gc_paused, Graph, UsageSum, as_int, day_of, require_dict, selected
from .errors import IngestError
from .files import read_jsonl

SOURCE = "aws"
INVOCATIONS = Path("bedrock") / "invocations"


def identity_node(arn: Any) -> tuple[str, str] | None:
    """(node id, display name) for a caller ARN, or None when it is not one we know."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    service, account, resource = parts[2], parts[4], parts[5]
    if service == "sts" and resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        return f"aws:iam_role:{role}", role
    if service == "iam" and resource.startswith("user/"):
        name = resource.rsplit("/", 1)[1]
        return f"aws:iam_user:{name}", name
    if service == "iam" and resource.startswith("role/"):
        name = resource.rsplit("/", 1)[1]
        return f"aws:iam_role:{name}", name
    if service == "sts" and resource.startswith("federated-user/"):
        name = resource.split("/", 1)[1]
        return f"aws:federated_user:{name}", name
    if resource == "root":
        return f"aws:root:{account}", f"root ({account})"
    return None


@gc_paused
def ingest(root: Path, only: set[Path] | None = None) -> Records:
    root = Path(root)
    rec = Records(source=SOURCE)
    base = root / INVOCATIONS
    if not base.is_dir():
        return rec
    files = selected((p for p in base.rglob("*") if p.is_file()
                      and p.name.endswith((".jsonl", ".json", ".jsonl.gz", ".json.gz"))), only)
    g = Graph(rec)
    usage = UsageSum("bedrock")
    seen: dict[str, dict[str, Any]] = {}
    unknown_callers = 0
    for path in files:
        rec.files.append(str(path))
        for lineno, obj in read_jsonl(path):
            where = f"line {lineno}"
            if "modelId" not in obj or "timestamp" not in obj:
                raise IngestError(path, f"{where}: not a Bedrock model invocation log record "
                                        f"(needs 'timestamp' and 'modelId', got keys {sorted(obj)[:8]})")
            day = day_of(obj["timestamp"], path, f"{where} timestamp")
            identity = obj.get("identity") or {}
            arn = identity.get("arn") if isinstance(identity, dict) else None
            caller = identity_node(arn)
            if caller is None:
                unknown_callers += 1
            else:
                seen.setdefault(caller[0], {"arn": arn, "name": caller[1],
                                            "aws_account_id": obj.get("accountId")})
            inp = require_dict(obj.get("input") or {}, path, f"{where} input")
            out = require_dict(obj.get("output") or {}, path, f"{where} output")
            read = as_int(inp.get("cacheReadInputTokenCount"), path, f"{where} cacheReadInputTokenCount")
            written = as_int(inp.get("cacheWriteInputTokenCount"), path, f"{where} cacheWriteInputTokenCount")
            extra = {"cache_creation_input_tokens": written} if written else {}
            if obj.get("errorCode"):
                extra["errors"] = 1
            usage.add(day, str(obj["modelId"]), caller[0] if caller else None, None, None,
                      input_tokens=as_int(inp.get("inputTokenCount"), path, f"{where} inputTokenCount")
                      + read + written,
                      output_tokens=as_int(out.get("outputTokenCount"), path, f"{where} outputTokenCount"),
                      cached_input_tokens=read, requests=1, extra=extra)
    for node_id, info in sorted(seen.items()):
        # Name left to the IAM report: this only asserts that the identity exists.
        g.node(node_id, NodeKind.ServiceAccount, arn=info["arn"],
               aws_account_id=info["aws_account_id"], bedrock_caller=True)
    rec.usage = usage.usage_rows()
    if unknown_callers:
        rec.warnings.append(f"{SOURCE}: {unknown_callers} Bedrock invocation(s) with no caller ARN "
                            f"we recognise (kept as unattributed usage)")
    return rec
