"""Amazon Bedrock model invocation logs under aws/bedrock/invocations/."""
from __future__ import annotations

import gzip
import json

import pytest

from engine.model import NodeKind
from ingest import aws_bedrock
from ingest.errors import IngestError
from tests.conftest import DEMO, write


def _record(arn, model="anthropic.claude-3-5-sonnet-20240620-v1:0", ts="2026-11-02T10:00:00Z",
            tin=100, tout=20, **inp):
    return {"schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": ts,
            "accountId": "111122223333", "identity": {"arn": arn}, "region": "us-east-1",
            "requestId": "r", "operation": "InvokeModel", "modelId": model,
            "input": {"inputContentType": "application/json", "inputTokenCount": tin,
                      "inputBodyJson": {"messages": [{"role": "user", "content": "TOP SECRET PROMPT"}]},
                      **inp},
            "output": {"outputContentType": "application/json", "outputTokenCount": tout,
                       "outputBodyJson": {"content": "model answer"}}}


def test_demo_invocations_by_etl_bot():
    rec = aws_bedrock.ingest(DEMO / "aws")
    assert {u.credential_id for u in rec.usage} == {"aws:iam_user:etl-bot"}
    days = {u.day for u in rec.usage}
    assert len(days) == 45 and max(days).isoformat() == "2026-11-14"
    sonnet = [u for u in rec.usage if u.model.startswith("anthropic.claude")]
    assert all(u.requests == 3 for u in sonnet)
    [node] = rec.nodes
    assert node.id == "aws:iam_user:etl-bot" and node.kind is NodeKind.ServiceAccount and node.name is None
    assert node.properties["arn"] == "arn:aws:iam::111122223333:user/etl-bot"


def test_identities_tokens_gzip_and_no_bodies(tmp_path):
    root = tmp_path / "aws"
    inv = root / "bedrock/invocations"
    write(inv / "a.jsonl", "\n".join(json.dumps(r) for r in [
        _record("arn:aws:iam::111122223333:user/team/etl-bot"),
        _record("arn:aws:iam::111122223333:user/team/etl-bot", tin=50, tout=5,
                cacheReadInputTokenCount=30, cacheWriteInputTokenCount=10),
        _record("arn:aws:sts::111122223333:assumed-role/BedrockRunner/session-42", model="amazon.nova-lite-v1:0"),
        _record(None),
    ]) + "\n\n")
    (inv / "2026").mkdir()
    (inv / "2026/b.json.gz").write_bytes(gzip.compress(
        (json.dumps(_record("arn:aws:iam::111122223333:role/service-role/Lambda")) + "\n").encode()))
    rec = aws_bedrock.ingest(root)
    rows = {(u.credential_id, u.model): u for u in rec.usage}
    etl = rows[("aws:iam_user:etl-bot", "anthropic.claude-3-5-sonnet-20240620-v1:0")]
    assert (etl.input_tokens, etl.cached_input_tokens, etl.output_tokens, etl.requests) == (190, 30, 25, 2)
    assert etl.properties["cache_creation_input_tokens"] == 10
    assert ("aws:iam_role:BedrockRunner", "amazon.nova-lite-v1:0") in rows
    assert ("aws:iam_role:Lambda", "anthropic.claude-3-5-sonnet-20240620-v1:0") in rows
    assert (None, "anthropic.claude-3-5-sonnet-20240620-v1:0") in rows
    assert any("no caller ARN" in w for w in rec.warnings)
    kinds = {n.id: n.kind for n in rec.nodes}
    assert kinds["aws:iam_role:BedrockRunner"] is NodeKind.ServiceAccount
    assert "TOP SECRET" not in json.dumps([r.model_dump(mode="json") for r in rec.usage]
                                          + [n.model_dump(mode="json") for n in rec.nodes])


def test_identity_arns():
    assert aws_bedrock.identity_node("arn:aws:iam::1:root") == ("aws:root:1", "root (1)")
    assert aws_bedrock.identity_node("arn:aws:sts::1:federated-user/bob") == ("aws:federated_user:bob", "bob")
    assert aws_bedrock.identity_node("not-an-arn") is None
    assert aws_bedrock.identity_node("arn:aws:s3:::bucket") is None


def test_bad_lines_name_the_file(tmp_path):
    inv = tmp_path / "aws/bedrock/invocations"
    write(inv / "x.jsonl", json.dumps(_record("arn:aws:iam::1:user/a")) + "\n{\"timestamp\": ")
    with pytest.raises(IngestError, match=r"x.jsonl: line 2: invalid JSON"):
        aws_bedrock.ingest(tmp_path / "aws")
    write(inv / "x.jsonl", json.dumps({"timestamp": "2026-11-01T00:00:00Z", "identity": {}}) + "\n")
    with pytest.raises(IngestError, match="x.jsonl: line 1: not a Bedrock model invocation log"):
        aws_bedrock.ingest(tmp_path / "aws")
    write(inv / "x.jsonl", json.dumps(_record("arn:aws:iam::1:user/a", tin="many")) + "\n")
    with pytest.raises(IngestError, match="inputTokenCount"):
        aws_bedrock.ingest(tmp_path / "aws")
    (inv / "x.jsonl").unlink()
    (inv / "y.jsonl.gz").write_bytes(b"not gzip")
    with pytest.raises(IngestError, match="y.jsonl.gz: cannot read"):
        aws_bedrock.ingest(tmp_path / "aws")


def test_partial_load_and_no_bedrock_dir(tmp_path):
    inv = tmp_path / "aws/bedrock/invocations"
    a = write(inv / "a.jsonl", json.dumps(_record("arn:aws:iam::1:user/a")) + "\n")
    write(inv / "b.jsonl", json.dumps(_record("arn:aws:iam::1:user/b")) + "\n")
    rec = aws_bedrock.ingest(tmp_path / "aws", {a.resolve()})
    assert {u.credential_id for u in rec.usage} == {"aws:iam_user:a"}
    assert aws_bedrock.ingest(tmp_path / "elsewhere").usage == []
