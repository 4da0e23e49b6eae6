"""The shared collector HTTP client against a real loopback server: retry on 429
and 5xx honouring Retry-After, GitHub-style 403 with an exhausted quota, and a
final error that names the endpoint but never the token."""
import json

import pytest

from ingest.collect import CollectError
from ingest.collect.http import Client
from tests.conftest import LiveServer


class Flaky:
    def __init__(self, script):
        self.script = list(script)   # (status, headers) answered in order, then 200
        self.hits = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                await send({"type": msg["type"] + ".complete"})
                if msg["type"] == "lifespan.shutdown":
                    return
        self.hits += 1
        status, headers = self.script.pop(0) if self.script else (200, {})
        body = json.dumps({"ok": status == 200}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")] +
                               [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": body})


def run(script, max_retries=3):
    app = Flaky(script)
    waits = []
    with LiveServer(app) as srv:
        with Client(srv.url, {"Authorization": "Bearer sekrit-token"}, max_retries=max_retries,
                    sleep=waits.append) as client:
            try:
                return client.get_json("/x?token=abc"), waits, app.hits
            except CollectError as exc:
                return exc, waits, app.hits


def test_retry_after_is_honoured_on_429_and_5xx():
    body, waits, hits = run([(429, {"retry-after": "2"}), (503, {}), (200, {})])
    assert body == {"ok": True} and hits == 3
    assert waits[0] == 2.0 and waits[1] > 0


def test_github_style_rate_limited_403_is_retried():
    body, waits, hits = run([(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}), (200, {})])
    assert body == {"ok": True} and hits == 2


def test_plain_403_is_not_retried_and_error_hides_token():
    err, waits, hits = run([(403, {"x-ratelimit-remaining": "17"})])
    assert isinstance(err, CollectError) and hits == 1 and err.status == 403
    assert "sekrit" not in str(err) and "token=abc" not in str(err) and "/x" in str(err)


def test_gives_up_after_max_retries():
    err, waits, hits = run([(500, {})] * 10, max_retries=2)
    assert isinstance(err, CollectError) and hits == 3 and "HTTP 500" in str(err)
