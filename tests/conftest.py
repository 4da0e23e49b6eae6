"""Shared fixtures: real SQLite files, a real uvicorn server on loopback."""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from engine.service import Engine

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo"


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "burnpath.db"


@pytest.fixture
def engine(db_path):
    eng = Engine.open(str(db_path))
    yield eng
    eng.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an ASGI app on a loopback port, in a thread."""

    def __init__(self, app, **options):
        """`options`: more uvicorn.Config arguments (api.http_guard.uvicorn_options)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 15
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def graphql(self, query: str, variables: dict | None = None, headers: dict | None = None):
        return httpx.post(self.url + "/graphql", json={"query": query, "variables": variables or {}},
                          headers=headers or {}, timeout=30)


def gql_data(resp):
    """The `data` of a GraphQL HTTP response that must have no errors."""
    body = resp.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The bundled demo loaded once per session into a real SQLite file (read-only use)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    eng = Engine.open(str(path))
    eng.ingest([DEMO])
    eng.close()
    return path


@pytest.fixture
def demo_engine(demo_db):
    eng = Engine.open(str(demo_db))
    yield eng
    eng.close()
