"""Connection-level guards for `burnpath serve` (uvicorn has no request-head timeout).

- A connection must send a complete request line and headers within
  `header_timeout_seconds` of opening (or of its previous response, when kept
  alive), else it is closed: half-sent requests (slowloris) cannot pile up.
- At most `max_connections` are open (kept below the process's descriptor limit).
  At the cap a new connection displaces the oldest one that has not sent a complete
  request head (a half-sent or idle one); when every open connection is busy with
  a request, the new one is closed at once. So half-sent connections can never keep
  a real client out, and the process never runs out of descriptors.
The body's own read timeout is the app's (api.app: HTTP 408).
"""
from __future__ import annotations

import asyncio
import resource

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .limits import Limits

# Descriptors kept free for the store, the graph cache, logs and the listening socket.
RESERVED_DESCRIPTORS = 64


def connection_cap(requested: int) -> int:
    """`requested`, lowered to fit the soft descriptor limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return requested
    return max(1, min(requested, soft - RESERVED_DESCRIPTORS))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus both guards. Settings: the class's `guard`
    (guarded_protocol), else the uvicorn Config's `burnpath_guard` (set by
    configure(); a Config pickled to worker processes keeps it), else the defaults."""
    guard: tuple[float, int] | None = None

    def _settings(self) -> tuple[float, int]:
        if self.guard is not None:
            return self.guard
        guard = getattr(self.config, "burnpath_guard", None)
        if guard is None:
            defaults = Limits()
            guard = (defaults.header_timeout_seconds, connection_cap(defaults.max_connections))
        return guard

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self._head_timeout, cap = self._settings()
        self._head_timer = None
        if len(self.connections) >= cap:
            oldest = next(iter(_waiting(self.server_state)), None)
            if oldest is None:          # every connection is busy with a request
                self.transport = transport
                transport.close()
                return
            oldest._drop()
        super().connection_made(transport)
        self._await_head()

    def _await_head(self) -> None:
        _waiting(self.server_state)[self] = None
        self._head_timer = self.loop.call_later(self._head_timeout, self._head_timed_out)

    def _head_arrived(self) -> None:
        _waiting(self.server_state).pop(self, None)
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE:
            self._drop()

    def _drop(self) -> None:
        self._head_arrived()
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._head_arrived()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Kept alive: the next request's head is due within the same timeout.
        if (not self.transport.is_closing() and self.conn.their_state is h11.IDLE
                and self._head_timer is None):
            self._await_head()

    def connection_lost(self, exc) -> None:
        self._head_arrived()
        super().connection_lost(exc)


def guarded_protocol(header_timeout: float, max_connections: int) -> type[asyncio.Protocol]:
    """A protocol class for uvicorn.Config(http=...) in this process (tests)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,),
                {"guard": (header_timeout, connection_cap(max_connections))})


def configure(config, limits) -> None:
    """Guard a uvicorn.Config (built with `http=PROTOCOL`) with these limits."""
    config.burnpath_guard = (limits.header_timeout_seconds, connection_cap(limits.max_connections))


PROTOCOL = "api.http_guard:GuardedH11Protocol"


def _waiting(server_state) -> dict:
    """Open connections still owing a complete request head, oldest first."""
    waiting = getattr(server_state, "burnpath_awaiting_head", None)
    if waiting is None:
        waiting = server_state.burnpath_awaiting_head = {}
    return waiting
