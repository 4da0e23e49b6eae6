"""One HTTP client for every collector: retries with backoff on 429 and 5xx honouring
Retry-After, and no credential ever written to disk or logs."""
from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator

import httpx

from . import CollectError

RETRY_STATUSES = {429, 500, 502, 503, 504}


class Client:
    def __init__(self, base_url: str, headers: dict[str, str], max_retries: int = 5,
                 backoff: float = 0.5, max_wait: float = 60.0, timeout: float = 30.0,
                 sleep=time.sleep):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout,
                                  follow_redirects=True,
                                  event_hooks={"request": [_keep_credentials_home(self.base_url, headers)]})
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _wait(self, response: httpx.Response | None, attempt: int) -> float:
        if response is not None:
            ra = response.headers.get("retry-after")
            if ra:
                try:
                    return min(float(ra), self.max_wait)
                except ValueError:
                    try:
                        delta = parsedate_to_datetime(ra).timestamp() - time.time()
                        return min(max(delta, 0.0), self.max_wait)
                    except (TypeError, ValueError):
                        pass
            reset = response.headers.get("x-ratelimit-reset") or response.headers.get("x-rate-limit-reset")
            if reset and (response.status_code == 429 or _rate_limited(response)):
                try:
                    return min(max(float(reset) - time.time(), 0.0), self.max_wait)
                except ValueError:
                    pass
        return min(self.backoff * (2 ** attempt), self.max_wait)

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET a path (relative to base_url) or an absolute next-page URL."""
        attempt = 0
        while True:
            self.requests += 1
            try:
                resp = self._http.get(path, params=params)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise CollectError(f"GET {_safe(path)}: {type(exc).__name__} after "
                                       f"{attempt + 1} attempts") from None
                self.sleep(self._wait(None, attempt))
                attempt += 1
                self.retries += 1
                continue
            if (resp.status_code in RETRY_STATUSES or _rate_limited(resp)) and attempt < self.max_retries:
                self.sleep(self._wait(resp, attempt))
                attempt += 1
                self.retries += 1
                continue
            if resp.status_code >= 400:
                err = CollectError(f"GET {_safe(path)}: HTTP {resp.status_code} {_snippet(resp)}")
                err.status = resp.status_code  # callers may treat e.g. 404 as "not enabled here"
                raise err
            return resp

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self.get(path, params)
        try:
            return resp.json()
        except json.JSONDecodeError:
            raise CollectError(f"GET {_safe(path)}: response is not JSON") from None


def _rate_limited(resp: httpx.Response) -> bool:
    """GitHub (and Okta's older behaviour) answer an exhausted quota with 403 and a
    zero remaining count rather than 429."""
    if resp.status_code != 403:
        return False
    remaining = resp.headers.get("x-ratelimit-remaining") or resp.headers.get("x-rate-limit-remaining")
    return remaining is not None and remaining.strip() == "0"


def _keep_credentials_home(base_url: str, headers: dict[str, str]):
    """httpx drops Authorization on a redirect to another origin, but not custom key
    headers (Anthropic's x-api-key...): drop every header we were given instead."""
    home = httpx.URL(base_url)
    names = list(headers)

    def hook(request: httpx.Request) -> None:
        url = request.url
        if (url.scheme, url.host, url.port) != (home.scheme, home.host, home.port):
            for name in names:
                request.headers.pop(name, None)
    return hook


def _safe(path: str) -> str:
    # Query strings may carry tokens in some APIs; never echo them.
    return path.split("?", 1)[0]


def _snippet(resp: httpx.Response) -> str:
    text = resp.text[:200].replace("\n", " ")
    return f"({text})" if text else ""


def next_link(resp: httpx.Response) -> str | None:
    """RFC 8288 Link header rel="next" (Okta, GitHub)."""
    link = resp.links.get("next") if resp.headers.get("link") else None
    return link.get("url") if link else None


def write_pages(out_dir: Path, rel_path: str, pages: list[Any]) -> Path:
    """Save the pages of one endpoint under its API path: one body, or an array of bodies."""
    path = out_dir / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    body = pages[0] if len(pages) == 1 else pages
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def env_key(*names: str) -> str:
    import os
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    raise CollectError(f"set {' or '.join(names)} in the environment (keys are read only from there)")
