"""`burnpath collect openai|anthropic|litellm` against a real HTTP server on loopback
that replays the demo snapshot's documented pages by cursor, with injected 429/503."""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.model import Records
from ingest import anthropic as anthropic_ingest
from ingest import litellm as litellm_ingest
from ingest import openai as openai_ingest
from ingest.collect import CollectError, run_collect
from ingest.collect import anthropic as anthropic_collect
from ingest.collect import litellm as litellm_collect
from ingest.collect import openai as openai_collect
from tests.conftest import DEMO, LiveServer

SECRET = {"openai": "sk-admin-TESTSECRET-openai-0000", "anthropic": "sk-ant-admin01-TESTSECRET-0000",
          "litellm": "sk-TESTSECRET-litellm-master"}
PAGE_KEYS = ("data", "keys", "users", "has_more")


def _is_pages(body) -> bool:
    return isinstance(body, list) and bool(body) and all(
        isinstance(p, dict) and any(k in p for k in PAGE_KEYS) for p in body)


class Replay:
    """Serves `<snapshot>/<source>/<api path>.json` page by page, following the cursor
    the client sends the way the vendor documents it."""

    def __init__(self, source: str, prefix: str = "/v1", snapshot: Path = DEMO):
        self.source = source
        self.root = snapshot / source
        self.prefix = prefix
        self.hits: dict[str, list[float]] = defaultdict(list)
        self.failures: dict[str, list[tuple[int, dict]]] = {}   # path -> responses to give first
        self.overrides: dict[str, object] = {}                  # path -> body to serve instead
        self.app = Starlette(routes=[Route("/{path:path}", self.handle)])

    def authorised(self, request: Request) -> bool:
        h = request.headers
        if self.source == "anthropic":
            return h.get("x-api-key") == SECRET["anthropic"] and h.get("anthropic-version") == "2023-06-01"
        return h.get("authorization") == f"Bearer {SECRET[self.source]}"

    async def handle(self, request: Request):
        path = "/" + request.path_params["path"]
        if not path.startswith(self.prefix):
            return JSONResponse({"error": "not found"}, 404)
        api = path[len(self.prefix):].strip("/")
        self.hits[api].append(time.monotonic())
        if not self.authorised(request):
            return JSONResponse({"error": {"type": "authentication_error"}}, 401)
        pending = self.failures.get(api)
        if pending:
            status, headers = pending.pop(0)
            return JSONResponse({"error": {"type": "rate_limit_error"}}, status, headers=headers)
        if api in self.overrides:
            return JSONResponse(self.overrides[api])
        file = self.root / f"{api}.json"
        if not file.is_file():
            return JSONResponse({"error": f"no {api}"}, 404)
        body = json.loads(file.read_text())
        return JSONResponse(self.select(api, body, request.query_params))

    def select(self, api: str, body, q):
        if not _is_pages(body):
            if api.endswith("claude_code"):
                body = [body]
            else:
                return body
        pages = body
        if api.endswith("claude_code"):
            day = q.get("starting_at", "")
            found = [p for p in pages if p["data"] and p["data"][0]["date"][:10] == day]
            return found[0] if found else {"data": [], "has_more": False, "next_page": None}
        if self.source == "litellm":
            return pages[int(q.get("page", "1")) - 1]
        for param, field in (("after", "last_id"), ("after_id", "last_id"), ("page", "next_page")):
            if param in q:
                for prev, page in zip(pages, pages[1:]):
                    if prev.get(field) == q[param]:
                        return page
                raise AssertionError(f"{api}: cursor {param}={q[param]} names no page")
        return pages[0]


def _args(url: str, **extra) -> argparse.Namespace:
    return argparse.Namespace(base_url=url, max_retries=3, since="2026-10-01", until="2026-11-14", **extra)


def _assert_same_snapshot(source: str, out: Path) -> None:
    want = sorted(p.relative_to(DEMO / source) for p in (DEMO / source).rglob("*.json"))
    got = sorted(p.relative_to(out / source) for p in (out / source).rglob("*.json"))
    assert got == want
    for rel in want:
        a, b = (DEMO / source / rel), (out / source / rel)
        assert json.loads(b.read_text()) == json.loads(a.read_text()), rel
        assert b.read_bytes() == a.read_bytes(), rel
        assert SECRET[source] not in b.read_text()
    assert not list((out / source).rglob("*.tmp"))


def _same_records(a: Records, b: Records) -> None:
    assert a.counts() == b.counts()
    assert sorted(n.id for n in a.nodes) == sorted(n.id for n in b.nodes)
    assert [u.model_dump() for u in a.usage] == [u.model_dump() for u in b.usage]
    assert sorted(c.usd for c in a.costs) == sorted(c.usd for c in b.costs)


def test_openai_collect_reproduces_the_snapshot(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", SECRET["openai"])
    replay = Replay("openai")
    replay.failures["organization/projects"] = [(429, {"Retry-After": "1"})]
    replay.failures["organization/usage/completions"] = [(503, {})]
    with LiveServer(replay.app) as server:
        rc = run_collect("openai", tmp_path, _args(server.url + "/v1"))
    assert rc == 0
    _assert_same_snapshot("openai", tmp_path)
    # The 429 was honoured: the retry came at least Retry-After seconds later.
    first, second = replay.hits["organization/projects"][:2]
    assert second - first >= 0.9
    assert len(replay.hits["organization/usage/completions"]) == 1 + 7   # one 503, 7 pages
    assert len(replay.hits["organization/users"]) == 2                     # two listing pages
    printed = capsys.readouterr()
    assert "openai/organization/usage/completions.json: 45" in printed.out
    assert SECRET["openai"] not in printed.out + printed.err
    _same_records(openai_ingest.ingest(tmp_path / "openai"), openai_ingest.ingest(DEMO / "openai"))


def test_anthropic_collect_reproduces_the_snapshot(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", SECRET["anthropic"])
    replay = Replay("anthropic")
    replay.failures["organizations/api_keys"] = [(429, {"Retry-After": "0"}), (500, {})]
    with LiveServer(replay.app) as server:
        summary = anthropic_collect.collect(tmp_path, _args(server.url + "/v1"))
    _assert_same_snapshot("anthropic", tmp_path)
    assert len(replay.hits["organizations/api_keys"]) == 3
    assert len(replay.hits["organizations/usage_report/claude_code"]) == 45   # one per day
    assert summary["anthropic/organizations/users.json"] == 5
    _same_records(anthropic_ingest.ingest(tmp_path / "anthropic"), anthropic_ingest.ingest(DEMO / "anthropic"))


def test_litellm_collect_reproduces_the_snapshot(tmp_path, monkeypatch):
    monkeypatch.setenv("LITELLM_MASTER_KEY", SECRET["litellm"])
    replay = Replay("litellm", prefix="")
    replay.failures["team/list"] = [(429, {"Retry-After": "0"})]
    with LiveServer(replay.app) as server:
        summary = litellm_collect.collect(tmp_path, _args(server.url))
    _assert_same_snapshot("litellm", tmp_path)
    assert len(replay.hits["key/list"]) == 2          # page 1 and 2 of 2
    assert summary["litellm/key/list.json"] == 2
    _same_records(litellm_ingest.ingest(tmp_path / "litellm"), litellm_ingest.ingest(DEMO / "litellm"))


def test_key_only_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    with pytest.raises(CollectError, match="OPENAI_ADMIN_KEY"):
        openai_collect.collect(tmp_path, _args("http://127.0.0.1:9"))
    assert not (tmp_path / "openai").exists()


def test_rejected_key_is_an_error_that_never_echoes_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-WRONGKEY")
    replay = Replay("anthropic")
    with LiveServer(replay.app) as server:
        rc = run_collect("anthropic", tmp_path, _args(server.url + "/v1"))
    assert rc == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "organizations/users" in err
    assert "WRONGKEY" not in err
    assert not list(tmp_path.rglob("*.json"))


def test_a_repeating_cursor_stops_the_pull(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", SECRET["openai"])
    replay = Replay("openai")
    replay.overrides["organization/users"] = {"object": "list", "data": [{"id": "user_x"}],
                                              "first_id": "user_x", "last_id": "user_x", "has_more": True}
    with LiveServer(replay.app) as server:
        with pytest.raises(CollectError, match="repeats"):
            openai_collect.collect(tmp_path, _args(server.url + "/v1"))
    assert len(replay.hits["organization/users"]) == 2


def test_retries_give_up_after_max_retries(tmp_path, monkeypatch):
    monkeypatch.setenv("LITELLM_MASTER_KEY", SECRET["litellm"])
    replay = Replay("litellm", prefix="")
    replay.failures["key/list"] = [(503, {"Retry-After": "0"})] * 5
    with LiveServer(replay.app) as server:
        args = _args(server.url)
        args.max_retries = 2
        with pytest.raises(CollectError, match="HTTP 503"):
            litellm_collect.collect(tmp_path, args)
    assert len(replay.hits["key/list"]) == 3


def test_cli_collect_then_ingest(tmp_path, monkeypatch, capsys):
    from api.cli import main
    monkeypatch.setenv("LITELLM_MASTER_KEY", SECRET["litellm"])
    replay = Replay("litellm", prefix="")
    with LiveServer(replay.app) as server:
        rc = main(["collect", "litellm", "--out", str(tmp_path / "snap"), "--base-url", server.url,
                   "--since", "2026-10-01", "--until", "2026-11-14"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "litellm/key/list.json: 2" in out and SECRET["litellm"] not in out
    rc = main(["ingest", "--db", str(tmp_path / "db.sqlite"), str(tmp_path / "snap")])
    assert rc == 0
    assert "litellm: loaded" in capsys.readouterr().out
    monkeypatch.setenv("OPENAI_ADMIN_KEY", SECRET["openai"])
    assert main(["collect", "openai", "--out", str(tmp_path / "x"), "--since", "yesterday"]) == 1
    assert "--since 'yesterday' is not a date" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_key_headers_never_follow_a_redirect_to_another_origin():
    from starlette.responses import RedirectResponse

    from ingest.collect.http import Client
    seen: list[dict] = []

    async def record(request: Request):
        seen.append({"path": request.url.path, **dict(request.headers)})
        return JSONResponse({"data": [], "has_more": False})

    with LiveServer(Starlette(routes=[Route("/{path:path}", record)])) as other:
        async def bounce(request: Request):
            if request.url.path.endswith("/here"):
                return RedirectResponse("/v1/landed", 302)              # same origin
            if request.url.path.endswith("/landed"):
                return await record(request)
            return RedirectResponse(other.url + "/v1/elsewhere", 302)   # another origin

        with LiveServer(Starlette(routes=[Route("/{path:path}", bounce)])) as home:
            with Client(home.url + "/v1", {"x-api-key": "sk-ant-SECRET", "Authorization": "Bearer SECRET2"}) as c:
                c.get_json("organizations/users")
                c.get_json("here")
    away, same = seen
    assert away["path"] == "/v1/elsewhere" and "x-api-key" not in away and "authorization" not in away
    assert same["path"] == "/v1/landed" and same["x-api-key"] == "sk-ant-SECRET"
