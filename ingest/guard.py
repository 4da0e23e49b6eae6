"""The last line of defence between a vendor's odd value and a Python traceback.

Ingesters check the shapes the layout documents and raise IngestError naming the file
and the field. What they did not foresee (a number where text belongs, a list where an
object does, a float out of range) would otherwise escape as a TypeError, ValueError or
RecursionError: a traceback on the CLI and INTERNAL over the API. `parse_guard` turns
any such failure into an IngestError naming the file being read when it happened (the
readers in ingest.files note it) and the problem, so the source fails like any other
bad file: nothing of it written.
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from .errors import IngestError

_state = threading.local()


def note_file(path: str | Path) -> None:
    """Record the file a reader is reading (the one a later failure is blamed on)."""
    _state.path = path


def current_file() -> str | Path | None:
    return getattr(_state, "path", None)


def _problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "a value nested too deeply to read"
    errors = getattr(exc, "errors", None)
    if callable(errors):          # pydantic: name the field(s) it refused
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "a field"
            return f"{where}: {first.get('msg')} (got {first.get('input')!r:.80})"
        except Exception:       # noqa: BLE001 - fall back to the plain message
            pass
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"a field holds a value of the wrong type or range ({type(exc).__name__}: {text[:200]})"


@contextlib.contextmanager
def parse_guard(source: str, root: str | Path):
    note_file(root)
    try:
        yield
    except IngestError:
        raise
    except (MemoryError, KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:      # noqa: BLE001 - see the module doc
        raise IngestError(current_file() or root, _problem(exc)) from exc
