"""Model prices: the bundled dated table in `queries/prices.yaml`, overridden by the
inventory's `prices:` (stored as settings `price:<model>`).

How a usage row's model name finds its price, most specific first:

1. the name exactly as the vendor reported it, then lower-cased;
2. without a provider path (`openai/gpt-4o`, `bedrock/...`, a Bedrock model ARN);
3. without a Bedrock cross-region prefix (`us.`, `eu.`, `apac.`, `global.`) and the
   model vendor prefix (`anthropic.`, `amazon.`, `meta.`, `cohere.`, `mistral.`...);
4. without a Bedrock version suffix (`-v1:0`, `-v2`, `:0`);
5. without a date suffix (`-2024-08-06`, `-20240620`, `@20240620`) or `-latest`.

So `gpt-4o-2024-08-06` prices as `gpt-4o`, and
`us.anthropic.claude-3-5-sonnet-20240620-v1:0` as `claude-3-5-sonnet`. Every
inventory price is tried (over all those spellings) before any bundled one: what the
humans wrote always wins; an override that names only input and output keeps the
bundled entry's cached-input and cache-write rates for that model. Fine-tuned models
(`ft:...`) are never normalised: they price only through an exact inventory entry,
else they are unpriced.

Token semantics (shared with the ingesters): `input_tokens` counts every input token,
including `cached_input_tokens` (cache reads) and the `cache_creation_input_tokens`
property (cache writes); those two are priced at their own rates, the rest at the
input rate.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

PRICES_FILE = Path(__file__).resolve().parent.parent / "queries" / "prices.yaml"
PER_TOKENS = 1_000_000

_REGION_PREFIX = re.compile(r"^(us|eu|apac|global|us-gov|jp|au|ca)\.")
_VENDOR_PREFIX = re.compile(r"^(anthropic|amazon|meta|cohere|mistral|ai21|deepseek|openai|writer|qwen)\.")
_VERSION_SUFFIX = re.compile(r"(-v\d+(:\d+)?|:\d+)$")
_DATE_SUFFIX = re.compile(r"([-@](\d{4}-\d{2}-\d{2}|\d{8})|-latest)$")


@dataclass(frozen=True)
class Price:
    """USD per million tokens for one model."""
    model: str                 # the table entry that matched
    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    source: str = "bundled"    # "bundled:<as_of>" or the settings source ("inventory")

    def usd(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0,
            cache_write_tokens: int = 0) -> float:
        cached = max(int(cached_input_tokens or 0), 0)
        written = max(int(cache_write_tokens or 0), 0)
        uncached = max(int(input_tokens or 0) - cached - written, 0)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        write_rate = self.input if self.cache_write is None else self.cache_write
        total = (uncached * self.input + cached * cached_rate + written * write_rate
                 + max(int(output_tokens or 0), 0) * self.output)
        return total / PER_TOKENS

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "input": self.input, "output": self.output,
                "cached_input": self.cached_input, "cache_write": self.cache_write,
                "source": self.source}


def spellings(model: str) -> list[str]:
    """The names a model is looked up by, most specific first (see module doc)."""
    out: list[str] = []

    def add(name: str) -> None:
        if name and name not in out:
            out.append(name)

    add(model)
    name = model.strip().lower()
    add(name)
    if name.startswith("ft:"):
        return out
    if "/" in name:
        name = name.rsplit("/", 1)[1]
        add(name)
    stripped = _REGION_PREFIX.sub("", name)
    stripped = _VENDOR_PREFIX.sub("", stripped)
    if stripped != name:
        name = stripped
        add(name)
    for pattern in (_VERSION_SUFFIX, _DATE_SUFFIX):
        # Both kinds of suffix may be stacked (`...-20240620-v1:0`), so strip until stable.
        while True:
            shorter = pattern.sub("", name)
            if shorter == name or not shorter:
                break
            name = shorter
            add(name)
    # A version suffix can follow a date that only shows once the version is gone.
    shorter = _DATE_SUFFIX.sub("", name)
    if shorter and shorter != name:
        add(shorter)
    return out


def _price(model: str, raw: Any, source: str) -> Price | None:
    if not isinstance(raw, dict):
        return None
    try:
        return Price(model=model, input=float(raw["input"]), output=float(raw["output"]),
                     cached_input=None if raw.get("cached_input") is None else float(raw["cached_input"]),
                     cache_write=None if raw.get("cache_write") is None else float(raw["cache_write"]),
                     source=source)
    except (KeyError, TypeError, ValueError):
        return None


@lru_cache(maxsize=4)
def bundled(path: str = str(PRICES_FILE)) -> tuple[str, dict[str, Price]]:
    """(as_of, {model: Price}) of the bundled table."""
    import yaml
    text = Path(path).read_text()
    try:    # libyaml when there (same document, faster), else the Python loader
        data = yaml.load(text, Loader=yaml.CSafeLoader) or {}
    except (AttributeError, yaml.YAMLError):
        data = yaml.safe_load(text) or {}
    as_of = str(data.get("as_of", "undated"))
    table = {}
    for model, raw in (data.get("models") or {}).items():
        price = _price(str(model).lower(), raw, f"bundled:{as_of}")
        if price is not None:
            table[str(model).lower()] = price
    return as_of, table


def overrides_from_settings(settings: dict[str, dict[str, Any]]) -> dict[str, Price]:
    """`price:<model>` settings of every source; the inventory's applied last so it wins."""
    out: dict[str, Price] = {}
    order = sorted(settings, key=lambda s: (s == "inventory", s))
    for source in order:
        for key, raw in (settings.get(source) or {}).items():
            if not key.startswith("price:"):
                continue
            model = key[len("price:"):]
            price = _price(model, raw, source)
            if price is not None:
                out[model] = price
                out.setdefault(model.lower(), price)
    return out


class PriceBook:
    def __init__(self, overrides: dict[str, Price] | None = None,
                 table: dict[str, Price] | None = None):
        self.as_of, default = bundled()
        self.table = default if table is None else table
        self.overrides = overrides or {}
        self._memo: dict[str, Price | None] = {}

    @classmethod
    def for_store(cls, store) -> "PriceBook":
        return cls(overrides_from_settings(store.settings()))

    def lookup(self, model: str) -> Price | None:
        if model in self._memo:
            return self._memo[model]
        names = spellings(model)
        listed = next((self.table[n] for n in names if n in self.table), None)
        found = next((self.overrides[n] for n in names if n in self.overrides), None)
        if found is not None and listed is not None:
            # An override naming only input/output keeps the vendor's cache rates.
            cached = listed.cached_input if found.cached_input is None else found.cached_input
            write = listed.cache_write if found.cache_write is None else found.cache_write
            found = replace(found, cached_input=cached, cache_write=write)
        found = found or listed
        self._memo[model] = found
        return found

    def known(self) -> Iterable[str]:
        return sorted(set(self.table) | set(self.overrides))


# --- unpriced models, said once per model at ingest ----------------------------
UNPRICED_WARNING = "no price for model {model!r}"


def unpriced_models(records, book: "PriceBook | None" = None) -> dict[str, int]:
    """{model: tokens} of a source's usage rows that neither state a vendor figure nor
    have a price (bundled table, else `price:` settings stated in the same records)."""
    if book is None:
        book = PriceBook(overrides_from_settings({records.source: records.settings}))
    # Models first (one set over the rows), tokens only when some model has no price.
    models = {u.model for u in records.usage if u.vendor_usd is None}
    missing = {m for m in models if book.lookup(m) is None}
    tokens: dict[str, int] = {}
    if missing:
        for u in records.usage:
            if u.vendor_usd is None and u.model in missing:
                tokens[u.model] = tokens.get(u.model, 0) + u.input_tokens + u.output_tokens
    return tokens


def unpriced_warnings(records) -> list[str]:
    """One warning per unpriced model: its usage is shown as unpriced, never $0."""
    return [f"{records.source}: " + UNPRICED_WARNING.format(model=m) +
            f" ({n} tokens): its spend shows as unpriced (unpricedTokens, unpricedModels), not $0; "
            f"add it under inventory `prices:`" for m, n in sorted(unpriced_models(records).items())]


def still_unpriced(warnings: list[str], book: "PriceBook") -> list[str]:
    """Drop the unpriced-model warnings a price now known (another source's or an earlier
    load's inventory `prices:`) answers."""
    out = []
    for w in warnings:
        start = w.find("no price for model ")
        if start >= 0:
            try:
                import ast
                quoted = w[start + len("no price for model "):].split(" (", 1)[0]
                if book.lookup(ast.literal_eval(quoted)) is not None:
                    continue
            except (ValueError, SyntaxError):
                pass
        out.append(w)
    return out
