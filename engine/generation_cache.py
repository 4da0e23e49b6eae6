"""Results derived from the whole graph (findings, risk, spend), kept per store generation.

A result is stored only under the generation it was computed from: the generation is
read before computing and the store is asked afterwards whether every read saw it
(Store.reads_at), so a load committing during an evaluation never leaves the old
answer served as the new generation's. Only the newest generation seen is kept; a
reader still pinned to an older one computes for itself and stores nothing.

Thread-safe: the API evaluates from a pool of threads. Concurrent first askers of one
key wait for the one computing it rather than repeating the work; the thread that
is computing may ask for other keys (findings ask for the rule facts) and, should it
ask for its own key again, computes it again rather than waiting on itself.
"""
from __future__ import annotations

import threading
from typing import Any, Callable


class _Pending:
    __slots__ = ("owner", "done")

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.done = threading.Event()


class GenerationCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = -1
        self._values: dict[str, Any] = {}
        self._pending: dict[tuple[int, str], _Pending] = {}

    @property
    def generation(self) -> int:
        """The generation whose results are held (-1 before any)."""
        return self._generation

    def get(self, store, key: str, compute: Callable[[], Any]) -> Any:
        while True:
            gen = store.generation()
            with self._lock:
                if gen > self._generation:
                    self._values.clear()
                    self._generation = gen
                if gen == self._generation and key in self._values:
                    return self._values[key]
                pending = self._pending.get((gen, key))
                if pending is None or pending.owner == threading.get_ident():
                    mine = _Pending()
                    self._pending.setdefault((gen, key), mine)
                    break
            pending.done.wait()    # then look again: stored, or the computer failed
        try:
            value = compute()
            current = store.reads_at(gen)
            with self._lock:
                # Stored only when every read saw `gen` and `gen` is still the newest.
                if current and gen == self._generation:
                    self._values[key] = value
            return value
        finally:
            with self._lock:
                if self._pending.get((gen, key)) is mine:
                    del self._pending[(gen, key)]
            mine.done.set()

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
