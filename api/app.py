"""The FastAPI app: GraphQL at /graphql (GraphiQL in a browser: api.graphiql), /healthz, /readyz.

Per request on /graphql: body size cap and read timeout -> bearer token (once the
store has any token) -> JSON -> a slot among the client's concurrent requests
(api.client_gate) -> api.execute.run in a bounded worker pool with a deadline.
HTTP statuses: 401 no or bad token, 403 wrong role, 413 body too large, 408 body
too slow, 429 the client's concurrent requests kept this one waiting, 400 a
request that is not GraphQL-over-HTTP JSON; everything else is 200 with GraphQL
`errors` whose `extensions.code` says what went wrong (see api.errors).
Every request is written to the `burnpath.access` logger as one JSON line.
"""
from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
import time
from contextlib import asynccontextmanager
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, TextIO

from fastapi import FastAPI, Request
from graphql import GraphQLError
from fastapi.responses import JSONResponse, Response

from engine.service import Engine

from . import graphiql as ide
from . import web as web_views
from .auth import TokenRecord, TokenStore, is_loopback
from .client_gate import ClientBusy, ClientGates
from .errors import (BAD_INPUT, INTERNAL, LIMIT_EXCEEDED, UNAUTHENTICATED, error_body, format_errors,
                     log)
from .execute import Outcome, operation_type_of, run
from .limits import Limits

ACCESS_LOGGER = "burnpath.access"


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record.msg, separators=(",", ":"), default=str)


def access_logger(stream: Optional[TextIO] = None) -> logging.Logger:
    """The JSON-lines access log: the `burnpath.access` logger (stderr unless logging
    is configured otherwise), or, given a stream, a logger of this app's own."""
    if stream is None:
        logger = logging.getLogger(ACCESS_LOGGER)
        if logger.handlers:
            return logger
        logger.propagate = False
    else:
        logger = logging.Logger(ACCESS_LOGGER)  # unregistered: one per app
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_JsonLines())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


class AccessLog:
    """ASGI middleware writing one JSON line per HTTP request. The endpoint leaves
    what it learnt (operation, role, token id, error codes) in the request state."""

    def __init__(self, app, logger: logging.Logger):
        self.app = app
        self.logger = logger

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 500

        async def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            client = scope.get("client")
            self.logger.info({
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "method": scope.get("method"), "path": scope.get("path"), "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "client": client[0] if client else None,
                "operation": state.get("operation_name"), "operation_type": state.get("operation_type"),
                "role": state.get("role"), "token_id": state.get("token_id"),
                "error_codes": state.get("error_codes") or None,
            })


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _host_name(host: str) -> str:
    """The name in a Host header: `[::1]:8000` -> `::1`, `localhost:8000` -> `localhost`."""
    host = host.strip()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _json(body: dict, status: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(engine: Engine, schema=None, graphiql: bool = True, introspection: bool = True,
               limits: Optional[Limits] = None, access_log: Optional[TextIO] = None,
               warm_up: bool = False, allow_local_admin: bool = False, web: bool = True) -> FastAPI:
    """`allow_local_admin`: with no API tokens in the store, loopback callers may also
    run mutations (ingest, createToken); without it they may only read. `web`: serve
    the web views at `/` (api.web)."""
    limits = limits or Limits()
    open_role = "admin" if allow_local_admin else "reader"
    tokens = TokenStore(engine.store)
    gates = ClientGates(limits.max_concurrent_per_client)
    pool = ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="graphql")
    logger = access_logger(access_log)

    def warm() -> None:
        """Load the graph and evaluate the rule pack before requests need them, then
        move what they built out of the garbage collector's reach: a full collection
        over a 100k-node graph stalls every request for a second or more, and these
        objects live until the next ingest anyway."""
        from .schema import FINDINGS_LOCK
        from engine.findings import findings
        from engine.spend import GROUP_BYS, spend
        try:
            engine.preload()
            with engine.pinned():      # one generation, as a request reads it
                with FINDINGS_LOCK:
                    findings(engine)
                for group_by in GROUP_BYS:  # what dashboards ask first
                    spend(engine, group_by)
        except Exception:  # noqa: BLE001 - a request will meet (and report) the same failure
            log.exception("warming the findings and spend caches failed")
        gc.collect()
        gc.freeze()

    @asynccontextmanager
    async def lifespan(_app):
        if warm_up:
            asyncio.get_running_loop().run_in_executor(pool, warm)
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="burnpath", description="Identity risk graph for AI tools",
                  docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.pool = pool
    app.state.gates = gates

    app.add_middleware(AccessLog, logger=logger)

    def authenticate(request: Request) -> tuple[Optional[TokenRecord], Optional[Response]]:
        """(token, None) when the request may go on, else (None, the 401 response)."""
        header = request.headers.get("authorization", "")
        scheme, _, raw = header.partition(" ")
        try:
            have_tokens = tokens.any()
        except Exception:  # noqa: BLE001 - the store itself failed: not the caller's fault
            log.exception("reading API tokens failed")
            request.state.error_codes = [INTERNAL]
            return None, _json(error_body("the server cannot check tokens right now", INTERNAL), 503)
        if not have_tokens:
            # Open mode exists for local use only: serve refuses other bind addresses,
            # and the Host check stops a web page using DNS rebinding to reach it.
            client = request.client.host if request.client else None
            if is_loopback(client) and is_loopback(_host_name(request.headers.get("host", ""))):
                return None, None
            return None, _unauthenticated("this server has no API tokens and answers loopback only")
        if not header:
            return None, _unauthenticated("send an API token: Authorization: Bearer <token>")
        if scheme.lower() != "bearer" or not raw.strip():
            return None, _unauthenticated("the Authorization header must be `Bearer <token>`")
        rec = tokens.verify(raw)
        if rec is None:
            return None, _unauthenticated("the API token is not valid (unknown, malformed or revoked)")
        return rec, None

    def _unauthenticated(message: str) -> JSONResponse:
        return _json(error_body(message, UNAUTHENTICATED), 401,
                     headers={"WWW-Authenticate": 'Bearer realm="burnpath"'})

    async def execute(request: Request, document: Any, variables: Any, operation_name: Any,
                      rec: Optional[TokenRecord], queries_only: bool = False) -> Response:
        role = rec.role if rec else open_role
        request.state.role = role
        request.state.token_id = rec.id if rec else None
        if isinstance(operation_name, str):
            request.state.operation_name = operation_name
        # A mutation (ingest) may legitimately run long; pick its budget up front.
        is_mutation = isinstance(document, str) and operation_type_of(document, operation_name) == "mutation"
        if queries_only and is_mutation:
            request.state.error_codes = [BAD_INPUT]
            return _json(error_body("mutations must be sent with POST", BAD_INPUT), 405,
                         headers={"Allow": "POST"})
        budget = limits.mutation_timeout_seconds if is_mutation else limits.timeout_seconds
        deadline = time.monotonic() + budget
        client_key = f"token:{rec.id}" if rec else f"address:{request.client.host if request.client else '-'}"
        try:
            await gates.acquire(client_key, budget)
        except ClientBusy:
            request.state.error_codes = [LIMIT_EXCEEDED]
            body = error_body(f"this client already has {limits.max_concurrent_per_client} requests running "
                              f"and this one waited its whole {budget:g} s time limit", LIMIT_EXCEEDED)
            body["errors"][0]["extensions"]["limit"] = "max_concurrent_per_client"
            return _json(body, 429, headers={"Retry-After": "1"})

        def work() -> Outcome:
            try:
                return run(engine, document, variables, operation_name, role=role,
                           token_id=request.state.token_id, limits=limits, introspection=introspection,
                           deadline=deadline, mask=True, request=None, schema=schema,
                           queries_only=queries_only)
            except Exception as exc:  # noqa: BLE001 - a failure outside any resolver
                errors = format_errors([GraphQLError(str(exc), original_error=exc)], mask=True)
                return Outcome(response={"data": None, "errors": errors}, codes=[INTERNAL])

        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(pool, work)
        except BaseException:
            gates.release(client_key)
            raise
        # The slot is the worker's until it stops (which may be after the answer at the deadline).
        future.add_done_callback(lambda _f: gates.release(client_key))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(future),
                                             timeout=max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            # The worker stops at its next checkpoint (api.schema.engine_at); answer now.
            request.state.error_codes = [LIMIT_EXCEEDED]
            body = error_body(f"the request exceeded the {budget:g} s time limit", LIMIT_EXCEEDED)
            body["errors"][0]["extensions"]["limit"] = "timeout_seconds"
            return _json(body)
        request.state.operation_name = outcome.operation_name
        request.state.operation_type = outcome.operation_type
        request.state.error_codes = outcome.codes
        if warm_up and outcome.operation_type == "mutation" and not outcome.codes:
            loop.run_in_executor(pool, warm)  # new data: new graph and findings to build
        return _json(outcome.response, 403 if outcome.forbidden else 200)

    @app.post("/graphql")
    async def graphql_post(request: Request) -> Response:
        try:
            raw = await asyncio.wait_for(_read_body(request, limits.max_body_bytes),
                                         timeout=limits.body_timeout_seconds)
        except asyncio.TimeoutError:
            request.state.error_codes = [LIMIT_EXCEEDED]
            body = error_body(f"the request body did not arrive within {limits.body_timeout_seconds:g} s",
                              LIMIT_EXCEEDED)
            body["errors"][0]["extensions"]["limit"] = "body_timeout_seconds"
            return _json(body, 408, headers={"Connection": "close"})
        except BodyTooLarge:
            request.state.error_codes = [LIMIT_EXCEEDED]
            return _json(error_body(f"request body exceeds the limit of {limits.max_body_bytes} bytes",
                                    LIMIT_EXCEEDED), 413)
        rec, refusal = authenticate(request)
        if refusal is not None:
            request.state.error_codes = getattr(request.state, "error_codes", None) or [UNAUTHENTICATED]
            return refusal
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        # JSON only: a browser cannot send it cross-site without a CORS preflight we never grant.
        if ctype != "application/json":
            request.state.error_codes = [BAD_INPUT]
            return _json(error_body("send the request as application/json", BAD_INPUT), 415)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            request.state.error_codes = [BAD_INPUT]
            return _json(error_body("the request body is not valid JSON", BAD_INPUT), 400)
        if not isinstance(body, dict):
            request.state.error_codes = [BAD_INPUT]
            return _json(error_body("the request body must be a JSON object with a `query`", BAD_INPUT), 400)
        return await execute(request, body.get("query"), body.get("variables"), body.get("operationName"), rec)

    @app.get("/graphql")
    async def graphql_get(request: Request) -> Response:
        params = request.query_params
        if "query" not in params:
            if graphiql and "text/html" in request.headers.get("accept", ""):
                return ide.page(token_required=_tokens_exist())
            request.state.error_codes = [BAD_INPUT]
            return _json(error_body("POST a GraphQL request as JSON (or GET with ?query=)", BAD_INPUT), 400)
        rec, refusal = authenticate(request)
        if refusal is not None:
            request.state.error_codes = getattr(request.state, "error_codes", None) or [UNAUTHENTICATED]
            return refusal
        variables = params.get("variables")
        if variables is not None:
            try:
                variables = json.loads(variables)
            except ValueError:
                request.state.error_codes = [BAD_INPUT]
                return _json(error_body("the variables parameter is not valid JSON", BAD_INPUT), 400)
        return await execute(request, params.get("query"), variables, params.get("operationName"), rec,
                             queries_only=True)

    def _tokens_exist() -> bool:
        """Whether the IDE should ask for a token (the server decides either way)."""
        try:
            return tokens.any()
        except Exception:  # noqa: BLE001 - the POST will report the store failure
            return True

    if graphiql:
        ide.add_asset_route(app)
    if web:
        web_views.add_routes(app, graphiql)

    @app.get("/healthz")
    def healthz() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        """Readiness: the store answers and its graph is loaded for the current data."""
        def check() -> dict:
            with engine.pinned() as generation:
                return {"status": "ready", "generation": generation, "nodes": engine.node_count()}

        loop = asyncio.get_running_loop()
        try:
            body = await asyncio.wait_for(asyncio.shield(loop.run_in_executor(pool, check)),
                                          timeout=limits.timeout_seconds)
        except asyncio.TimeoutError:
            return _json({"status": "loading", "reason": "the graph is still loading"}, 503)
        except Exception as exc:  # noqa: BLE001 - any store failure means not ready
            log.error("readiness check failed: %r", exc)
            return _json({"status": "unavailable", "reason": "the store cannot be read; see the server log"},
                         503)
        return _json(body)

    return app
