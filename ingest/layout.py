"""Finding a source's files by their place in the snapshot layout.

Patterns are globs relative to the source directory; `*` stands for one path
segment (an id). A partial load (`only`) keeps just the files it names."""
from __future__ import annotations

import os
from fnmatch import fnmatchcase
from pathlib import Path

from engine.model import Records

_WILD = frozenset("*?[")


def _glob_files(root: Path, pattern: str) -> list[Path]:
    """Files matching `pattern` under `root` (what `root.glob(pattern)` filtered by
    `is_file()` gives, for patterns of literal and wildcard segments), from one scandir
    per directory: pathlib's globbing and a stat per file cost seconds on a snapshot of
    tens of thousands of files."""
    parts = pattern.split("/")
    dirs = [""]
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = []
        for rel in dirs:
            base = os.path.join(root, rel) if rel else os.fspath(root)
            if not (_WILD & set(part)):
                full = os.path.join(base, part)
                if os.path.isfile(full) if last else os.path.isdir(full):
                    nxt.append(f"{rel}/{part}" if rel else part)
                continue
            try:
                entries = list(os.scandir(base))
            except OSError:
                continue
            for entry in entries:
                if fnmatchcase(entry.name, part) and (entry.is_file() if last else entry.is_dir()):
                    nxt.append(f"{rel}/{entry.name}" if rel else entry.name)
        dirs = nxt
    return [root / rel for rel in dirs]


def _stray_files(root: Path, suffixes: tuple[str, ...], claimed: set[str]) -> list[Path]:
    """Files of the given suffixes anywhere under `root` (not into symlinked directories,
    as `rglob` does not) whose path, spelled from `root`, is not in `claimed`."""
    out = []
    for base, name in walk_names(os.fspath(root)):
        if name.endswith(suffixes) and os.path.join(base, name) not in claimed:
            p = Path(base, name)
            if p.suffix in suffixes and p.is_file():
                out.append(p)
    return out


def walk_names(base: str):
    """(directory, name) of every non-directory under base, as os.walk lists them
    (symlinked directories not entered), from scandir's entry types alone: os.walk
    checks each directory for a link with one more system call, and a snapshot has a
    directory per user."""
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    subdirs = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if not is_dir:
            yield base, entry.name
        elif not entry.is_symlink():
            subdirs.append(entry.path)
    for sub in subdirs:
        yield from walk_names(sub)


def _ordered(paths) -> list[Path]:
    # Path order (segment by segment), compared as tuples in C rather than Path.__lt__.
    return sorted(paths, key=lambda p: p.parts)


def select(root: Path, only: set[Path] | None, patterns: tuple[str, ...],
           rec: Records | None = None, suffixes: tuple[str, ...] = (".json",)) -> dict[str, list[Path]]:
    """{pattern: files}; with `rec`, files of the given suffixes that no pattern claims
    are reported as warnings (they are not part of the layout and are ignored)."""
    root = Path(root)
    claimed: set[Path] = set()
    out: dict[str, list[Path]] = {}
    # A complete load compares the paths globbing gave (all spelled from `root`); only a
    # partial load needs them resolved, to match the files the user named. Resolving
    # every file of a 100k-file snapshot costs seconds of lstat calls.
    key = (lambda p: p) if only is None else (lambda p: p.resolve())
    for pattern in patterns:
        found = _ordered(_glob_files(root, pattern))
        if only is not None:
            found = [p for p in found if p.resolve() in only]
        out[pattern] = found
        claimed.update(key(p) for p in found)
    if rec is not None:
        spelled = {os.fspath(p) for ps in out.values() for p in ps} if only is None else set()
        stray = [p for p in _stray_files(root, suffixes, spelled)
                 if key(p) not in claimed and (only is None or p.resolve() in only)]
        for p in _ordered(stray):
            rec.warnings.append(f"{p}: not a file of the {root.name}/ snapshot layout; ignored")
    return out


def segment(path: Path, root: Path, index: int) -> str:
    """The path segment at `index` below the source root (the id in `groups/<id>/...`)."""
    # Files found by globbing `root` are spelled from it: split the text, no resolving.
    text, base = os.fspath(path), os.fspath(root).rstrip("/")
    if text.startswith(base + "/") and "/./" not in text and "/../" not in text:
        parts = text[len(base) + 1:].split("/")
        if index < len(parts) and all(parts):
            return parts[index]
    return Path(path).resolve().relative_to(Path(root).resolve()).parts[index]
