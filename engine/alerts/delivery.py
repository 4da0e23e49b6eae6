"""One alert's delivery: POST with retries (exponential backoff, Retry-After honoured)
on timeouts, connection errors, 408/425/429 and 5xx; other statuses are final for
this run (the alert stays in the outbox and is tried again next run)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import httpx

from .signing import DELIVERY_HEADER, signed_headers

RETRYABLE = {408, 425, 429}
MAX_RETRY_AFTER = 60.0


@dataclass
class Outcome:
    ok: bool
    attempts: int
    error: str | None = None


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return min(float(resp.headers.get("retry-after", "")), MAX_RETRY_AFTER)
    except ValueError:
        return None


def deliver(url: str, body: str, delivery: str, secret: str | None, *, attempts: int = 4,
            backoff: float = 1.0, timeout: float = 10.0,
            sleep: Callable[[float], None] = time.sleep) -> Outcome:
    data = body.encode()
    error = None
    with httpx.Client(timeout=timeout) as client:
        for attempt in range(1, attempts + 1):
            # Signed afresh each attempt: the receiver checks the timestamp is recent.
            headers = {"Content-Type": "application/json", "User-Agent": "burnpath-alert",
                       DELIVERY_HEADER: delivery, **(signed_headers(secret, data) if secret else {})}
            wait = backoff * 2 ** (attempt - 1)
            try:
                resp = client.post(url, content=data, headers=headers)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= resp.status_code < 300:
                    return Outcome(True, attempt)
                error = f"HTTP {resp.status_code}"
                if resp.status_code not in RETRYABLE and resp.status_code < 500:
                    return Outcome(False, attempt, error + " (not retried)")
                wait = _retry_after(resp) or wait
            if attempt < attempts:
                sleep(wait)
    return Outcome(False, attempts, f"{error} after {attempts} attempts")
