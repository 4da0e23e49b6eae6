"""Helpers shared by the tests/test_api_*.py files: a small org on disk, a server
over it, and bearer-token requests."""
from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path

import httpx

from api.app import create_app
from api.limits import Limits
from engine.service import Engine
from tests.conftest import LiveServer, write

SMALL_ORG = """
people:
  - {email: a@x.io, name: Ann}
teams: [{id: t, members: [a@x.io], owners: [a@x.io]}]
ai_tools:
  - {id: bot, name: Bot, owner: team:t, credentials: [openai:api_key:k1]}
saas_apps:
  - {id: crm, data: [{id: data:records, access: write}]}
data_sources:
  - {id: records, sensitivity: restricted, stores_secrets: [aws:access_key:ci:1]}
  - {id: wh, sensitivity: restricted}
access:
  - {principal: tool:bot, target: saas:crm, access: read}
  - {principal: aws:access_key:ci:1, target: data:wh, access: admin}
"""


def small_org(tmp: Path) -> Path:
    """A loaded SQLite db of SMALL_ORG; returns its path."""
    write(tmp / "snap" / "inventory" / "org.yaml", SMALL_ORG)
    db = tmp / "small.db"
    eng = Engine.open(str(db))
    eng.ingest([tmp / "snap"])
    eng.close()
    return db


@contextmanager
def serving(db: Path, limits: Limits | None = None, **kw):
    """(server, engine, access-log stream) over a db file."""
    eng = Engine.open(str(db))
    log = io.StringIO()
    try:
        with LiveServer(create_app(eng, limits=limits, access_log=log, **kw)) as srv:
            yield srv, eng, log
    finally:
        eng.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def post(srv, query: str, token: str | None = None, variables: dict | None = None) -> httpx.Response:
    return srv.graphql(query, variables, headers=bearer(token) if token else None)


def codes(resp: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in resp.json().get("errors", [])]
