"""Finding a source's files by their place in the snapshot layout.

Patterns are globs relative to the source directory; `*` stands for one path
segment (an id). A partial load (`only`) keeps just the files it names."""
from __future__ import annotations

from pathlib import Path

from engine.model import Records


def select(root: Path, only: set[Path] | None, patterns: tuple[str, ...],
           rec: Records | None = None, suffixes: tuple[str, ...] = (".json",)) -> dict[str, list[Path]]:
    """{pattern: files}; with `rec`, files of the given suffixes that no pattern claims
    are reported as warnings (they are not part of the layout and are ignored)."""
    root = Path(root)
    claimed: set[Path] = set()
    out: dict[str, list[Path]] = {}
    for pattern in patterns:
        found = sorted(p for p in root.glob(pattern) if p.is_file())
        if only is not None:
            found = [p for p in found if p.resolve() in only]
        out[pattern] = found
        claimed.update(p.resolve() for p in found)
    if rec is not None:
        for p in sorted(root.rglob("*")):
            if (p.is_file() and p.suffix in suffixes and p.resolve() not in claimed
                    and (only is None or p.resolve() in only)):
                rec.warnings.append(f"{p}: not a file of the {root.name}/ snapshot layout; ignored")
    return out


def segment(path: Path, root: Path, index: int) -> str:
    """The path segment at `index` below the source root (the id in `groups/<id>/...`)."""
    return path.resolve().relative_to(Path(root).resolve()).parts[index]
