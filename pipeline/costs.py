"""Cost of a run in USD, from a small editable price table.

The table is `pipeline/data/prices.json` (USD per 1M input and output
tokens per model); set CONFLICT_EVENTS_PRICES to the path of another JSON file
of the same shape to use your own. Rules:

- the embedded local model and the fake backend cost 0;
- a model listed in the table costs its price (exact name first, then the
  longest listed name the model's name starts with: gpt-4o-mini-2024-07-18
  is priced as gpt-4o-mini);
- an unlisted model on a server on this machine (--base-url on 127.0.0.1 or
  localhost, e.g. `serve-model`, vLLM, Ollama) costs 0;
- anything else is unknown: cost NULL, never a guess.

Only tokens actually paid for count: calls answered from the response cache
carry no tokens.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.paths import data_file

PRICES_PATH = data_file("prices.json")
PRICES_ENV = "CONFLICT_EVENTS_PRICES"
FREE_BACKENDS = {"local", "fake"}
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def load_prices(path: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Model name -> {"input": USD per 1M prompt tokens, "output": USD per 1M completion tokens}."""
    path = Path(path or os.environ.get(PRICES_ENV) or PRICES_PATH)
    data = json.loads(path.read_text(encoding="utf-8"))
    models = data.get("models", data)
    table: dict[str, dict[str, float]] = {}
    for name, entry in models.items():
        if name.startswith("_") or not isinstance(entry, dict):
            continue
        table[name] = {"input": float(entry["input"]), "output": float(entry["output"])}
    return table


def price_for(model: str, prices: dict[str, dict[str, float]] | None = None) -> dict[str, float] | None:
    prices = load_prices() if prices is None else prices
    name = model.split("openai/", 1)[1] if model.startswith("openai/") else model
    if name in prices:
        return prices[name]
    prefixes = [k for k in prices if name.startswith(k + "-") or name.startswith(k + ":")]
    return prices[max(prefixes, key=len)] if prefixes else None


def _is_loopback(base_url: str | None) -> bool:
    if not base_url:
        return False
    try:
        return (urlsplit(base_url).hostname or "") in _LOOPBACK
    except ValueError:
        return False


def run_price(
    backend_name: str, model: str, base_url: str | None = None, prices: dict[str, dict[str, float]] | None = None
) -> dict[str, float] | None:
    """The price that applies to a backend's model; None when unknown."""
    if backend_name in FREE_BACKENDS:
        return {"input": 0.0, "output": 0.0}
    try:
        price = price_for(model, prices)
    except (OSError, ValueError, KeyError):  # an unreadable table: unknown, not a crash
        price = None
    if price is None and _is_loopback(base_url):
        return {"input": 0.0, "output": 0.0}
    return price


def cost_usd(price: dict[str, float] | None, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    if price is None:
        return None
    return ((prompt_tokens or 0) * price["input"] + (completion_tokens or 0) * price["output"]) / 1_000_000


def backend_price(backend: Any) -> dict[str, float] | None:
    """`run_price` for a pipeline Backend."""
    return run_price(backend.name, backend.model, (backend.parameters or {}).get("base_url"))
