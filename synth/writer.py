"""Streaming JSON writers: items are encoded one at a time and written straight to
the file, split into the vendor's pages, so memory stays flat at any size."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

_OPTS = orjson.OPT_SERIALIZE_NUMPY


def encode(value: Any) -> str:
    """Compact JSON. orjson, because at 200k people the generator encodes millions of
    objects and the stdlib encoder is ten times slower; output is the same bytes."""
    return orjson.dumps(value, option=_OPTS).decode()


class Output:
    """The snapshot directory, with a count of items written per file."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, int] = {}
        self._dirs: set[Path] = set()

    def path(self, rel: str) -> Path:
        p = self.root / rel
        if p.parent not in self._dirs:
            p.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(p.parent)
        return p

    def body(self, rel: str, body: dict | list, items: int) -> None:
        with open(self.path(rel), "w", encoding="utf-8") as fh:
            fh.write(encode(body))
            fh.write("\n")
        self.files[rel] = self.files.get(rel, 0) + items

    def pages(self, rel: str, items: Iterable[dict], page_size: int,
              page: Callable[[str, int, bool], str]) -> int:
        """Writes the items as pages of `page_size`. `page(items_json, page_no, last)`
        wraps one page's comma-joined items in the vendor's envelope. One page is
        written as a single body; several as a JSON array of bodies."""
        chunks: list[str] = []
        pending: str | None = None      # the newest full page, written once we know it is not last
        written = 0
        n = 0
        with open(self.path(rel), "w", encoding="utf-8") as fh:
            for item in items:
                # Items already encoded (shared between files) pass through as text.
                chunks.append(item if isinstance(item, str) else encode(item))
                n += 1
                if len(chunks) == page_size:
                    if pending is not None:
                        fh.write(("[" if written == 0 else ",") + page(pending, written + 1, False))
                        written += 1
                    pending = ",".join(chunks)
                    chunks = []
            if chunks:
                if pending is not None:
                    fh.write(("[" if written == 0 else ",") + page(pending, written + 1, False))
                    written += 1
                pending = ",".join(chunks)
            if pending is None:
                pending = ""
            if written == 0:
                fh.write(page(pending, 1, True))
            else:
                fh.write("," + page(pending, written + 1, True) + "]")
            fh.write("\n")
        self.files[rel] = self.files.get(rel, 0) + n
        return n

    def lines(self, rel: str, items: Iterable[dict]) -> int:
        n = 0
        with open(self.path(rel), "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(encode(item))
                fh.write("\n")
                n += 1
        self.files[rel] = self.files.get(rel, 0) + n
        return n

    def text(self, rel: str, text: str, items: int) -> None:
        with open(self.path(rel), "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        self.files[rel] = self.files.get(rel, 0) + items

