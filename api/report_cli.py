"""`burnpath report --out FILE [--team T] [--as-of ...] [--force]`: write the
access-review report (api.report), one self-contained HTML file.

The file is written whole or not at all (a temporary file beside it, then linked
into place), and an existing file is never replaced unless `--force`.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .cli_options import CliError, add_store_options, db_url, is_embedded, open_engine


def add_parser(sub):
    sp = sub.add_parser("report", help="write a self-contained HTML access-review report",
                        description="Write one HTML file (inline CSS and SVG, opens offline) for an access "
                                    "review: summary, top risks, findings by team and owner with evidence, "
                                    "spend by team and person, departed owners, over-shared and orphaned "
                                    "identities, pictures of the largest blast radii.")
    sp.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    sp.add_argument("--team", default=None, metavar="TEAM",
                    help="only this team's findings, risks and pictures (team:<id>, or just <id>)")
    sp.add_argument("--force", action="store_true", help="replace FILE if it exists (default: refuse)")
    add_store_options(sp)
    return sp


def run(args) -> int:
    from .report import ReportError, collect, render

    out = Path(args.out)
    if out.exists() and not args.force:
        raise CliError(f"{out} exists; pass --force to replace it")
    if not out.parent.is_dir():
        raise CliError(f"{out.parent} is not a directory")
    team = args.team
    if team and not team.startswith("team:"):
        team = "team:" + team
    url = db_url(args)
    engine = open_engine(args)
    try:
        if team is not None and engine.node(team) is None:
            raise CliError(f"no team {team!r} in {url}")
        label = url if is_embedded(url) else url.split("@")[-1]   # never a URL's credentials
        html = render(collect(engine, team), team, _as_of(args), label)
    except ReportError as exc:
        raise CliError(f"cannot report on {url}: {exc}", code=1) from exc
    finally:
        engine.close()
    _write(out, html, args.force)
    print(f"burnpath report: wrote {out} ({len(html.encode()) // 1024} KiB)")
    return 0


def _as_of(args):
    from .cli_options import parse_as_of
    return parse_as_of(getattr(args, "as_of", None))


def _write(out: Path, html: str, force: bool) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".burnpath-report-", suffix=".html", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)
        if force:
            os.replace(tmp, out)
        else:
            try:
                os.link(tmp, out)          # fails if it appeared meanwhile: never replaced
            except FileExistsError as exc:
                raise CliError(f"{out} exists; pass --force to replace it") from exc
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}", code=1) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
