"""`burnpath alert`: send new findings (at or above --severity), anomalies and drift
summaries to webhooks, once per finding until it resolves; undelivered alerts stay in
the store's outbox and are retried by the next run. docs/ALERTS.md has the payload
and how to verify its signature."""
from __future__ import annotations

import os
import re
import sys

from .cli_options import CliError, add_store_options, open_engine
from .findings_gate import severity_arg

WEBHOOKS_ENV = "BURNPATH_ALERT_WEBHOOKS"
SLACK_ENV = "BURNPATH_ALERT_SLACK"
SECRET_ENV = "BURNPATH_ALERT_SECRET"
EXIT_UNDELIVERED = 1


def add_alert_options(sp) -> None:
    g = sp.add_argument_group("alerts")
    g.add_argument("--webhook", action="append", default=[], metavar="URL",
                   help=f"a webhook for the signed JSON payload, repeatable (also ${WEBHOOKS_ENV}, "
                   "space- or comma-separated)")
    g.add_argument("--slack", action="append", default=[], metavar="URL",
                   help=f"a Slack-compatible incoming webhook (text + blocks), repeatable (also ${SLACK_ENV}; "
                   "prefer the variable: a Slack URL is itself a secret)")
    g.add_argument("--severity", type=severity_arg, default="high",
                   help="send findings at or above this severity (anomalies are sent at any)")
    g.add_argument("--secret-env", default=SECRET_ENV, metavar="NAME",
                   help="the environment variable holding the HMAC signing secret (needed for --webhook)")
    g.add_argument("--attempts", type=int, default=4, help="tries per alert and run before it waits for the next run")
    g.add_argument("--backoff", type=float, default=1.0, metavar="SECONDS",
                   help="wait before the first retry, doubled each retry (a Retry-After header wins)")
    g.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per request")
    g.add_argument("--no-drift", action="store_true", help="do not send drift summaries")


def add_parser(sub):
    sp = sub.add_parser("alert", help="send new findings, anomalies and drift to webhooks (once each)",
                        description=__doc__)
    add_alert_options(sp)
    add_store_options(sp)
    return sp


def _urls(given: list[str], env: str) -> list[str]:
    return [*given, *[u for u in re.split(r"[\s,]+", os.environ.get(env, "")) if u]]


def destinations_of(args):
    from engine.alerts.send import Destination
    dests = [Destination(u, "json") for u in _urls(args.webhook, WEBHOOKS_ENV)]
    dests += [Destination(u, "slack") for u in _urls(args.slack, SLACK_ENV)]
    for d in dests:
        if not d.url.startswith(("http://", "https://")):
            raise CliError(f"{d.label.split()[0]} destination is not an http(s) URL")
    if not dests:
        raise CliError(f"no destination: give --webhook URL or --slack URL (or ${WEBHOOKS_ENV} / ${SLACK_ENV})")
    secret = os.environ.get(args.secret_env) or None
    if secret is None and any(d.format == "json" for d in dests):
        raise CliError(f"--webhook payloads are signed: set ${args.secret_env} to the shared secret "
                       "(it is read from the environment only)")
    if args.attempts < 1:
        raise CliError("--attempts must be at least 1")
    return dests, secret


NO_DRIFT_GIVEN = object()


def send_alerts(engine, args, dests, secret, out=None, drift=NO_DRIFT_GIVEN) -> int:
    """The alert step (also watch's, which passes the drift it worked out): prints what
    went, lists what did not; the exit status."""
    out = out or sys.stdout
    from engine.alerts.drift import latest_drift
    from engine.alerts.send import run_alerts
    if drift is NO_DRIFT_GIVEN:
        drift = latest_drift(engine)
    if args.no_drift:
        drift = None
    report = run_alerts(engine, dests, args.severity, secret, drift, attempts=args.attempts,
                        backoff=args.backoff, timeout=args.timeout)
    findings = sum(len(p.findings) for p in report.queued)
    print(f"alert: queued {len(report.queued)} alert(s) with {findings} new finding(s)"
          f"{' and drift' if drift and report.queued else ''}; delivered {len(report.delivered)}", file=out)
    for p in report.failed:
        print(f"burnpath alert: not delivered (kept, retried next run): {p.label} delivery {p.delivery} "
              f"({len(p.findings)} findings): {p.last_error}", file=sys.stderr)
    for p in report.unrouted:
        print(f"burnpath alert: waiting for a destination not given this run: {p.label} delivery "
              f"{p.delivery} ({len(p.findings)} findings)", file=sys.stderr)
    return 0 if report.ok else EXIT_UNDELIVERED


def run(args) -> int:
    dests, secret = destinations_of(args)
    engine = open_engine(args)
    try:
        return send_alerts(engine, args, dests, secret)
    finally:
        engine.close()
