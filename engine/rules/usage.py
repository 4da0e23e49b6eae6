"""Usage as columns for the rule facts: read once (Store.usage_columns), priced with
numpy, grouped by subject, with a UsageRecord built only for the rows someone asks
to see.

Every figure equals what a pass over the records gives: a row's USD is
engine.pricing.Price.usd's arithmetic done elementwise in the same order (IEEE
float64 either way), and per-subject sums add rows in the stored order, one after
the other (np.bincount accumulates sequentially), as the record loops did.
"""
from __future__ import annotations

from functools import cached_property

from collections.abc import Mapping
from datetime import date
from itertools import repeat
from operator import is_not, itemgetter
from typing import Any, Iterator

import numpy as np

from ..pricing import PER_TOKENS, PriceBook
from ..store.base import UsageColumns, UsageRecord


def _int64(values) -> np.ndarray:
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except (TypeError, ValueError, OverflowError):
        return np.array([int(v or 0) for v in values], dtype=np.int64)



def unpriced_said(row: dict[str, Any]) -> dict[str, Any]:
    """A usage row's evidence: one with no USD (no vendor figure, no price) says
    `price: unpriced`, never a silent $0."""
    if row["usd"] is None:
        row["price"] = "unpriced"
    return row

class _Groups:
    """Row indexes per key (first-seen order of keys, stored order of rows)."""
    __slots__ = ("names", "code", "order", "bounds", "of", "_lists")

    def __init__(self, keys: list):
        # Keys in first-seen order, then one C-level lookup per row.
        codes: dict[Any, int] = {k: i for i, k in enumerate(k for k in dict.fromkeys(keys) if k is not None)}
        lookup = {**codes, None: -1}
        code = np.fromiter(map(lookup.__getitem__, keys), dtype=np.int64, count=len(keys))
        self.names: list = list(codes)
        self.of: dict[Any, int] = codes
        self.code = code
        keep = np.nonzero(code >= 0)[0]
        self.order = keep[np.argsort(code[keep], kind="stable")]
        self.bounds = np.searchsorted(code[self.order], np.arange(len(codes) + 1))
        self._lists = None

    def rows(self, key) -> list[int]:
        c = self.of.get(key)
        if c is None:
            return []
        # Plain lists, made on first use: a numpy slice per call costs more than the rows.
        lists = self._lists
        if lists is None:
            lists = self._lists = (self.order.tolist(), self.bounds.tolist())
        order, bounds = lists
        return order[bounds[c]:bounds[c + 1]]

    def sums(self, weights: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Per key, the weights of its rows added one after the other in row order."""
        code = self.code
        keep = code >= 0 if mask is None else (code >= 0) & mask
        return np.bincount(code[keep], weights=weights[keep], minlength=len(self.names))


class UsageIndex:
    def __init__(self, cols: UsageColumns, book: PriceBook):
        self.cols = cols
        n = len(cols)
        self.n = n
        # A few hundred distinct days: each parsed once.
        days = {d: date.fromisoformat(d) for d in set(cols.day)}
        ordinals = {d: v.toordinal() for d, v in days.items()}
        self.dates: list[date] = list(map(days.__getitem__, cols.day))
        self.ordinal = np.fromiter(map(ordinals.__getitem__, cols.day), dtype=np.int64, count=n)
        self.usd, self.priced = self._price(cols, book)
        self.usd_list: list[float] = self.usd.tolist()
        self.priced_list: list[bool] = self.priced.tolist()
        cred = cols.credential_id
        self.by_credential = _Groups([c or None for c in cred])
        self.by_subject = _Groups([c or p or a or None for c, p, a in
                                   zip(cred, cols.project_id, cols.account_id)])
        self._records: dict[int, UsageRecord] = {}
        self._cells = None
        self._rank: list[int] | None = None
        self._recent = None
        self.usd_of_record: dict[int, float | None] = {}

    @staticmethod
    def _price(cols: UsageColumns, book: PriceBook) -> tuple[np.ndarray, np.ndarray]:
        """(USD, priced) per row: the vendor figure, else tokens x the model's price
        (engine.spend.priced_usage's rule), else 0 and unpriced."""
        n = len(cols)
        usd = np.zeros(n, dtype=np.float64)
        vendor = cols.vendor_usd
        has_vendor = np.fromiter(map(is_not, vendor, repeat(None)), dtype=bool, count=n)
        priced = has_vendor.copy()
        for i in np.nonzero(has_vendor)[0].tolist():
            usd[i] = float(vendor[i])
        models = {m: k for k, m in enumerate(dict.fromkeys(cols.model))}
        mcode = np.fromiter(map(models.__getitem__, cols.model), dtype=np.int64, count=n)
        in_all = _int64(cols.input_tokens)
        out_all = _int64(cols.output_tokens)
        cached_all = _int64(cols.cached_input_tokens)
        cw = cols.cache_write
        for model, code in models.items():
            price = book.lookup(model)
            if price is None:
                continue
            idx = np.nonzero((mcode == code) & ~has_vendor)[0]
            if not len(idx):
                continue
            # Price.usd's clamps and sum, elementwise and in its order.
            cached = np.maximum(cached_all[idx], 0)
            written = np.maximum(np.array([0 if cw[i] is None else int(cw[i] or 0) for i in idx.tolist()],
                                          dtype=np.int64), 0)
            inp = in_all[idx]
            out = np.maximum(out_all[idx], 0)
            uncached = np.maximum(inp - cached - written, 0)
            cached_rate = price.input if price.cached_input is None else price.cached_input
            write_rate = price.input if price.cache_write is None else price.cache_write
            total = (uncached * price.input + cached * cached_rate + written * write_rate
                     + out * price.output)
            usd[idx] = total / PER_TOKENS
            priced[idx] = True
        return usd, priced

    # --- per-credential shapes, in bulk (for screens) ---------------------------------
    def credential_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The (credential, day, model) cells of Facts.daily_by_model for every
        credential at once: (credential code, day ordinal, model code, USD) per cell,
        sorted by credential."""
        if self._cells is None:
            self._cells = self._credential_cells()
        return self._cells

    def _credential_cells(self):
        cred = self.by_credential.code
        keep = np.nonzero(cred >= 0)[0]
        if not len(keep):
            empty = np.zeros(0, dtype=np.int64)
            self._cell_active = np.zeros(0, dtype=bool)
            return empty, empty, empty, np.zeros(0)
        models = {m: k for k, m in enumerate(dict.fromkeys(self.cols.model))}
        mcode = np.fromiter(map(models.__getitem__, self.cols.model), dtype=np.int64, count=self.n)[keep]
        first = int(self.ordinal[keep].min())
        day = self.ordinal[keep] - first
        n_days, n_models = int(day.max()) + 1, len(models)
        key = (cred[keep] * n_days + day) * n_models + mcode
        cells, inverse = np.unique(key, return_inverse=True)
        inverse = inverse.reshape(-1)
        usd = np.bincount(inverse, weights=self.usd[keep], minlength=len(cells))
        # A cell counts as use (Facts.first_use) when requests, tokens or USD are nonzero.
        active = usd != 0
        for column in (self.cols.requests, self.cols.input_tokens, self.cols.output_tokens):
            active |= np.bincount(inverse, weights=_int64(column)[keep].astype(np.float64),
                                  minlength=len(cells)) != 0
        self._cell_active = active
        model = cells % n_models
        rest = cells // n_models
        return rest // n_days, rest % n_days + first, model, usd

    def cell_active(self) -> np.ndarray:
        """Per cell of credential_cells(): whether it shows any use."""
        self.credential_cells()
        return self._cell_active

    # --- rows ------------------------------------------------------------------
    def record(self, i: int) -> UsageRecord:
        """Row i as a UsageRecord (one object per row, kept, so row_usd finds it)."""
        r = self._records.get(i)
        if r is None:
            r = self._records[i] = self.cols.record(i, self.dates[i])
            self.usd_of_record[id(r)] = self.usd_list[i] if self.priced_list[i] else None
        return r

    def row_dicts(self, rows: list[int]) -> list[dict[str, Any]]:
        """The evidence shape of usage rows (engine.rules.checks._usage_row)."""
        if not rows:
            return []
        c = self.cols
        usd, priced = self.usd_list, self.priced_list
        if len(rows) == 1:
            i = rows[0]
            return [unpriced_said({"source": c.source[i], "day": c.day[i], "model": c.model[i],
                                   "credential_id": c.credential_id[i], "project_id": c.project_id[i],
                                   "account_id": c.account_id[i], "input_tokens": c.input_tokens[i],
                                   "output_tokens": c.output_tokens[i], "requests": c.requests[i],
                                   "usd": round(usd[i], 4) if priced[i] else None})]
        # Each column gathered at once (C level), then one dict per row.
        pick = itemgetter(*rows)
        return [unpriced_said({"source": s, "day": d, "model": m, "credential_id": cred, "project_id": proj,
                               "account_id": acct, "input_tokens": inp, "output_tokens": out, "requests": req,
                               "usd": round(u, 4) if p else None})
                for s, d, m, cred, proj, acct, inp, out, req, u, p in zip(
                    pick(c.source), pick(c.day), pick(c.model), pick(c.credential_id), pick(c.project_id),
                    pick(c.account_id), pick(c.input_tokens), pick(c.output_tokens), pick(c.requests), pick(usd),
                    pick(priced))]

    @property
    def day_model_rank(self) -> list[int]:
        """Per row, its place in (day, model) order (ties share a rank): a sort key."""
        if self._rank is None:
            models = sorted(set(self.cols.model))
            code = {m: k for k, m in enumerate(models)}
            mcode = np.fromiter(map(code.__getitem__, self.cols.model), dtype=np.int64, count=self.n)
            self._rank = (self.ordinal * max(len(models), 1) + mcode).tolist()
        return self._rank

    def recent_rows(self, key, limit: int) -> list[int]:
        """The last `limit` rows of a subject (by_subject) in (day, model) order, rows
        tied on both in stored order: Facts.recent_usage's rows, from one sort of
        every row by (subject, day, model, row) made on first use."""
        if self._recent is None:
            g = self.by_subject
            rank = np.asarray(self.day_model_rank, dtype=np.int64)
            keep = np.nonzero(g.code >= 0)[0]
            order = keep[np.lexsort((keep, rank[keep], g.code[keep]))]
            self._recent = (order.tolist(), np.searchsorted(g.code[order], np.arange(len(g.names) + 1)).tolist())
        c = self.by_subject.of.get(key)
        if c is None or not limit:
            return []
        order, bounds = self._recent
        a, b = bounds[c], bounds[c + 1]
        return order[max(a, b - limit):b]

    @cached_property
    def by_account(self) -> "_Groups":
        """Rows grouped by the account a vendor attributes them to (built on first use:
        only the departure rules and the trace ask)."""
        return _Groups([a or None for a in self.cols.account_id])

    def usd_or_zero(self) -> np.ndarray:
        return self.usd      # unpriced rows hold 0.0 already


class RowsBy(Mapping):
    """{key: [UsageRecord]} over a _Groups, records built on first access per key."""

    def __init__(self, index: UsageIndex, groups: _Groups):
        self.index = index
        self.groups = groups
        self._lists: dict[Any, list[UsageRecord]] = {}

    def __getitem__(self, key) -> list[UsageRecord]:
        found = self._lists.get(key)
        if found is None:
            if key not in self.groups.of:
                raise KeyError(key)
            record = self.index.record
            found = self._lists[key] = [record(i) for i in self.groups.rows(key)]
        return found

    def __iter__(self) -> Iterator:
        return iter(self.groups.names)

    def __len__(self) -> int:
        return len(self.groups.names)

    def __contains__(self, key) -> bool:
        return key in self.groups.of
