"""The rates and distributions the generator draws from (fixtures/synth/rates.yaml)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RATES_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "synth" / "rates.yaml"


class Rates(dict):
    """The YAML as nested dicts; `rates.ai["spike_rate"]` reads naturally."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc
        return Rates(value) if isinstance(value, dict) else value


def load_rates(path: Path | None = None) -> Rates:
    with open(path or RATES_FILE, encoding="utf-8") as fh:
        return Rates(yaml.safe_load(fh))
