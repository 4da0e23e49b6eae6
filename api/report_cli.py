"""`burnpath report --out FILE [--team T] [--as-of ...] [--force]`: write the
access-review report (api.report), one self-contained HTML file.

The file is written whole or not at all (a temporary file beside it, then linked
into place), and an existing file is never replaced unless `--force`.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def add_parser(sub) -> None:
    sp = sub.add_parser("report", help="write a self-contained HTML access-review report",
                        description="Write one HTML file (inline CSS and SVG, opens offline) for an access "
                                    "review: summary, top risks, findings by team and owner with evidence, "
                                    "spend by team and person, departed owners, over-shared and orphaned "
                                    "identities, pictures of the largest blast radii.")
    sp.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    sp.add_argument("--team", default=None, metavar="TEAM",
                    help="only this team's findings, risks and pictures (team:<id>, or just <id>)")
    sp.add_argument("--force", action="store_true", help="replace FILE if it exists (default: refuse)")
    if not any(a.dest == "db" for a in sp._actions):
        sp.add_argument("--db", default=None, help="embedded db path or bolt:// / neo4j:// URL "
                        "(default $BURNPATH_DB, else ./burnpath.db)")
    if not any(a.dest == "as_of" for a in sp._actions):
        sp.add_argument("--as-of", default=None, help="'now' for time-based rules (default: the latest "
                        "timestamp in the data)")
    sp.set_defaults(func=run)


def _fail(message: str, code: int) -> int:
    print(f"burnpath report: {message}", file=sys.stderr)
    return code


def _store_url(args) -> str:
    return args.db or os.environ.get("BURNPATH_DB") or "./burnpath.db"


def run(args) -> int:
    from engine.derive import parse_ts
    from engine.service import Engine
    from engine.store import StoreError
    from .report import ReportError, collect, render

    out = Path(args.out)
    if out.exists() and not args.force:
        return _fail(f"{out} exists; pass --force to replace it", 2)
    if out.parent and not out.parent.is_dir():
        return _fail(f"{out.parent} is not a directory", 2)
    url = _store_url(args)
    if "://" not in url and not Path(url).exists():
        return _fail(f"no store at {url} (ingest first, or pass --db)", 2)
    as_of = None
    if getattr(args, "as_of", None):
        as_of = parse_ts(args.as_of)
        if as_of is None:
            return _fail(f"--as-of {args.as_of!r} is not an ISO date or timestamp", 2)
    team = args.team
    if team and not team.startswith("team:"):
        team = "team:" + team
    try:
        engine = Engine.open(url, as_of=as_of)
    except StoreError as exc:
        return _fail(str(exc), 2)
    try:
        if team is not None and engine.node(team) is None:
            return _fail(f"no team {team!r} in {url}", 2)
        html = render(collect(engine, team), team, as_of, url if "://" not in url else url.split("@")[-1])
    except ReportError as exc:
        return _fail(f"cannot report on {url}: {exc}", 1)
    finally:
        engine.close()
    return _write(out, html, args.force)


def _write(out: Path, html: str, force: bool) -> int:
    fd, tmp = tempfile.mkstemp(prefix=".burnpath-report-", suffix=".html", dir=out.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)
        if force:
            os.replace(tmp, out)
        else:
            try:
                os.link(tmp, out)          # fails if it appeared meanwhile: never replaced
            except FileExistsError:
                return _fail(f"{out} exists; pass --force to replace it", 2)
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc.strerror or exc}", 1)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"burnpath report: wrote {out} ({len(html.encode()) // 1024} KiB)")
    return 0
