"""`burnpath watch --every 1h`: collect → ingest → drift → alert in a loop (api/watch.py)."""
from __future__ import annotations

from .alert_cli import add_alert_options, destinations_of
from .cli_options import CliError, add_store_options


def add_parser(sub):
    from .watch import parse_every
    sp = sub.add_parser("watch", help="collect, ingest, drift and alert on a schedule",
                        description="Every --every: pull each --collect SOURCE into --snapshot (a failed "
                        "pull keeps the last good one), ingest it, work out the drift, send alerts. A "
                        "failed step is reported and the next cycle goes on. docs/ALERTS.md has a "
                        "systemd unit and a container entrypoint.")
    sp.add_argument("--every", type=parse_every, default=None, metavar="DURATION",
                    help="time between cycle starts: 30s, 15m, 1h, 1d (required unless --once)")
    sp.add_argument("--once", action="store_true", help="run one cycle and exit (1 when a step failed)")
    sp.add_argument("--cycles", type=int, default=0, metavar="N", help="stop after N cycles (default: run until stopped)")
    sp.add_argument("--snapshot", required=True, metavar="DIR",
                    help="the snapshot directory collected into and ingested each cycle")
    sp.add_argument("--collect", action="append", default=[], metavar="SOURCE",
                    help="a vendor to pull each cycle (as `burnpath collect SOURCE`; keys from its "
                    "environment variables), repeatable (default: none, ingest --snapshot as it is)")
    sp.add_argument("--max-retries", type=int, default=5, help="retries of a failed vendor request while collecting")
    sp.add_argument("--lock", default=None, metavar="FILE",
                    help="the lock file (default: <db>.watch.lock beside an embedded store, else in --snapshot)")
    add_alert_options(sp)
    add_store_options(sp, as_of=False)
    return sp


def run(args) -> int:
    from ingest.collect import COLLECTORS
    from .watch import watch
    if not args.once and args.every is None:
        raise CliError("give --every DURATION (or --once)")
    if args.every is None:
        args.every = 0.0
    unknown = [s for s in args.collect if s not in COLLECTORS]
    if unknown:
        raise CliError(f"--collect {unknown[0]!r}: unknown source (one of {', '.join(COLLECTORS)})")
    try:
        dests, secret = destinations_of(args)
    except CliError as exc:
        if "no destination" not in str(exc):
            raise
        dests, secret = [], None          # no alerts configured: collect, ingest and drift only
    return watch(args, dests, secret)
