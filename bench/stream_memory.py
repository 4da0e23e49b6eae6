"""Peak memory of the JSON-lines and CSV readers on a generated ~200 MB file.

    python bench/stream_memory.py [--mb 200] [--keep DIR]

Writes a Bedrock invocation log (`aws/bedrock/invocations/*.jsonl`, one record per
line, the documented shape) and an IAM credential report (`aws/iam/credential-report.csv`)
of about --mb MB each, then in a fresh process per measurement reads every record and
drops it, printing the peak RSS above the process's RSS before reading:

- streamed: `ingest.files.read_jsonl` / `read_csv` (what ingesters use);
- baseline: the readers before streaming (the whole file read, decoded and split in
  memory, then parsed line by line; rows kept in a list for CSV), as they were up to
  commit d7e446c.

And, for the whole path a user runs, the aws ingester on the JSON-lines file (its
records are summed per day x identity x model, so they stay small).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEASURE = r"""
import resource, sys, io, gzip, csv, json
sys.path.insert(0, sys.argv[1])
import orjson
from pathlib import Path
from ingest import files
kind, path = sys.argv[2], Path(sys.argv[3])

def old_jsonl(path):
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    for lineno, line in enumerate(io.StringIO(text), 1):
        line = line.strip()
        if line:
            yield lineno, orjson.loads(line)

def old_csv(path):
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))

def rss_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

before = rss_kb()
n = 0
if kind == "jsonl-streamed":
    for _ in files.read_jsonl(path): n += 1
elif kind == "jsonl-baseline":
    for _ in old_jsonl(path): n += 1
elif kind == "csv-streamed":
    for _ in files.read_csv(path): n += 1
elif kind == "csv-baseline":
    for _ in old_csv(path): n += 1
elif kind == "aws-ingest":
    from ingest import aws
    rec = aws.ingest(path)
    n = len(rec.usage)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"records": n, "peak_above_start_mb": (peak - before) / 1024}))
"""


def write_jsonl(path: Path, target: int) -> int:
    rng = random.Random(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = n = 0
    with open(path, "w") as fh:
        while size < target:
            day = 1 + n % 28
            rec = {"schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
                   "timestamp": f"2024-05-{day:02d}T{n % 24:02d}:00:00Z", "accountId": "123456789012",
                   "identity": {"arn": f"arn:aws:iam::123456789012:user/svc-{n % 50}"},
                   "region": "us-east-1", "requestId": f"req-{n:012d}", "operation": "Converse",
                   "modelId": rng.choice(["anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.titan-text-express-v1"]),
                   "input": {"inputContentType": "application/json", "inputTokenCount": rng.randint(10, 5000)},
                   "output": {"outputContentType": "application/json", "outputTokenCount": rng.randint(10, 2000)}}
            line = json.dumps(rec) + "\n"
            fh.write(line)
            size += len(line)
            n += 1
    return n


HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
          "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
          "cert_1_last_rotated,cert_2_active,cert_2_last_rotated")


def write_csv(path: Path, target: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    size = n = 0
    with open(path, "w") as fh:
        fh.write(HEADER + "\n")
        while size < target:
            line = (f"svc-{n},arn:aws:iam::123456789012:user/svc-{n},2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,"
                    f"false,true,2023-02-01T00:00:00+00:00,2024-05-01T00:00:00+00:00,us-east-1,bedrock,"
                    f"false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n")
            fh.write(line)
            size += len(line)
            n += 1
    return n


def measure(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT), kind, str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--keep", help="write the files here and keep them")
    args = ap.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="burnpath-stream-bench-"))
    try:
        jl = base / "aws" / "bedrock" / "invocations" / "log.jsonl"
        cs = base / "aws" / "iam" / "credential-report.csv"
        nj = write_jsonl(jl, args.mb << 20)
        nc = write_csv(cs, args.mb << 20)
        print(f"JSON lines: {jl.stat().st_size / 1e6:.0f} MB, {nj} records; "
              f"CSV: {cs.stat().st_size / 1e6:.0f} MB, {nc} rows")
        for label, path in (("jsonl", jl), ("csv", cs)):
            old = measure(f"{label}-baseline", path)
            new = measure(f"{label}-streamed", path)
            # (the peak counts from process start: below 1 MB is within the noise of imports)
            streamed = max(new["peak_above_start_mb"], 1.0)
            ratio = old["peak_above_start_mb"] / streamed
            print(f"{label:5}  baseline {old['peak_above_start_mb']:8.1f} MB   streamed "
                  f"{'<=' if streamed == 1.0 else '  '}{streamed:4.1f} MB   baseline/streamed >= {ratio:6.0f}x   "
                  f"({new['records']} records)")
        shutil.rmtree(base / "aws" / "iam")
        whole = measure("aws-ingest", base / "aws")
        print(f"aws ingester on the JSON-lines file: peak {whole['peak_above_start_mb']:.1f} MB above start "
              f"({whole['records']} usage rows)")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
