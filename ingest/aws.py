"""`aws/`: IAM credential report (identities, access keys) and Bedrock model
invocation logs (usage). One source directory, two parsers."""
from __future__ import annotations

from pathlib import Path

from engine.model import Records

from . import aws_bedrock, aws_iam

SOURCE = "aws"


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    rec.extend(aws_iam.ingest(root, only))
    rec.extend(aws_bedrock.ingest(root, only))
    rec.source = SOURCE
    return rec
