"""What lies under a source directory: every entry is a readable regular file or a
directory this can enter, else the source fails with an error naming the entry.

Why a check of its own: the ingesters find their files by globbing, and a glob passes
over what it cannot read (a dangling symlink, a FIFO, a directory it may not list) as
if it were absent. A complete re-sync would then mark what that file held as removed:
data lost to an unreadable file. Checked before the ingester runs, an entry that cannot
be read stops the source with nothing of it written.

After the ingester runs, `unread_warnings` names every file it did not read (one
warning per file, unless the ingester already named it), so no source drops a file in
silence, whatever layout table it uses.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterable, Iterator

from .errors import IngestError

# A directory with one of these names stands where the layout expects a file.
DATA_SUFFIXES = (".json", ".jsonl", ".csv", ".yaml", ".yml", ".gz")


def describe(path: str) -> str:
    """What a non-regular, non-directory entry is, in words."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"an entry that cannot be examined ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "a symbolic link loop"
            if exc.errno == errno.ENOENT:
                return f"a dangling symbolic link (to {os.readlink(path)!r})"
            return f"a symbolic link that cannot be followed ({exc.strerror})"
        st = os.stat(path)
    mode = st.st_mode
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "not a regular file"


def _check_file(path: str) -> None:
    # Root reads through any mode bits, so os.access answers for who runs this.
    if not os.access(path, os.R_OK):
        raise IngestError(path, "cannot read: permission denied (a re-sync would lose what it holds; "
                                "fix its permissions or move it out of the snapshot)")


def readable_files(base: str | Path) -> Iterator[str]:
    """Every regular file under `base` (symlinked directories not entered, as the
    layout's walk does), spelled from `base`; IngestError for the first entry that is
    not a readable regular file or an enterable directory."""
    base = os.fspath(base)
    try:
        entries = list(os.scandir(base))
    except OSError as exc:
        raise IngestError(base, f"cannot list this directory: {exc.strerror or exc} "
                                f"(a re-sync would lose what it holds)") from exc
    subdirs = []
    for entry in sorted(entries, key=lambda e: e.name):
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            if entry.name.endswith(DATA_SUFFIXES):
                raise IngestError(entry.path, "a directory where the snapshot layout expects a file")
            if not entry.is_symlink():
                subdirs.append(entry.path)
            continue
        if not is_file:
            raise IngestError(entry.path, f"{describe(entry.path)} (a re-sync would lose what it held); "
                                          f"remove it or replace it with the file")
        _check_file(entry.path)
        yield entry.path
    for sub in subdirs:
        yield from readable_files(sub)


def check_given(paths: Iterable[str | Path]) -> list[str]:
    """The files of a partial load (the paths the user named), checked like a walk."""
    out: list[str] = []
    for p in paths:
        text = os.fspath(p)
        if os.path.isdir(text):
            if text.endswith(DATA_SUFFIXES):
                raise IngestError(text, "a directory where the snapshot layout expects a file")
            out += readable_files(text)
        elif os.path.isfile(text):
            _check_file(text)
            out.append(text)
        else:
            raise IngestError(text, describe(text))
    return out


def _key(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def unread_warnings(source: str, present: list[str], read: list[str], warnings: list[str]) -> list[str]:
    """A warning per present file the ingester did not read and did not already name."""
    done = {_key(p) for p in read}
    out = []
    for p in present:
        if _key(p) in done:
            continue
        name = os.path.basename(p)
        if any(p in w or (name in w and _mentions(w, p)) for w in warnings):
            continue
        out.append(f"{p}: not a file of the {source}/ snapshot layout; ignored")
    return out


def _mentions(warning: str, path: str) -> bool:
    # An ingester may name a file by its path relative to the source directory.
    parts = Path(path).parts
    return any("/".join(parts[i:]) in warning for i in range(1, len(parts)))
