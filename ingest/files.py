"""Reading snapshot files: JSON bodies, pages of bodies, JSON lines, CSV, YAML.
Every failure becomes an IngestError naming the file."""
from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from .errors import IngestError

_BOM = b"\xef\xbb\xbf"

# Called with each file's path as it is read (the CLI's progress display); None: nobody
# watches. Set per process: files a worker process parses are not seen here.
_file_observer: Callable[[Path], None] | None = None


@contextlib.contextmanager
def observe_files(callback: Callable[[Path], None]):
    global _file_observer
    previous, _file_observer = _file_observer, callback
    try:
        yield
    finally:
        _file_observer = previous


def _seen(path) -> None:
    if _file_observer is not None:
        _file_observer(path)


def _read_bytes(path) -> bytes:
    # Plain descriptor reads: a fifth of what Path.read_bytes costs per file (its
    # buffered file object), which counts on a snapshot of 100k small listing files.
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1) if size else b""
        if size == 0 or len(data) != size:      # grew, shrank, or a pseudo-file (size 0)
            chunks = [data]
            while True:
                more = os.read(fd, 1 << 20)
                if not more:
                    break
                chunks.append(more)
            data = b"".join(chunks)
        return data
    finally:
        os.close(fd)


def read_json(path: Path) -> Any:
    _seen(path)
    try:
        raw = _read_bytes(path)
    except OSError as exc:
        raise IngestError(path, f"cannot read: {exc.strerror or exc}") from exc
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    # orjson first: several times faster than the stdlib on a large snapshot. It reads
    # strict JSON only; anything it refuses (NaN, integers past 64 bits, lone surrogates,
    # bad UTF-8, an empty file) takes the stdlib's path, whose result or error is the one
    # this has always given.
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        # (newlines as text mode reads them, so error lines are counted as before)
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise IngestError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not text.strip():
        raise IngestError(path, "empty file (expected a JSON response body)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc


def read_pages(path: Path) -> list[Any]:
    """A file holds one response body or a JSON array of bodies (the pages of one
    endpoint). Returns the bodies. A bare array of objects that are not pages is the
    caller's to tell apart (see `list_items`)."""
    body = read_json(path)
    return body if isinstance(body, list) else [body]


def list_items(path: Path, envelope: str | tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Items of a listing endpoint saved as one body or as pages.

    `envelope` names the key holding the items (OpenAI/Anthropic `data`, Graph `value`,
    SCIM `Resources`); None means the endpoint returns a bare JSON array (Okta, GitHub).
    Accepts: one enveloped body, an array of enveloped bodies, a bare array of items,
    or an array of bare arrays."""
    body = read_json(path)
    keys = (envelope,) if isinstance(envelope, str) else (envelope or ())
    pages = body if isinstance(body, list) and (not body or not _is_item(body[0], keys)) else [body]
    items: list[dict[str, Any]] = []
    for n, page in enumerate(pages):
        if isinstance(page, list):
            page_items = page
        elif isinstance(page, dict) and keys:
            key = next((k for k in keys if k in page), None)
            if key is None:
                raise IngestError(path, f"page {n + 1}: expected a response body with "
                                        f"{' or '.join(repr(k) for k in keys)}, got keys "
                                        f"{sorted(page)[:8]}")
            page_items = page[key]
            if page_items is None:
                page_items = []
        elif isinstance(page, dict):
            raise IngestError(path, f"page {n + 1}: expected a JSON array of objects, got an object")
        else:
            raise IngestError(path, f"page {n + 1}: expected a response body, got {type(page).__name__}")
        if not isinstance(page_items, list):
            raise IngestError(path, f"page {n + 1}: expected a list of items, got {type(page_items).__name__}")
        for m, item in enumerate(page_items):
            if not isinstance(item, dict):
                raise IngestError(path, f"page {n + 1} item {m + 1}: expected an object, "
                                        f"got {type(item).__name__}")
            items.append(item)
    return items


def _is_item(first: Any, keys: tuple[str, ...]) -> bool:
    """In a top-level array, is `first` an item (bare listing) rather than a page?"""
    if isinstance(first, list):
        return False
    if not isinstance(first, dict):
        return True
    return not any(k in first for k in keys)


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank line; `.gz` files are decompressed."""
    _seen(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise IngestError(path, f"cannot read: {exc}") from exc
    for lineno, line in enumerate(io.StringIO(text), 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:
                obj = json.loads(line)     # what orjson refuses and the stdlib reads (NaN...)
            except json.JSONDecodeError as exc:
                raise IngestError(path, f"line {lineno}: invalid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise IngestError(path, f"line {lineno}: expected a JSON object")
        yield lineno, obj


def read_csv(path: Path, required: tuple[str, ...] = ()) -> list[dict[str, str]]:
    _seen(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(path, f"cannot read as UTF-8 text: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise IngestError(path, f"CSV header lacks column(s) {', '.join(missing)}")
    rows = []
    for n, row in enumerate(reader, 2):
        if None in row:
            raise IngestError(path, f"line {n}: more fields than the header names")
        rows.append(row)
    return rows


def read_yaml(path: Path) -> Any:
    import yaml
    _seen(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(path, f"cannot read as UTF-8 text: {exc}") from exc
    try:
        # libyaml's loader when present: same safe subset, ~10x faster on large inventories.
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise IngestError(path, f"invalid YAML{where}: {problem}") from exc
