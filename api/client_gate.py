"""Per-client concurrency: at most N requests of one client execute at once.

A client is its API token, or its address when it sends none (open mode, loopback
only). Requests over the limit wait their turn in the event loop, holding no worker
thread, so one client flooding the server takes at most N of the pool's threads
and every other client's requests still run. A slot is held until the worker
finishes, not until the client is answered: a request answered at its deadline may
still be running, and its slot stays taken until it stops.
"""
from __future__ import annotations

import asyncio


class ClientBusy(Exception):
    """The request waited for one of its client's slots until its deadline."""


class ClientGates:
    def __init__(self, per_client: int):
        self.per_client = per_client
        self._gates: dict[str, list] = {}     # key -> [semaphore, requests holding or waiting]

    async def acquire(self, key: str, timeout: float) -> None:
        entry = self._gates.get(key)
        if entry is None:
            entry = self._gates[key] = [asyncio.Semaphore(self.per_client), 0]
        entry[1] += 1
        try:
            await asyncio.wait_for(entry[0].acquire(), timeout=max(timeout, 0.0))
        except asyncio.TimeoutError:
            self._leave(key, entry)
            raise ClientBusy from None
        except BaseException:           # the client went away while waiting
            self._leave(key, entry)
            raise

    def release(self, key: str) -> None:
        entry = self._gates.get(key)
        if entry is not None:
            entry[0].release()
            self._leave(key, entry)

    def _leave(self, key: str, entry: list) -> None:
        entry[1] -= 1
        if entry[1] == 0 and self._gates.get(key) is entry:
            del self._gates[key]

    def busy(self, key: str) -> int:
        """Requests of this client executing or waiting."""
        entry = self._gates.get(key)
        return entry[1] if entry is not None else 0
