"""Usage ingest throughput on a generated 1M-row OpenAI completions usage file.

    python bench/ingest_usage.py [--rows 1000000] [--baseline-rows 50000] [--keep DIR]

Writes `openai/organization/usage/completions.json` (1d buckets, results grouped by
project, user, key and model: the documented page shape) and prints rows/s for:

- parse: `ingest.openai.ingest` (JSON -> validated, summed UsageRows);
- parse + load: the same, then `SQLiteStore.load` (one transaction, real file);
- naive baseline: json.load, then one INSERT per row, each its own transaction (the
  row-at-a-time loader people write first), timed on the first --baseline-rows rows
  because at its speed the whole file takes minutes; its rows/s is what compares;
- naive, one tx: the same row-at-a-time INSERTs inside one transaction, on every row
  (isolates what batching and commit discipline buy from what parsing costs).
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.store.sqlite import SQLiteStore  # noqa: E402
from ingest import openai  # noqa: E402

MODELS = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "o3-2025-04-16", "gpt-4.1-mini-2025-04-14",
          "o4-mini-2025-04-16", "gpt-4.1-2025-04-14", "gpt-5-mini-2025-08-07", "gpt-5-2025-08-07",
          "text-embedding-3-small", "gpt-4o-mini-tts"]


def generate(root: Path, rows: int, seed: int = 7) -> Path:
    """rows results spread over daily buckets, 10 models x N keys per day, 7 buckets a page."""
    rng = random.Random(seed)
    keys_per_day = 1000
    per_day = keys_per_day * len(MODELS)
    days = max(1, -(-rows // per_day))
    start = 1759276800  # 2025-10-01
    pages, page, left = [], [], rows
    for d in range(days):
        results = []
        for k in range(keys_per_day):
            for m in MODELS:
                if left == 0:
                    break
                left -= 1
                tin = rng.randint(1000, 5_000_000)
                results.append({"object": "organization.usage.completions.result", "input_tokens": tin,
                                "output_tokens": tin // rng.randint(3, 12),
                                "input_cached_tokens": tin // rng.randint(2, 20),
                                "num_model_requests": rng.randint(1, 5000),
                                "project_id": f"proj_{k % 50}", "user_id": f"user_{k % 400}",
                                "api_key_id": f"key_{k}", "model": m})
        page.append({"object": "bucket", "start_time": start + d * 86400,
                     "end_time": start + (d + 1) * 86400, "results": results})
        if len(page) == 7:
            pages.append(page)
            page = []
    if page:
        pages.append(page)
    bodies = [{"object": "page", "data": p, "has_more": i < len(pages) - 1,
               "next_page": f"page_{i + 1}" if i < len(pages) - 1 else None} for i, p in enumerate(pages)]
    path = root / "openai" / "organization" / "usage" / "completions.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        json.dump(bodies, fh, separators=(",", ":"))
    return path


def naive(path: Path, db: Path, limit: int, one_transaction: bool = False) -> tuple[int, float]:
    t0 = time.perf_counter()
    with path.open() as fh:
        pages = json.load(fh)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE usage (day TEXT, model TEXT, credential_id TEXT, project_id TEXT, "
                 "account_id TEXT, input_tokens INT, output_tokens INT, cached_input_tokens INT, "
                 "requests INT, properties TEXT)")
    n = 0
    parse_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if one_transaction:
        conn.execute("BEGIN")
    for page in pages:
        for bucket in page["data"]:
            day = time.strftime("%Y-%m-%d", time.gmtime(bucket["start_time"]))
            for r in bucket["results"]:
                if n >= limit:
                    break
                conn.execute("INSERT INTO usage VALUES (?,?,?,?,?,?,?,?,?,?)",
                             (day, r["model"], "openai:api_key:" + r["api_key_id"],
                              "openai:project:" + r["project_id"], "openai:user:" + r["user_id"],
                              int(r["input_tokens"]), int(r["output_tokens"]),
                              int(r["input_cached_tokens"]), int(r["num_model_requests"]),
                              json.dumps({"vendor": "openai"})))
                n += 1
    if one_transaction:
        conn.execute("COMMIT")
    conn.close()
    # The json.load is shared by every row: charge it pro rata to the rows timed.
    total_rows = sum(len(b["results"]) for p in pages for b in p["data"])
    return n, (time.perf_counter() - t1) + parse_s * n / total_rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=50_000)
    ap.add_argument("--keep", default=None, help="work directory to keep (default: a temp dir)")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="burnpath-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    path = generate(work, args.rows)
    print(f"generated {args.rows:,} usage rows ({path.stat().st_size / 1e6:.0f} MB) in "
          f"{time.perf_counter() - t:.1f}s: {path}")

    t = time.perf_counter()
    rec = openai.ingest(work / "openai")
    parse_s = time.perf_counter() - t
    n = len(rec.usage)
    assert n == args.rows, (n, args.rows)
    print(f"parse:          {n:>9,} rows in {parse_s:6.2f}s = {n / parse_s:>10,.0f} rows/s")

    db = work / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    store = SQLiteStore(db)
    t = time.perf_counter()
    store.load(rec, complete=True)
    load_s = time.perf_counter() - t
    store.close()
    both = parse_s + load_s
    print(f"parse + load:   {n:>9,} rows in {both:6.2f}s = {n / both:>10,.0f} rows/s "
          f"(load alone {n / load_s:,.0f} rows/s)")

    del rec

    rates = {}
    for label, one_tx, limit in (("naive baseline", False, args.baseline_rows),
                                 ("naive, one tx", True, n)):
        naive_db = work / f"naive-{int(one_tx)}.db"
        m, naive_s = naive(path, naive_db, limit, one_transaction=one_tx)
        rates[label] = m / naive_s
        how = "one INSERT per row in a single transaction" if one_tx else "one INSERT per row, autocommit"
        print(f"{label + ':':<16}{m:>9,} rows in {naive_s:6.2f}s = {rates[label]:>10,.0f} rows/s "
              f"(json.load + {how})")
    for label, rate in rates.items():
        print(f"ratio: parse + load is {n / both / rate:,.1f}x the {label}'s rows/s")
    if not args.keep:
        for p in sorted(work.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
