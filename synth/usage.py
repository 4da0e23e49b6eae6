"""Daily token usage of every credential, drawn once as a dense (credential x day)
matrix: small even at 200k people (~100k keys x 35 days of float32), and every
vendor's report (usage buckets, spend logs, Bedrock invocations, cost reports) is
written from the same numbers, so they reconcile."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .org import DAY, Org


@dataclass
class Usage:
    rows: np.ndarray        # indices into org.creds of credentials with any usage
    tokens: np.ndarray      # float32 (len(rows), n_days): input tokens of the main model(s)
    new_tokens: np.ndarray  # float32: input tokens of the credential's new model
    out_ratio: np.ndarray   # output tokens per input token, per row
    cached: np.ndarray      # cached share of input, per row
    per_request: np.ndarray  # input tokens per request, per row

    def of(self, cred_index: int) -> int | None:
        pos = np.searchsorted(self.rows, cred_index)
        return int(pos) if pos < len(self.rows) and self.rows[pos] == cred_index else None


def draw(org: Org) -> Usage:
    rng, ai, D = org.rng, org.rates.ai, org.n_days
    rows = np.array([k for k, c in enumerate(org.creds) if c.base > 0], dtype=np.int64)
    m = len(rows)
    creds = [org.creds[k] for k in rows.tolist()]
    base = np.array([c.base for c in creds], dtype=np.float64)
    p_day = np.array([c.p_day for c in creds], dtype=np.float64)
    start = np.array([max(0, (c.created - org.day0) // DAY + 1) for c in creds], dtype=np.int64)
    stop = np.array([min(D, c.stop) for c in creds], dtype=np.int64)
    days = np.arange(D)
    weekday = np.array([org.day_date(d).weekday() for d in range(D)])
    weekend = weekday >= 5
    active = rng.random((m, D)) < (p_day[:, None] * np.where(weekend, 0.6, 1.0)[None, :])
    active &= (days[None, :] >= start[:, None]) & (days[None, :] < stop[:, None])
    noise = rng.lognormal(0.0, 0.45, (m, D))
    tokens = base[:, None] * noise * np.where(weekend, ai.weekend_factor, 1.0)[None, :]
    for r, c in enumerate(creds):
        if c.leak_day >= 0 and c.leak_day < stop[r]:
            after = days >= c.leak_day
            tokens[r, after] *= c.leak_boost
            live = after & (days < stop[r])
            active[r, live] |= rng.random(int(live.sum())) < 0.9
        if c.spike_day >= 0 and start[r] <= c.spike_day < stop[r]:
            tokens[r, c.spike_day] *= rng.uniform(8, 20)
            active[r, c.spike_day] = True
    tokens = np.where(active, np.maximum(tokens, 50.0), 0.0).astype(np.float32)
    new_tokens = np.zeros_like(tokens)
    for r, c in enumerate(creds):
        if c.new_model_day >= 0:
            later = days >= c.new_model_day
            new_tokens[r, later] = tokens[r, later] * np.float32(rng.uniform(0.2, 0.6))
    # Round to whole tokens now: every report then reads the same integers.
    tokens = np.floor(tokens)
    new_tokens = np.floor(new_tokens)
    lo, hi = ai.output_ratio
    usage = Usage(rows=rows, tokens=tokens, new_tokens=new_tokens,
                  out_ratio=rng.uniform(lo, hi, m).astype(np.float32),
                  cached=rng.uniform(0.0, 0.35, m).astype(np.float32),
                  per_request=rng.uniform(600, 4000, m).astype(np.float32))
    # Last use: the last active day (mid-afternoon UTC), for the vendors' last_used fields.
    any_day = (tokens > 0) | (new_tokens > 0)
    has_any = any_day.any(axis=1)
    last = D - 1 - np.argmax(any_day[:, ::-1], axis=1)
    for r, c in enumerate(creds):
        if has_any[r]:
            c.last_used = min(org.as_of, org.day0 + int(last[r]) * DAY + 15 * 3600 + (r % 3600))
        else:
            c.base = 0.0
            if c.last_used is None and c.created < org.day0 - 40 * DAY:
                c.last_used = int(c.created + 3 * DAY)
    return usage


def split(tokens: float, models: tuple) -> list[tuple[str, int]]:
    """The main models' share of a day's input tokens (first model takes 70%)."""
    t = int(tokens)
    if len(models) == 1:
        return [(models[0], t)]
    first = int(t * 0.7)
    return [(models[0], first), (models[1], t - first)]


def day_rows(org: Org, usage: Usage, d: int, vendors: tuple[str, ...]):
    """(cred, model, input_tokens, output_tokens, cached_tokens, requests) of day d
    for credentials of the given vendors, in credential order."""
    col = usage.tokens[:, d]
    ncol = usage.new_tokens[:, d]
    nz = np.nonzero((col > 0) | (ncol > 0))[0]
    for r in nz.tolist():
        c = org.creds[int(usage.rows[r])]
        if c.vendor not in vendors:
            continue
        parts = split(col[r], c.models)
        if ncol[r] > 0:
            parts.append((c.new_model, int(ncol[r])))
        ratio, cached, per_req = float(usage.out_ratio[r]), float(usage.cached[r]), float(usage.per_request[r])
        for model, inp in parts:
            if inp <= 0:
                continue
            yield (c, model, inp, int(inp * ratio), int(inp * cached), max(1, int(inp / per_req)))
