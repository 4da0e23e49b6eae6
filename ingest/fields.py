"""Checked reads of one vendor field: the value in the shape the layout documents, or
an IngestError naming the file, the field and what was there instead.

For fields an ingester uses (splits, iterates, keys by), not for those it only keeps
as properties (any JSON value is kept as it came)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import IngestError


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def wrong(path: Path | str, where: str, expected: str, value: Any) -> IngestError:
    return IngestError(path, f"{where}: expected {expected}, got {type(value).__name__} {shown(value)}")


def text(value: Any, path: Path | str, where: str) -> str | None:
    """A string field: None and "" are no value; anything but a string is an error."""
    if value is None or value == "":
        return None
    if type(value) is str:
        return value
    raise wrong(path, where, "a string", value)


def items(value: Any, path: Path | str, where: str) -> list:
    """A list field: None is an empty list; anything but a list is an error."""
    if value is None:
        return []
    if type(value) is list:
        return value
    raise wrong(path, where, "a list", value)


def mapping(value: Any, path: Path | str, where: str) -> dict:
    """An object field: None is an empty object; anything but an object is an error."""
    if value is None:
        return {}
    if type(value) is dict:
        return value
    raise wrong(path, where, "an object", value)


def strings(value: Any, path: Path | str, where: str) -> list[str]:
    """A list of strings (a bare string is a list of one)."""
    if type(value) is str:
        return [value]
    out = items(value, path, where)
    for i, v in enumerate(out):
        if type(v) is not str:
            raise wrong(path, f"{where}[{i}]", "a string", v)
    return out
